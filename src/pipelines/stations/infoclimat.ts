import { clip, showValue } from '../../engine/readers/text.js';
import { parseDhUtc } from '../../connectors/infoclimat/format.js';
import { MEASURE_INDEX, type ReportSink } from './reportBatch.js';
import { MEASURES, type Measure, type StationRow } from './schema.js';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';

/** InfoClimat field → canonical measure. Units already match (°C, hPa, %, km/h, deg, mm, cm, octas, m). */
export const INFOCLIMAT_FIELDS: ReadonlyArray<readonly [string, Measure]> = [
  ['temperature', 'temperature_c'],
  ['point_de_rosee', 'dew_point_c'],
  ['humidite', 'humidity_pct'],
  ['vent_direction', 'wind_direction_deg'],
  ['vent_moyen', 'wind_speed_kmh'],
  ['vent_rafales', 'wind_gust_kmh'],
  ['pression', 'pressure_hpa'],
  ['pluie_1h', 'precip_1h_mm'],
  ['pluie_3h', 'precip_3h_mm'],
  ['neige_au_sol', 'snow_depth_cm'],
  ['nebulosite', 'cloud_cover_okta'],
  ['visibilite', 'visibility_m'],
  ['temps_omm', 'weather_code'],
];

const FIELD_KEYS = INFOCLIMAT_FIELDS.map(([f]) => f);
const FIELD_SLOTS = INFOCLIMAT_FIELDS.map(([, m]) => MEASURE_INDEX[m]);

export const INFOCLIMAT_FIELD_NAMES: Partial<Record<Measure, string>> = Object.fromEntries(INFOCLIMAT_FIELDS.map(([f, m]) => [m, f]));

/**
 * The number a value's text spells in decimal, as DuckDB's cast reads it (the SQL path must agree):
 * JavaScript's Number also takes `0x10`, `0b1`, `0o7` and Unicode spaces (no-break, U+2028, BOM) around.
 */
function decimalNumber(text: string): number {
  const n = Number(text);
  if (Number.isNaN(n)) return n;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Non-ASCII (digits are ASCII), or x/X, b/B, o/O of a radix prefix.
    if (c > 127 || c === 120 || c === 88 || c === 98 || c === 66 || c === 111 || c === 79) return NaN;
  }
  return n;
}

interface StationJson {
  id?: unknown;
  name?: unknown;
  latitude?: unknown;
  longitude?: unknown;
  elevation?: unknown;
  type?: unknown;
  license?: unknown;
}

function num(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

/** A text property of a station; a non-scalar (an array or object where a name is expected) is shown as JSON. */
function str(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'object' ? showValue(v) : String(v);
}

export function stationFromJson(s: StationJson): StationRow | null {
  const id = str(s.id);
  if (!id) return null;
  const license = s.license && typeof s.license === 'object' ? str((s.license as { license?: unknown }).license) : str(s.license);
  const name = str(s.name);
  return {
    id,
    name,
    city: name,
    latitude: num(s.latitude),
    longitude: num(s.longitude),
    elevation_m: num(s.elevation),
    type: str(s.type),
    hardware: null,
    software: null,
    timezone: DEFAULT_TIME_ZONE,
    license,
  };
}

/**
 * Reads one InfoClimat open-data response (already parsed). `where` prefixes locations when the response
 * is wrapped in another file (an Airbyte line). Stations known are those of the response's `stations`
 * array plus `configured`; a report of any other station is rejected whole.
 */
export function readInfoclimatResponse(doc: unknown, file: string, sink: ReportSink, configured: ReadonlySet<string>, where = ''): void {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    sink.rejectFile(file, `${where}not an InfoClimat response (expected a JSON object with "hourly")`);
    return;
  }
  const body = doc as { status?: unknown; stations?: unknown; hourly?: unknown; errors?: unknown };
  if (body.status !== undefined && body.status !== 'OK') {
    sink.rejectFile(
      file,
      `${where}InfoClimat status ${typeof body.status === 'string' ? JSON.stringify(clip(body.status)) : showValue(body.status)}: ${showValue(body.errors ?? [])}`,
    );
    return;
  }
  const known = new Set(configured);
  if (Array.isArray(body.stations)) {
    for (const s of body.stations as StationJson[]) {
      const row = s && typeof s === 'object' ? stationFromJson(s) : null;
      if (row) {
        known.add(row.id);
        sink.station(row);
      }
    }
  }
  if (!body.hourly || typeof body.hourly !== 'object' || Array.isArray(body.hourly)) {
    sink.rejectFile(file, `${where}no "hourly" object in the response`);
    return;
  }
  for (const [key, rows] of Object.entries(body.hourly as Record<string, unknown>)) {
    // `_params` lists field names; it holds no reports.
    if (key === '_params') continue;
    const sheet = `${where}hourly.${key}`;
    if (!Array.isArray(rows)) {
      sink.rejectFile(file, `${sheet} is not an array of reports`);
      continue;
    }
    const values = new Float64Array(MEASURES.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as Record<string, unknown> | null;
      // An array is no report either (the SQL path says the same).
      if (!r || typeof r !== 'object' || Array.isArray(r)) {
        sink.rejectRecord({ file, sheet, row: i + 1 }, null, showValue(r), 'report is not an object');
        continue;
      }
      const stationId =
        r.id_station === undefined || r.id_station === null ? key : typeof r.id_station === 'object' ? showValue(r.id_station) : String(r.id_station);
      if (stationId !== key) {
        sink.rejectRecord({ file, sheet, row: i + 1 }, 'id_station', stationId, `id_station does not match its hourly key "${key}"`);
        continue;
      }
      if (!known.has(stationId)) {
        sink.rejectRecord(
          { file, sheet, row: i + 1 },
          'id_station',
          stationId,
          `unknown station "${stationId}": not in the file's stations nor in ecluse.config.json`,
        );
        continue;
      }
      const dh = r.dh_utc;
      const observedAt = typeof dh === 'string' ? parseDhUtc(dh) : null;
      if (observedAt === null) {
        sink.rejectRecord(
          { file, sheet, row: i + 1 },
          'dh_utc',
          dh === undefined ? null : showValue(dh),
          'missing, malformed or nonexistent time (expected YYYY-MM-DD HH:MM:SS UTC)',
        );
        continue;
      }
      values.fill(NaN);
      for (let j = 0; j < FIELD_KEYS.length; j++) {
        const v = r[FIELD_KEYS[j] as string];
        if (v === undefined || v === null || v === '') continue;
        // Blank text is missing (Number(' ') would be 0).
        if (typeof v === 'string' && v.trim() === '') continue;
        const n = typeof v === 'number' ? v : typeof v === 'string' ? decimalNumber(v) : NaN;
        if (Number.isNaN(n)) {
          sink.rejectValue({ file, sheet, row: i + 1 }, FIELD_KEYS[j] as string, showValue(v), 'not a number');
          continue;
        }
        values[FIELD_SLOTS[j] as number] = n;
      }
      sink.reportValues(sheet, i + 1, stationId, observedAt, values);
    }
  }
}
