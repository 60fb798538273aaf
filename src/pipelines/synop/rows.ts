/**
 * The bulk layout of a staging observation: the 82 dataset fields in the dataset's order, then the
 * converted columns. One array per observation, in SYNOP_COLUMNS order, ready for a CSV line (DuckDB
 * `read_csv`, PostgreSQL COPY) or a multi-row INSERT.
 */
import { SYNOP_FIELDS } from '../../connectors/opendatasoft/synop/fields.js';
import { CONVERTED_COLUMNS } from './convert.js';
import type { SynopObservation } from './batch.js';

export const SYNOP_COLUMNS: readonly string[] = [...SYNOP_FIELDS.map((f) => f.name), ...CONVERTED_COLUMNS];

export type SynopRow = Array<string | number | boolean | null>;

export function observationRow(obs: SynopObservation): SynopRow {
  return [...obs.values, ...obs.converted];
}

function cell(v: string | number | boolean | null): string {
  if (v === null) return '';
  if (typeof v !== 'string') return String(v);
  // Quote empty strings too, so that they stay distinct from null ('' is read as NULL).
  return v === '' || /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One row as a `,` CSV line without newline: null is an empty cell, booleans `true`/`false`. */
export function csvLine(row: SynopRow): string {
  let out = '';
  for (let i = 0; i < row.length; i++) out += (i === 0 ? '' : ',') + cell(row[i] as string | number | boolean | null);
  return out;
}
