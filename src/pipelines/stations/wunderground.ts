/**
 * Reads Weather Underground exports (their shape: connectors/wunderground/format.ts) into the stations model.
 *
 * Decisions where the format leaves room:
 * - A sheet whose name is not a real `DDMMYY` date: its rows have no date, so each non-empty row
 *   is rejected whole (`rejectRecord`, reason naming the sheet); the header row is not counted. The
 *   other sheets are read normally.
 * - A column missing from a sheet's header: one value reject per sheet at row 1 naming the column
 *   (`rejectValue`, value null); that field is null in every report of the sheet. Without `Time`,
 *   every row of the sheet is rejected whole. Unknown extra columns are ignored.
 * - Header names are matched ignoring case, spacing and dots (`Precip. Rate.` = `precip rate`).
 * - Empty cells (or blank text) are missing values, never rejects. A number without its unit is
 *   accepted where the unit is unambiguous (Humidity, UV, Solar) and rejected where it is not
 *   (Temperature: °F or °C?). Metric units (°C, km/h, hPa, mm) are accepted as they are.
 * - `Time`: a time-of-day cell (Date on Excel's epoch, or a day fraction), or text `h:mm[:ss] [AM|PM]`.
 *   Only the time of day is used; the date comes from the sheet name. Rounded to the second.
 * - Local time → UTC with the station's zone (Intl, no library). A local time that occurs twice
 *   (autumn change) gets the summer offset until the sheet's times go backwards, then the winter
 *   offset; a local time that does not exist (spring change) is a whole-record reject.
 * - Converted values are rounded to 2 decimals.
 */
import type { StationConfig } from '../../connectors/wunderground/stations.js';
import { readXlsx, XlsxFormatError, type CellValue, type XlsxRow } from '../../engine/readers/xlsx.js';
import { sheetDate, WUNDERGROUND_COLUMNS, type WundergroundColumn } from '../../connectors/wunderground/format.js';
import type { RecordLocation } from '../../quality/rejects.js';
import { assertTimeZone, wallToInstants, zoneOffsetMs } from '../../time/zones.js';
import { clip } from '../../engine/readers/text.js';
import type { FileContext, MeasureValues, ReportSink } from './reportBatch.js';
import type { Measure } from './schema.js';

/** Column of the export behind each canonical measure (for `FileContext.fieldNames`). */
export const WUNDERGROUND_FIELD_NAMES = {
  temperature_c: 'Temperature',
  dew_point_c: 'Dew Point',
  humidity_pct: 'Humidity',
  wind_direction_deg: 'Wind',
  wind_speed_kmh: 'Speed',
  wind_gust_kmh: 'Gust',
  pressure_hpa: 'Pressure',
  precip_rate_mm_h: 'Precip. Rate.',
  precip_accum_mm: 'Precip. Accum.',
  uv_index: 'UV',
  solar_w_m2: 'Solar',
} as const satisfies Partial<Record<Measure, WundergroundColumn>>;

type WuMeasure = keyof typeof WUNDERGROUND_FIELD_NAMES;

// ---------------------------------------------------------------------------------------------
// Local time → UTC

const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Values

function round2(x: number): number {
  const r = Math.sign(x) * (Math.round(Math.abs(x) * 100 + 1e-9) / 100);
  return r === 0 ? 0 : r;
}

type Convert = (x: number) => number;
const same: Convert = (x) => x;
const fahrenheitToCelsius: Convert = (x) => ((x - 32) * 5) / 9;
const mphToKmh: Convert = (x) => x * 1.609344;
const msToKmh: Convert = (x) => x * 3.6;
const inHgToHpa: Convert = (x) => x * 33.8639;
const inToMm: Convert = (x) => x * 25.4;

interface UnitSpec {
  /** Units accepted (lower case, as written after the number) and their conversion to the canonical unit. */
  units: Record<string, Convert>;
  /** A bare number is accepted (and taken in the canonical unit) only when the unit is unambiguous. */
  bare: boolean;
  /** How the expected unit is named in messages. */
  expected: string;
}

