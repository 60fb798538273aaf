import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { ObjectInfo, ObjectStore } from './objectStore.js';
import { isRawMetaKey, rawKey, rawMetaKey, rawPrefix } from './layout.js';

export interface RawFile {
  key: string;
  sha256: string;
  size: number;
  receivedAt: Date;
  /** The name the file had when it arrived (the raw key keeps only its hash). */
  originalName: string;
  source: string;
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  // 1 MiB reads: with the default 64 KiB the stream's per-chunk cost made a 231 MB file ~25 % slower to hash.
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Extension kept on the raw key: the reader is chosen from it. `.json.gz`-style doubles are not used by our sources. */
export function extensionOf(name: string): string {
  return extname(name).replace(/^\./, '').toLowerCase();
}

/** Stores a local file unchanged in the raw zone, with a sidecar naming its origin. */
export async function storeRawFile(
  store: ObjectStore,
  pipeline: string,
  source: string,
  localPath: string,
  receivedAt = new Date(),
  sha256?: string,
): Promise<RawFile> {
  const [hash, info] = await Promise.all([sha256 ?? sha256OfFile(localPath), stat(localPath)]);
  const originalName = basename(localPath);
  const key = rawKey(pipeline, source, receivedAt, hash, extensionOf(originalName));
  const file: RawFile = { key, sha256: hash, size: info.size, receivedAt, originalName, source };
  // Sidecar first: a raw file is never visible without its metadata.
  await store.putBytes(
    rawMetaKey(key),
    JSON.stringify({ original_name: originalName, sha256: hash, size: info.size, received_at: receivedAt.toISOString(), source }),
  );
  try {
    await store.putFile(key, localPath);
  } catch (err) {
    // A sidecar without its file would stay in the raw zone for good (the rerun stores the file under a new
    // arrival key): take it back. If that fails too, it is harmless: listings go by the raw files.
    await store.delete(rawMetaKey(key)).catch(() => {});
    throw err;
  }
  return file;
}

/** Sidecars read at once: one round trip each on a remote store, so not one after the other. */
const META_READS = 16;

/** `<date><HHMMSSmmm>` of a raw key: fixed width, so comparing strings compares arrival instants. */
function arrivalOf(key: string): string {
  const m = /\/received=(\d{4}-\d{2}-\d{2})\/(\d{9})-[^/]*$/.exec(key);
  return m ? `${m[1]}${m[2]}` : '';
}

/**
 * Every raw file of a pipeline, in the order of arrival: by the instant in the key, then by key. Plain
 * key order would not do: the source comes before the date in the key, so it would replay one source's
 * files after the other's.
 */
export async function listRawFiles(store: ObjectStore, pipeline: string): Promise<RawFile[]> {
  const objects = await store.list(rawPrefix(pipeline));
  const metaKeys = new Set(objects.filter((o) => isRawMetaKey(o.key)).map((o) => o.key));
  const files = objects
    .filter((o) => !isRawMetaKey(o.key))
    .map((o) => ({ o, arrival: arrivalOf(o.key) }))
    .sort((a, b) => (a.arrival < b.arrival ? -1 : a.arrival > b.arrival ? 1 : a.o.key < b.o.key ? -1 : a.o.key > b.o.key ? 1 : 0))
    .map(({ o }) => o);
  const out: RawFile[] = new Array<RawFile>(files.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < files.length; i = next++) {
      const o = files[i] as ObjectInfo;
      const source = o.key.split('/')[2] ?? 'unknown';
      const sha = /-([0-9a-f]{64})(\.[a-z0-9]+)?$/.exec(o.key)?.[1] ?? '';
      let originalName = o.key.split('/').pop() ?? o.key;
      let receivedAt = o.modifiedAt;
      if (metaKeys.has(rawMetaKey(o.key))) {
        const meta = JSON.parse((await store.getBytes(rawMetaKey(o.key))).toString('utf8')) as {
          original_name?: string;
          received_at?: string;
        };
        originalName = meta.original_name ?? originalName;
        if (meta.received_at) receivedAt = new Date(meta.received_at);
      }
      out[i] = { key: o.key, sha256: sha, size: o.size, receivedAt, originalName, source };
    }
  };
  await Promise.all(Array.from({ length: Math.min(META_READS, files.length) }, worker));
  return out;
}
