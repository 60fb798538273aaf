/** Where things live in the lake. Every zone's key shape is decided here and nowhere else. */

export const ZONES = ['raw', 'staging', 'curated'] as const;
export type Zone = (typeof ZONES)[number];

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/**
 * `raw/<pipeline>/<source>/received=<date>/<HHMMSSmmm>-<sha256>.<ext>`: the key orders arrivals
 * (rebuild replays in key order) and names the content.
 */
export function rawKey(pipeline: string, source: string, receivedAt: Date, sha256: string, ext: string): string {
  const d = receivedAt;
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
  const time = `${pad(d.getUTCHours(), 2)}${pad(d.getUTCMinutes(), 2)}${pad(d.getUTCSeconds(), 2)}${pad(d.getUTCMilliseconds(), 3)}`;
  const suffix = ext ? `.${ext.replace(/^\./, '').toLowerCase()}` : '';
  return `raw/${pipeline}/${source}/received=${day}/${time}-${sha256}${suffix}`;
}

/** The sidecar holding what the raw key cannot: the file's original name (WU finds its station from it). */
export function rawMetaKey(key: string): string {
  return `${key}.meta.json`;
}

export function isRawMetaKey(key: string): boolean {
  return key.endsWith('.meta.json');
}

export function rawPrefix(pipeline: string): string {
  return `raw/${pipeline}/`;
}

export function datasetPrefix(zone: Zone, dataset: string): string {
  return `${zone}/${dataset}/`;
}