const TEMPERATURE: UnitSpec = { units: { '°f': fahrenheitToCelsius, '°c': same }, bare: false, expected: '°F or °C' };
const SPEED: UnitSpec = { units: { mph: mphToKmh, 'km/h': same, 'm/s': msToKmh }, bare: false, expected: 'mph or km/h' };
const PRESSURE: UnitSpec = {
  units: { in: inHgToHpa, inhg: inHgToHpa, hpa: same, mb: same, mbar: same },
  bare: false,
  expected: 'in (inHg) or hPa',
};
const RAIN_RATE: UnitSpec = {
  units: { in: inToMm, 'in/h': inToMm, 'in/hr': inToMm, mm: same, 'mm/h': same, 'mm/hr': same },
  bare: false,
  expected: 'in or mm',
};
const RAIN: UnitSpec = { units: { in: inToMm, mm: same }, bare: false, expected: 'in or mm' };
const PERCENT: UnitSpec = { units: { '%': same }, bare: true, expected: '%' };
const SOLAR: UnitSpec = { units: { 'w/m²': same, 'w/m2': same }, bare: true, expected: 'w/m²' };
const PLAIN: UnitSpec = { units: {}, bare: true, expected: 'no unit' };

const COMPASS_POINTS = ['N', 'NNE', 'NE', 'ENE', 'E', 'ESE', 'SE', 'SSE', 'S', 'SSW', 'SW', 'WSW', 'W', 'WNW', 'NW', 'NNW'];
const COMPASS = new Map<string, number>([
  ...COMPASS_POINTS.map((p, i) => [p.toLowerCase(), i * 22.5] as [string, number]),
  ['north', 0],
  ['east', 90],
  ['south', 180],
  ['west', 270],
]);

type Parsed = { value: number | null } | { error: string };

const NUMBER_AND_UNIT = /^([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+)\s*(.*)$/;

function cellText(v: CellValue): string {
  return v instanceof Date ? v.toISOString() : String(v);
}

/** A cell as a reject quotes it: bounded, however long the text in the workbook. */
function shownCell(v: CellValue): string {
  return clip(cellText(v));
}

function parseMeasure(v: CellValue, spec: UnitSpec): Parsed {
  if (v === null) return { value: null };
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return { error: 'not a finite number' };
    if (!spec.bare) return { error: `number without a unit (expected ${spec.expected})` };
    return { value: round2(v) };
  }
  if (v instanceof Date) return { error: 'a date where a measurement was expected' };
  // Values repeat a lot (they come from the shared-strings table): remember recent answers.
  let cache = parsedText.get(spec);
  if (!cache) parsedText.set(spec, (cache = new Map()));
  let parsed = cache.get(v);
  if (parsed === undefined) {
    if (cache.size >= 10_000) cache.clear();
    parsed = parseMeasureText(v, spec);
    cache.set(v, parsed);
  }
  return parsed;
}

const parsedText = new Map<UnitSpec, Map<string, Parsed>>();

function parseMeasureText(v: string, spec: UnitSpec): Parsed {
  const text = v.trim();
  if (text === '') return { value: null };
  const m = NUMBER_AND_UNIT.exec(text);
  if (!m?.[1]) {
    const unitOnly = Object.keys(spec.units).includes(text.toLowerCase());
    return { error: unitOnly ? `no number, only the unit "${text}"` : 'not a number' };
  }
  const x = Number(m[1].replace(/,/g, ''));
  const unit = (m[2] ?? '').trim().toLowerCase();
  if (unit === '') {
    if (!spec.bare) return { error: `number without a unit (expected ${spec.expected})` };
    return { value: round2(x) };
  }
  const convert = spec.units[unit];
  if (!convert) return { error: `unit "${m[2]?.trim()}" not recognised (expected ${spec.expected})` };
  return { value: round2(convert(x)) };
}

function parseWind(v: CellValue): Parsed {
  if (v === null) return { value: null };
  if (typeof v === 'number') {
    return Number.isFinite(v) && v >= 0 && v <= 360 ? { value: round2(v) } : { error: 'not a wind direction' };
  }
  if (v instanceof Date) return { error: 'a date where a wind direction was expected' };
  const text = v.trim();
  if (text === '') return { value: null };
  const deg = COMPASS.get(text.toLowerCase());
  if (deg !== undefined) return { value: deg };
  const m = /^(\d+(?:\.\d+)?)\s*°?$/.exec(text);
  if (m?.[1] && Number(m[1]) <= 360) return { value: round2(Number(m[1])) };
  return { error: 'not a compass direction (N, NNE, … NNW, North, East, South, West)' };
}

interface ColumnSpec {
  column: WundergroundColumn;
  measure: WuMeasure;
  parse: (v: CellValue) => Parsed;
}

