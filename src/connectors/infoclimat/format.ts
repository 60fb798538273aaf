/** The shape of an InfoClimat open-data response (docs/pipelines/stations.md, "Inputs") that both our reader and our generator follow. */

/** The measured fields of an InfoClimat response, in the API's order (the `_params` list). */
export const INFOCLIMAT_PARAMS = [
  'temperature',
  'pression',
  'humidite',
  'point_de_rosee',
  'visibilite',
  'vent_moyen',
  'vent_rafales',
  'vent_direction',
  'pluie_3h',
  'pluie_1h',
  'neige_au_sol',
  'nebulosite',
  'temps_omm',
] as const;

/** The fields only a SYNOP station's reports carry: a static (amateur) station's reports have the others. */
export const INFOCLIMAT_SYNOP_ONLY: readonly (typeof INFOCLIMAT_PARAMS)[number][] = ['visibilite', 'neige_au_sol', 'nebulosite', 'temps_omm'];

/** Unit strings of the response's `metadata` object. */
export const INFOCLIMAT_METADATA: Record<string, string> = {
  temperature: 'temperature,degC',
  pression: 'mean sea level pressure,hPa',
  humidite: 'relative humidity,%',
  point_de_rosee: 'dewpoint,degC',
  visibilite: 'horizontal visibility,m',
  vent_moyen: 'mean wind speed,km/h',
  vent_rafales: 'wind gust,km/h',
  vent_direction: 'wind direction,deg',
  pluie_3h: 'precipitation over 3h,mm',
  pluie_1h: 'precipitation over 1h,mm',
  neige_au_sol: 'snow depth,cm',
  nebulosite: 'Ncloud cover,octats',
  temps_omm: 'present weather,http://www.infoclimat.fr/stations-meteo/ww.php',
};

const DH_UTC = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?Z?$/;

/** Midnight (UTC ms) of each `YYYY-MM-DD` seen: a daily file repeats the same few dates thousands of times. */
const dayCache = new Map<string, number | null>();

function dayMs(y: number, mo: number, d: number, key: string): number | null {
  let ms = dayCache.get(key);
  if (ms === undefined) {
    const t = Date.UTC(y, mo - 1, d);
    const back = new Date(t);
    ms = back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? t : null;
    if (dayCache.size > 10_000) dayCache.clear();
    dayCache.set(key, ms);
  }
  return ms;
}

const digit = (s: string, i: number): number => s.charCodeAt(i) - 48;
const two = (s: string, i: number): number => {
  const a = digit(s, i);
  const b = digit(s, i + 1);
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
};

/** `YYYY-MM-DD HH:MM:SS` (UTC) → epoch ms, or null when malformed or nonexistent (2024-02-30). */
export function parseDhUtc(text: string): number | null {
  // Hot path: the exact shape InfoClimat sends, read by position (a regex per report costs more than the rest).
  if (
    text.length === 19 &&
    text.charCodeAt(4) === 45 &&
    text.charCodeAt(7) === 45 &&
    text.charCodeAt(10) === 32 &&
    text.charCodeAt(13) === 58 &&
    text.charCodeAt(16) === 58
  ) {
    const y = two(text, 0) * 100 + two(text, 2);
    const mo = two(text, 5);
    const d = two(text, 8);
    const h = two(text, 11);
    const mi = two(text, 14);
    const s = two(text, 17);
    if (Number.isNaN(y + mo + d + h + mi + s) || h > 23 || mi > 59 || s > 59) return null;
    const day = dayMs(y, mo, d, text.slice(0, 10));
    return day === null ? null : day + ((h * 60 + mi) * 60 + s) * 1000;
  }
  const m = DH_UTC.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  if (h > 23 || mi > 59 || s > 59) return null;
  const day = dayMs(y, mo, d, `${m[1]}-${m[2]}-${m[3]}`);
  return day === null ? null : day + ((h * 60 + mi) * 60 + s) * 1000;
}
