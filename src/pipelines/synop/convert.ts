/**
 * Checks a typed SYNOP record's physical ranges and derives the converted columns of staging
 * (`temperature_c`, `pressure_sea_hpa`, `precip_3h_mm`, …). Missing stays missing: a null source
 * gives a null result, never 0. Precipitation −0.1 is the dataset's spelling of a trace (< 0.1 mm):
 * 0 mm with its `_trace` flag set; any other negative amount is rejected.
 */
import { fieldIndex, SYNOP_FIELDS } from '../../connectors/opendatasoft/synop/fields.js';
import type { SynopValues } from '../../connectors/opendatasoft/synop/values.js';

export const PRECIP_PERIODS = [
  ['rr1', '1h'],
  ['rr3', '3h'],
  ['rr6', '6h'],
  ['rr12', '12h'],
  ['rr24', '24h'],
] as const;

export const CONVERTED_COLUMNS = [
  'observed_at',
  'temperature_c',
  'dew_point_c',
  'pressure_sea_hpa',
  'wind_speed_kmh',
  'gust_kmh',
  ...PRECIP_PERIODS.flatMap(([, p]) => [`precip_${p}_mm`, `precip_${p}_trace`] as const),
] as const;
export type ConvertedColumn = (typeof CONVERTED_COLUMNS)[number];

/** Values in CONVERTED_COLUMNS order: `observed_at` a UTC ISO string, `_trace` flags booleans, the rest numbers. */
export type ConvertedValues = Array<string | number | boolean | null>;

/** Physical ranges in the dataset's units: a value outside is rejected and its field set to null. */
export const RANGES: ReadonlyArray<readonly [field: string, min: number, max: number]> = [
  ...['t', 'td', 'tn12', 'tn24', 'tx12', 'tx24', 'tminsol', 'tw'].map((f) => [f, 173, 343] as const),
  ...['tc', 'tn12c', 'tn24c', 'tx12c', 'tx24c', 'tminsolc'].map((f) => [f, -100, 70] as const),
  ['u', 0, 100],
  ['dd', 0, 360],
  ['ff', 0, 120],
  ['raf10', 0, 150],
  ['rafper', 0, 150],
  ['pmer', 85_000, 110_000],
  ['pres', 40_000, 110_000],
  ['vv', 0, 100_000],
  ['n', 0, 100],
  ['ht_neige', 0, 30],
  ['ssfrai', 0, 10],
  ['mois_de_l_annee', 1, 12],
];
const RANGE_INDEX = RANGES.map(([f, min, max]) => [fieldIndex(f), min, max] as const);
const PRECIP_INDEX = PRECIP_PERIODS.map(([f]) => fieldIndex(f));

const T = fieldIndex('t');
const TC = fieldIndex('tc');
const TD = fieldIndex('td');
const PMER = fieldIndex('pmer');
const FF = fieldIndex('ff');
const RAF10 = fieldIndex('raf10');
const RAFPER = fieldIndex('rafper');
const DATE = fieldIndex('date');

/** Two decimals: enough for every unit here, and it drops the binary noise of `t − 273.15`. */
function r2(x: number): number {
  return Math.round(x * 100) / 100;
}

function num(values: SynopValues, i: number): number | null {
  const v = values[i];
  return typeof v === 'number' ? v : null;
}

export type ValueRejecter = (field: string, value: string, reason: string) => void;

/**
 * Range-checks `values` in place (a rejected value becomes null, reported through `reject`) and
 * returns the converted columns. `values` must be typed (numbers for numeric fields, `date` set).
 */
export function convertObservation(values: SynopValues, reject: ValueRejecter): ConvertedValues {
  for (const [i, min, max] of RANGE_INDEX) {
    const v = values[i];
    if (typeof v === 'number' && (v < min || v > max)) {
      reject((SYNOP_FIELDS[i] as { name: string }).name, String(v), `out of range (${min}…${max})`);
      values[i] = null;
    }
  }
  const t = num(values, T);
  const tc = num(values, TC);
  const td = num(values, TD);
  const pmer = num(values, PMER);
  const ff = num(values, FF);
  const gust = num(values, RAF10) ?? num(values, RAFPER);
  const out: ConvertedValues = [
    values[DATE] ?? null,
    t !== null ? r2(t - 273.15) : tc !== null ? r2(tc) : null,
    td !== null ? r2(td - 273.15) : null,
    pmer !== null ? r2(pmer / 100) : null,
    ff !== null ? r2(ff * 3.6) : null,
    gust !== null ? r2(gust * 3.6) : null,
  ];
  for (const i of PRECIP_INDEX) {
    const v = num(values, i);
    if (v === null) {
      out.push(null, null);
    } else if (v === -0.1) {
      out.push(0, true);
    } else if (v < 0) {
      reject((SYNOP_FIELDS[i] as { name: string }).name, String(v), 'negative precipitation (only -0.1, a trace, is allowed)');
      values[i] = null;
      out.push(null, null);
    } else {
      out.push(v, false);
    }
  }
  return out;
}
