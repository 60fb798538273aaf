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

/** A month partition's name in a dataset (Hive style, so DuckDB, Spark and Trino find the `month` column). */
const MONTH_PARTITION = /^month=(\d{4}-(?:0[1-9]|1[0-2]))\/data\.parquet$/;

/**
 * `<zone>/<dataset>/month=YYYY-MM/data.parquet`: every pipeline's staging and curated data, one file per
 * month holding all its entities (see docs/ARCHITECTURE.md, "The lake").
 */
export function monthPartitionKey(prefix: string, month: string): string {
  return `${prefix}month=${month}/data.parquet`;
}

/** The month a key of the dataset under `prefix` holds, or null when the key is not a month partition. */
export function monthOfKey(prefix: string, key: string): string | null {
  if (!key.startsWith(prefix)) return null;
  return MONTH_PARTITION.exec(key.slice(prefix.length))?.[1] ?? null;
}