const MEASURE_COLUMNS: ColumnSpec[] = [
  { column: 'Temperature', measure: 'temperature_c', parse: (v) => parseMeasure(v, TEMPERATURE) },
  { column: 'Dew Point', measure: 'dew_point_c', parse: (v) => parseMeasure(v, TEMPERATURE) },
  { column: 'Humidity', measure: 'humidity_pct', parse: (v) => parseMeasure(v, PERCENT) },
  { column: 'Wind', measure: 'wind_direction_deg', parse: parseWind },
  { column: 'Speed', measure: 'wind_speed_kmh', parse: (v) => parseMeasure(v, SPEED) },
  { column: 'Gust', measure: 'wind_gust_kmh', parse: (v) => parseMeasure(v, SPEED) },
  { column: 'Pressure', measure: 'pressure_hpa', parse: (v) => parseMeasure(v, PRESSURE) },
  { column: 'Precip. Rate.', measure: 'precip_rate_mm_h', parse: (v) => parseMeasure(v, RAIN_RATE) },
  { column: 'Precip. Accum.', measure: 'precip_accum_mm', parse: (v) => parseMeasure(v, RAIN) },
  { column: 'UV', measure: 'uv_index', parse: (v) => parseMeasure(v, PLAIN) },
  { column: 'Solar', measure: 'solar_w_m2', parse: (v) => parseMeasure(v, SOLAR) },
];

// ---------------------------------------------------------------------------------------------
// Sheets

const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);

/** Milliseconds since local midnight shown by a `Time` cell; null when empty; an error otherwise. */
function timeOfDay(v: CellValue): { ms: number | null } | { error: string } {
  if (v === null) return { ms: null };
  let ms: number;
  if (v instanceof Date) {
    ms = v.getTime() - EXCEL_EPOCH_MS;
  } else if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return { error: 'not a time of day' };
    ms = v * DAY_MS;
  } else {
    const text = v.trim();
    if (text === '') return { ms: null };
    const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$/.exec(text);
    if (!m) return { error: 'not a time of day' };
    let h = Number(m[1]);
    const min = Number(m[2]);
    const s = Number(m[3] ?? 0);
    if (m[4]) {
      if (h < 1 || h > 12) return { error: 'not a time of day' };
      h = (h % 12) + (m[4].toLowerCase() === 'pm' ? 12 : 0);
    }
    if (h > 23 || min > 59 || s > 59) return { error: 'not a time of day' };
    return { ms: ((h * 60 + min) * 60 + s) * 1000 };
  }
  // Only the time of day counts (the date is the sheet's); to the nearest second.
  const second = Math.round((((ms % DAY_MS) + DAY_MS) % DAY_MS) / 1000) % 86_400;
  return { ms: second * 1000 };
}

function clock(ms: number): string {
  const s = Math.round(ms / 1000);
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
  return s % 60 === 0 ? `${hh}:${mm}` : `${hh}:${mm}:${String(s % 60).padStart(2, '0')}`;
}

function isoDay(dayMs: number): string {
  return new Date(dayMs).toISOString().slice(0, 10);
}

function headerKey(v: CellValue): string {
  return v === null ? '' : cellText(v).toLowerCase().replace(/\./g, ' ').replace(/\s+/g, ' ').trim();
}

function isEmptyRow(row: XlsxRow): boolean {
  return row.cells.every((c) => c === null || (typeof c === 'string' && c.trim() === ''));
}

/** Column indexes of the header row (a missing column is absent from the map). */
function readHeader(row: XlsxRow): Map<WundergroundColumn, number> {
  const found = new Map<WundergroundColumn, number>();
  const wanted = new Map(WUNDERGROUND_COLUMNS.map((c) => [headerKey(c), c]));
  row.cells.forEach((cell, i) => {
    const column = wanted.get(headerKey(cell));
    if (column && !found.has(column)) found.set(column, i);
  });
  return found;
}

interface SheetState {
  name: string;
  dayMs: number | null;
  /** Offset valid all day (no change near this date), or null to resolve each time. */
  fixedOffsetMs: number | null;
  header: Map<WundergroundColumn, number> | null;
  previousTimeMs: number | null;
  wentBackwards: boolean;
}

