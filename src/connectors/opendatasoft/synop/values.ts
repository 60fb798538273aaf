/**
 * The typed form of one SYNOP record shared by the generator, the writers and the readers: an array of
 * 82 values in SYNOP_FIELDS order. Text fields are strings, numeric fields numbers, `date` the UTC
 * instant as `YYYY-MM-DDTHH:MM:SSZ`, `coordonnees` the CSV spelling `"lat, lon"`; missing is null.
 */
import { zoneOffsetMs } from '../../../time/zones.js';

export type SynopValue = string | number | null;
export type SynopValues = SynopValue[];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `YYYY-MM-DDTHH:MM:SSZ`: how the platform spells an instant everywhere (docs/API.md). */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

/** An instant as an OpenDataSoft export writes it for `timezone`: `2024-01-01T01:00:00+01:00`. */
export function formatOffsetDateTime(ms: number, timeZone = 'UTC'): string {
  const offset = timeZone === 'UTC' ? 0 : zoneOffsetMs(ms, timeZone);
  const wall = new Date(ms + offset);
  const sign = offset < 0 ? '-' : '+';
  const minutes = Math.abs(offset) / 60_000;
  return (
    `${wall.getUTCFullYear()}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}` +
    `T${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}:${pad(wall.getUTCSeconds())}` +
    `${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`
  );
}

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Parses an ISO datetime that carries its offset (`Z`, `+02:00`, `+0200`, `+02`). Returns the UTC
 * instant in ms, `'no-offset'` when the offset is missing (never guessed), or null when unreadable.
 */
export function parseOffsetDateTime(text: string): number | 'no-offset' | null {
  const s = text.trim();
  const m = DATETIME.exec(s);
  if (!m) {
    return /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s) ? 'no-offset' : null;
  }
  const [, y, mo, d, h, mi, sec, frac, off] = m as unknown as string[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = sec === undefined ? 0 : Number(sec);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 31 February over to March: refuse dates that do not exist.
  if (new Date(wall).getUTCDate() !== day) return null;
  let offsetMin = 0;
  if (off !== undefined && off.toUpperCase() !== 'Z') {
    const om = /^([+-])(\d{2}):?(\d{2})?$/.exec(off);
    if (!om) return null;
    const oh = Number(om[2]);
    const omin = om[3] === undefined ? 0 : Number(om[3]);
    if (oh > 18 || omin > 59) return null;
    offsetMin = (om[1] === '-' ? -1 : 1) * (oh * 60 + omin);
  }
  const ms = frac === undefined ? 0 : Math.round(Number(`0.${frac}`) * 1000);
  return wall + ms - offsetMin * 60_000;
}

/** `"lat, lon"`, the spelling of `coordonnees` in CSV exports. */
export function formatCoordinates(lat: number, lon: number): string {
  return `${lat}, ${lon}`;
}

/**
 * Reads `coordonnees` in the shapes exports use: `{"lon":…, "lat":…}` (JSON), `"lat, lon"` (CSV),
 * `[lon, lat]` and GeoJSON points for good measure. Returns null for missing, undefined when unreadable.
 */
export function parseCoordinates(value: unknown): { lat: number; lon: number } | null | undefined {
  if (value === null || value === undefined || value === '') return null;
  let lat: unknown;
  let lon: unknown;
  if (typeof value === 'string') {
    const m = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(value);
    if (!m) return undefined;
    lat = Number(m[1]);
    lon = Number(m[2]);
  } else if (Array.isArray(value)) {
    [lon, lat] = value as unknown[];
  } else if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (Array.isArray(o.coordinates)) [lon, lat] = o.coordinates as unknown[];
    else {
      lat = o.lat;
      lon = o.lon;
    }
  }
  if (typeof lat !== 'number' || typeof lon !== 'number' || !Number.isFinite(lat) || !Number.isFinite(lon)) return undefined;
  if (lat < -90 || lat > 90 || lon < -180 || lon > 180) return undefined;
  return { lat, lon };
}
