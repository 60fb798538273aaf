import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

/**
 * The lake's storage: a flat key space with atomic publication. Keys use `/` and never start with it.
 * The folder store implements it now; an S3 store will implement the same contract.
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
   * downloads to a temporary file here; the folder store hands out its own path.
   */
  withLocalFile<T>(key: string, fn: (path: string) => Promise<T>): Promise<T>;
  exists(key: string): Promise<boolean>;
  /** Lists objects under a prefix, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(key: string): Promise<void>;
  deletePrefix(prefix: string): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  override name = 'ObjectNotFoundError';
  constructor(readonly key: string, location: string) {
    super(`no object ${key} in lake ${location}`);
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