async function readSheet(name: string, rows: AsyncIterable<XlsxRow>, ctx: FileContext & { station: StationConfig }, sink: ReportSink): Promise<void> {
  const { station } = ctx;
  const zone = station.timezone;
  const dayMs = sheetDate(name);
  const state: SheetState = { name, dayMs, fixedOffsetMs: null, header: null, previousTimeMs: null, wentBackwards: false };
  if (dayMs !== null) {
    const before = zoneOffsetMs(dayMs - DAY_MS, zone);
    const after = zoneOffsetMs(dayMs + 2 * DAY_MS, zone);
    if (before === after) state.fixedOffsetMs = before;
  }

  const loc = (row: number): RecordLocation => ({ file: ctx.file, sheet: name, row });

  let headerSeen = false;
  for await (const row of rows) {
    if (!headerSeen) {
      headerSeen = true;
      // Row 1 is the header. A row 1 holding none of the expected names is no header: it is data
      // (rejected below for want of a Time column) and every column counts as missing.
      const header = row.rowNumber === 1 ? readHeader(row) : new Map<WundergroundColumn, number>();
      state.header = header;
      if (dayMs !== null) {
        for (const column of WUNDERGROUND_COLUMNS) {
          if (!header.has(column)) {
            sink.rejectValue(loc(1), column, null, `column "${column}" is missing from the header of sheet ${name}; its values are missing`);
          }
        }
      }
      if (row.rowNumber === 1 && (header.size > 0 || isEmptyRow(row))) continue;
    }
    if (isEmptyRow(row)) continue;
    const where = loc(row.rowNumber);
    if (dayMs === null) {
      sink.rejectRecord(
        where,
        null,
        clip(name, 100),
        `sheet "${clip(name, 100)}" is not named after a day (DDMMYY, e.g. 011024 for 1 Oct 2024), so its rows have no date`,
      );
      continue;
    }
    readDataRow(row, where, state, ctx, sink);
  }
}

function readDataRow(row: XlsxRow, where: RecordLocation, state: SheetState, ctx: FileContext & { station: StationConfig }, sink: ReportSink): void {
  const header = state.header ?? new Map<WundergroundColumn, number>();
  const dayMs = state.dayMs as number;
  const timeIndex = header.get('Time');
  if (timeIndex === undefined) {
    sink.rejectRecord(where, 'Time', null, `sheet ${state.name} has no Time column, so the row has no time`);
    return;
  }
  const rawTime = row.cells[timeIndex] ?? null;
  const time = timeOfDay(rawTime);
  if ('error' in time) {
    sink.rejectRecord(where, 'Time', shownCell(rawTime as Exclude<CellValue, null>), time.error);
    return;
  }
  if (time.ms === null) {
    sink.rejectRecord(where, 'Time', null, 'Time is empty');
    return;
  }
  // Rows run forward through the day; once they go back, a repeated local hour is the second one.
  if (state.previousTimeMs !== null && time.ms < state.previousTimeMs) state.wentBackwards = true;
  state.previousTimeMs = time.ms;

  const localMs = dayMs + time.ms;
  let utcMs: number;
  if (state.fixedOffsetMs !== null) {
    utcMs = localMs - state.fixedOffsetMs;
  } else {
    const candidates = wallToInstants(localMs, ctx.station.timezone);
    const chosen = candidates.length > 1 && state.wentBackwards ? candidates[candidates.length - 1] : candidates[0];
    if (chosen === undefined) {
      sink.rejectRecord(
        where,
        'Time',
        clock(time.ms),
        `local time ${clock(time.ms)} on ${isoDay(dayMs)} does not exist in ${ctx.station.timezone} (clocks go forward)`,
      );
      return;
    }
    utcMs = chosen;
  }

  const values: MeasureValues = {};
  for (const spec of MEASURE_COLUMNS) {
    const index = header.get(spec.column);
    if (index === undefined) {
      values[spec.measure] = null;
      continue;
    }
    const raw = row.cells[index] ?? null;
    const parsed = spec.parse(raw);
    if ('error' in parsed) {
      sink.rejectValue(where, spec.column, shownCell(raw as Exclude<CellValue, null>), parsed.error);
      values[spec.measure] = null;
    } else {
      values[spec.measure] = parsed.value;
    }
  }
  sink.report(where, ctx.station.id, utcMs, values);
}

/**
 * Reads one Weather Underground workbook of `ctx.station` into `sink` (see the notes at the top for
 * the choices made). A file that is not a readable XLSX workbook gives one `rejectFile`.
 */
export async function readWundergroundWorkbook(path: string, ctx: FileContext & { station: StationConfig }, sink: ReportSink): Promise<void> {
  try {
    assertTimeZone(ctx.station.timezone);
  } catch {
    sink.rejectFile(ctx.file, `station ${ctx.station.id} has an unknown time zone "${ctx.station.timezone}"`);
    return;
  }
  let sheets = 0;
  try {
    for await (const sheet of readXlsx(path)) {
      sheets++;
      await readSheet(sheet.name, sheet.rows, ctx, sink);
    }
  } catch (err) {
    if (err instanceof XlsxFormatError) {
      sink.rejectFile(ctx.file, err.message);
      return;
    }
    throw err;
  }
  if (sheets === 0) sink.rejectFile(ctx.file, 'the workbook has no sheets');
}
