import { readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { ObjectStore } from '../../lake/objectStore.js';

/**
 * The landing location: a folder or an object store where Airbyte or a person drops files for scheduled
 * runs. Files are only read here, never moved or deleted: the landing may be shared with other readers.
 */

/** One file of the landing, not yet read. */
export interface LandingFile {
  /** Path relative to the landing, with `/` separators (the object key for a store). */
  name: string;
  size: number;
  mtime?: Date;
  /**
   * Gives `fn` a local path holding the file: the file itself for a folder, a temporary download for a
   * remote store (valid only while `fn` runs).
   */
  withLocalFile<T>(fn: (path: string) => Promise<T>): Promise<T>;
}

export interface ListLandingOptions {
  /** Extensions (lower case, no dot) to keep; every file when absent. */
  extensions?: readonly string[];
  /**
   * Folder landings only: files modified less than this long ago are left for the next run, because a
   * writer copying into a folder may not be done yet. Objects of a store become visible whole, so they
   * need no such delay. Default 10 000 ms.
   */
  minAgeMs?: number;
  /**
   * Told of each folder file left out as too recent (name relative to the landing), so that the run can
   * count and say what it left for later.
   */
  onTooRecent?: (name: string) => void;
  /** The current time, for the age check (tests). */
  now?: Date;
  /** Builds the store of an `s3://…` landing; required for such a location. */
  openStore?: (url: string) => ObjectStore;
}

const DEFAULT_MIN_AGE_MS = 10_000;

/** Suffixes of files still being written by common tools (downloaders, rsync-style copiers, our own stores). */
const PARTIAL_SUFFIXES = ['.tmp', '.part', '.crdownload'];

/** Raised when the landing location cannot be read as configured. */
export class LandingError extends Error {
  override name = 'LandingError';
}

/**
 * Whether a relative name is a partial or hidden file: any path segment starting with `.` (hidden files
 * and folders, our own `.tmp-…` names) or a last segment ending in a partial-download suffix.
 */
export function isPartialName(name: string): boolean {
  const parts = name.split('/');
  if (parts.some((p) => p.startsWith('.'))) return true;
  const last = (parts[parts.length - 1] ?? '').toLowerCase();
  return PARTIAL_SUFFIXES.some((s) => last.endsWith(s));
}

function extensionOk(name: string, extensions: readonly string[] | undefined): boolean {
  if (!extensions) return true;
  const last = name.slice(name.lastIndexOf('/') + 1);
  const dot = last.lastIndexOf('.');
  return dot > 0 && extensions.includes(last.slice(dot + 1).toLowerCase());
}

/** Code-point order, the same on every platform and locale (and the order of S3 listings). */
function byName(a: LandingFile, b: LandingFile): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

async function listFolder(root: string, options: ListLandingOptions): Promise<LandingFile[]> {
  let names: string[];
  try {
    names = await readdir(root, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A landing that is configured but missing is most likely a typo: say so rather than read nothing.
    if (code === 'ENOENT') throw new LandingError(`landing folder ${root} does not exist`);
    if (code === 'ENOTDIR') throw new LandingError(`landing ${root} is not a folder`);
    throw err;
  }
  const newest = (options.now ?? new Date()).getTime() - (options.minAgeMs ?? DEFAULT_MIN_AGE_MS);
  const out: LandingFile[] = [];
  for (const native of names) {
    const name = native.split(sep).join('/');
    if (isPartialName(name) || !extensionOk(name, options.extensions)) continue;
    const path = join(root, native);
    // A file may vanish between readdir and stat (a writer renaming its temporary file): not an error.
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) continue;
    if (info.mtimeMs > newest) {
      options.onTooRecent?.(name);
      continue;
    }
    out.push({ name, size: info.size, mtime: info.mtime, withLocalFile: (fn) => fn(path) });
  }
  return out.sort(byName);
}

async function listStore(store: ObjectStore, options: ListLandingOptions): Promise<LandingFile[]> {
  const out: LandingFile[] = [];
  for (const o of await store.list('')) {
    // Keys ending in '/' are the "folder" markers some S3 consoles create.
    if (o.key.endsWith('/') || isPartialName(o.key) || !extensionOk(o.key, options.extensions)) continue;
    out.push({ name: o.key, size: o.size, mtime: o.modifiedAt, withLocalFile: (fn) => store.withLocalFile(o.key, fn) });
  }
  return out.sort(byName);
}

/**
 * The landing's complete files, sorted by name: a folder path, an `s3://bucket/prefix` URL (through
 * `options.openStore`), or an object store already opened. Hidden, partial and (for folders) too recent
 * files are left out (the too recent ones told to `options.onTooRecent`), as are files without one of
 * `options.extensions`.
 */
export async function listLanding(location: string | ObjectStore, options: ListLandingOptions = {}): Promise<LandingFile[]> {
  if (typeof location !== 'string') return listStore(location, options);
  if (location.startsWith('s3://')) {
    if (!options.openStore) throw new LandingError(`landing ${location}: no object store available for s3:// locations`);
    return listStore(options.openStore(location), options);
  }
  if (location.includes('://')) throw new LandingError(`landing ${location}: expected a folder path or s3://bucket/prefix`);
  return listFolder(location, options);
}
