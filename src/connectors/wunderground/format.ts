/**
 * Weather Underground personal-station exports (docs/pipelines/stations.md, "Inputs"): one workbook per station, one sheet
 * per local day named `DDMMYY`, header in row 1, row 2 empty, then a row every five minutes with
 * values such as `56.8\u00a0°F` (rich text: number and unit in two runs).
 */
import type { StationConfig } from './stations.js';

/** The header of every sheet, in order. */
export const WUNDERGROUND_COLUMNS = [
  'Time',
  'Temperature',
  'Dew Point',
  'Humidity',
  'Wind',
  'Speed',
  'Gust',
  'Pressure',
  'Precip. Rate.',
  'Precip. Accum.',
  'UV',
  'Solar',
] as const;
export type WundergroundColumn = (typeof WUNDERGROUND_COLUMNS)[number];

// ---------------------------------------------------------------------------------------------
// File name → station

function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** `Weather+Underground+-+La+Madeleine,+FR.xlsx` → `Weather Underground - La Madeleine, FR`. */
function decodeFileName(name: string): string {
  const plus = name.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/**
 * The configured station a Weather Underground export belongs to, from its file name
 * (`Weather+Underground+-+<City>,+<CC>.xlsx`; `+` is a space, %-escapes are decoded, a browser's
 * ` (1)` duplicate suffix is ignored). The city matches ignoring case and accents, the country too
 * when both the name and the station have one. Null when no station, or more than one, matches.
 */
export function stationForFileName(name: string, stations: readonly StationConfig[]): StationConfig | null {
  const base = name.replace(/^.*[/\\]/, '');
  const decoded = decodeFileName(base)
    .replace(/\.xlsx$/i, '')
    .replace(/\s*\(\d+\)$/, '')
    .replace(/\s+/g, ' ')
    .trim();
  const m = /^weather underground\s*-\s*(.+)$/i.exec(decoded);
  if (!m?.[1]) return null;
  const place = m[1];
  const comma = place.lastIndexOf(',');
  const city = fold(comma >= 0 ? place.slice(0, comma) : place);
  const country = comma >= 0 ? fold(place.slice(comma + 1)) : null;
  if (!city) return null;
  const matches = stations.filter((s) => fold(s.city) === city && (country === null || s.country === undefined || fold(s.country) === country));
  return matches.length === 1 ? (matches[0] ?? null) : null;
}

// ---------------------------------------------------------------------------------------------
// Sheets

/** `011024` → midnight of 2024-10-01 written as UTC milliseconds; null if not a real date. */
export function sheetDate(name: string): number | null {
  const m = /^(\d{2})(\d{2})(\d{2})$/.exec(name.trim());
  if (!m) return null;
  const [day, month, year] = [Number(m[1]), Number(m[2]), 2000 + Number(m[3])];
  const ms = Date.UTC(year, month - 1, day);
  const d = new Date(ms);
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day ? ms : null;
}
