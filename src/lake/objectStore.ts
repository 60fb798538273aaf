import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

/**
 * The lake's storage: a flat key space with atomic publication. Keys use `/` and never start with it.
 * Implemented by `FolderStore` and `S3Store`; `test/lake/objectStore.contract.ts` holds both to it.
 */
export interface ObjectStore {
  /** Where the store lives, for messages (`/path/lake`, `s3://bucket/prefix`). */
  readonly location: string;
  /**
   * Publishes a local file under `key`, atomically: readers see the old object or the new one, never a part.
   * With `consume`, the local file is the store's afterwards (the folder store renames it instead of copying).
   */
  putFile(key: string, localPath: string, options?: { consume?: boolean }): Promise<void>;
  /** Publishes a stream under `key`, atomically. */
  putStream(key: string, body: Readable): Promise<void>;
  putBytes(key: string, body: Uint8Array | string): Promise<void>;
  getStream(key: string): Promise<Readable>;
  getBytes(key: string): Promise<Buffer>;
  /**
   * Gives `fn` a local file path holding the object. DuckDB reads local files only, so a remote store
   * downloads to a temporary file here; the folder store hands out its own path. The path is valid
   * only until `fn` settles: a remote store deletes it then (use `withLocalFiles` for several at once).
   */
  withLocalFile<T>(key: string, fn: (path: string) => Promise<T>): Promise<T>;
  exists(key: string): Promise<boolean>;
  /**
   * Lists objects under a prefix, sorted by key (UTF-16 code units, as `<` on strings). The prefix
   * names a folder: `a` and `a/` list `a/…`, never `ab/…`; '' lists everything.
   */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes one object; a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every object `list(prefix)` would return. */
  deletePrefix(prefix: string): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  override name = 'ObjectNotFoundError';
  /** `detail`: what the store itself said, e.g. `s3://bucket/prefix/key: NoSuchKey`. */
  constructor(
    readonly key: string,
    location: string,
    detail?: string,
  ) {
    super(`no object ${key} in lake ${location}${detail ? ` (${detail})` : ''}`);
  }
}

/** Rejects keys that could escape the store's root or are not canonical. */
export function assertSafeKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.includes('\\') || key.includes('\0')) {
    throw new Error(`invalid lake key: ${JSON.stringify(key)}`);
  }
  for (const part of key.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new Error(`invalid lake key: ${JSON.stringify(key)}`);
  }
}
