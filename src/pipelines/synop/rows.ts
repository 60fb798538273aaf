/**
 * The bulk layout of a staging observation: the 82 dataset fields in the dataset's order, then the
 * converted columns. One array per observation, in SYNOP_COLUMNS order, ready for a CSV line (DuckDB
 * `read_csv`, PostgreSQL COPY) or a multi-row INSERT.
 */
import { csvLine as engineCsvLine } from '../../engine/csvCell.js';
import { SYNOP_FIELDS } from '../../connectors/opendatasoft/synop/fields.js';
import { CONVERTED_COLUMNS } from './convert.js';
import type { SynopObservation } from './batch.js';

export const SYNOP_COLUMNS: readonly string[] = [...SYNOP_FIELDS.map((f) => f.name), ...CONVERTED_COLUMNS];

export type SynopRow = Array<string | number | boolean | null>;

export function observationRow(obs: SynopObservation): SynopRow {
  return [...obs.values, ...obs.converted];
}

/** One row as a `,` CSV line without newline: null is an empty cell, booleans `true`/`false`. */
export function csvLine(row: SynopRow): string {
  return engineCsvLine(row);
}
