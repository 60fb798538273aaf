import type { ObjectStore } from './objectStore.js';

/**
 * Gives `fn` local paths for several objects at once (in the order of `keys`), valid until `fn`
 * settles: DuckDB reads a run's files together, but `withLocalFile` only lends one path for the
 * length of its callback, so the callbacks are nested. A remote store downloads one object after the
 * other and deletes every copy when `fn` resolves or throws; the folder store copies nothing.
 */
export function withLocalFiles<T>(store: ObjectStore, keys: readonly string[], fn: (paths: string[]) => Promise<T>): Promise<T> {
  const paths: string[] = [];
  const step = (i: number): Promise<T> => {
    if (i === keys.length) return fn(paths);
    return store.withLocalFile(keys[i] as string, (path) => {
      paths.push(path);
      return step(i + 1);
    });
  };
  return step(0);
}
