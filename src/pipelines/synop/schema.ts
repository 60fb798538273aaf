import { SYNOP_FIELDS, type SynopFieldType } from '../../connectors/opendatasoft/synop/fields.js';
import type { Dataset, SqlType } from '../../warehouse/dataset.js';
import { CONVERTED_COLUMNS, type ConvertedColumn } from './convert.js';
import { SYNOP_COLUMNS } from './rows.js';

/** How each kind of field of the dataset is stored (the field table keeps the units). */
const FIELD_TYPES: Record<SynopFieldType, SqlType> = {
  text: 'VARCHAR',
  integer: 'INTEGER',
  number: 'DOUBLE PRECISION',
  // `date` is an instant: the readers give it in UTC.
  datetime: 'TIMESTAMP',
  // `"lat, lon"`, the CSV spelling; latitude and longitude have their own columns.
  geo_point: 'VARCHAR',
};

function convertedType(c: ConvertedColumn): SqlType {
  if (c === 'observed_at') return 'TIMESTAMP';
  return c.endsWith('_trace') ? 'BOOLEAN' : 'DOUBLE PRECISION';
}

const COLUMNS: ReadonlyArray<readonly [string, SqlType]> = [
  ...SYNOP_FIELDS.map((f) => [f.name, FIELD_TYPES[f.type]] as const),
  ...CONVERTED_COLUMNS.map((c) => [c, convertedType(c)] as const),
];
// The bulk layout (rows.ts) and the table must never drift apart: csvLine writes SYNOP_COLUMNS' order.
if (COLUMNS.map(([c]) => c).join() !== SYNOP_COLUMNS.join()) throw new Error('synop: OBSERVATIONS columns differ from SYNOP_COLUMNS');

/**
 * `observations`, the staging table: every field of `donnees-synop-essentielles-omm` plus the converted
 * columns, one row per (numer_sta, observed_at); `observed_at` is UTC.
 */
export const OBSERVATIONS: Dataset = {
  name: 'observations',
  columns: COLUMNS,
  primaryKey: ['numer_sta', 'observed_at'],
  required: ['date'],
};
