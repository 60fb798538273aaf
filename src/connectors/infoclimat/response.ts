import type { ReportSink, MeasureValues } from '../../pipelines/stations/reportBatch.js';
import type { Measure, StationRow } from '../../pipelines/stations/schema.js';

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

export const INFOCLIMAT_FIELD_NAMES: Partial<Record<Measure, string>> = Object.fromEntries(
  INFOCLIMAT_FIELDS.map(([f, m]) => [m, f]),
);

const DH_UTC = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?Z?$/;

/** `YYYY-MM-DD HH:MM:SS` (UTC) → epoch ms, or null when malformed or nonexistent (2024-02-30). */
export function parseDhUtc(text: string): number | null {
  const m = DH_UTC.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    return null;
  }
  return ms;
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

function str(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
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
    timezone: 'Europe/Paris',
    license,
  };
}

/**
 * Reads one InfoClimat open-data response (already parsed). `where` prefixes locations when the response
 * is wrapped in another file (an Airbyte line). Stations known are those of the response's `stations`
 * array plus `configured`; a report of any other station is rejected whole.
 */
export function readInfoclimatResponse(
  doc: unknown,
  file: string,
  sink: ReportSink,
  configured: ReadonlySet<string>,
  where = '',
): void {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    sink.rejectFile(file, `${where}not an InfoClimat response (expected a JSON object with "hourly")`);
    return;
  }
  const body = doc as { status?: unknown; stations?: unknown; hourly?: unknown; errors?: unknown };
  if (body.status !== undefined && body.status !== 'OK') {
    sink.rejectFile(file, `${where}InfoClimat status ${JSON.stringify(body.status)}: ${JSON.stringify(body.errors ?? [])}`);
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
    for (let i = 0; i < rows.length; i++) {
      const loc = { file, sheet, row: i + 1 };
      const r = rows[i] as Record<string, unknown> | null;
      if (!r || typeof r !== 'object') {
        sink.rejectRecord(loc, null, JSON.stringify(r), 'report is not an object');
        continue;
      }
      const stationId = r.id_station === undefined || r.id_station === null ? key : String(r.id_station);
      if (stationId !== key) {
        sink.rejectRecord(loc, 'id_station', stationId, `id_station does not match its hourly key "${key}"`);
        continue;
      }
      if (!known.has(stationId)) {
        sink.rejectRecord(loc, 'id_station', stationId, `unknown station "${stationId}": not in the file's stations nor in ecluse.config.json`);
        continue;
      }
      const dh = r.dh_utc;
      const observedAt = typeof dh === 'string' ? parseDhUtc(dh) : null;
      if (observedAt === null) {
        sink.rejectRecord(loc, 'dh_utc', dh === undefined ? null : String(dh), 'missing, malformed or nonexistent time (expected YYYY-MM-DD HH:MM:SS UTC)');
        continue;
      }
      const values: MeasureValues = {};
      for (const [field, measure] of INFOCLIMAT_FIELDS) {
        const v = r[field];
        if (v === undefined || v === null || v === '') continue;
        const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim() === '' ? NaN : v) : NaN;
        if (Number.isNaN(n)) {
          sink.rejectValue(loc, field, typeof v === 'string' ? v : JSON.stringify(v), 'not a number');
          continue;
        }
        values[measure] = n;
      }
      sink.report(loc, stationId, observedAt, values);
    }
  }
}
