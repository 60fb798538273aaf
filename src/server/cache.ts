import { LRUCache } from 'lru-cache';

/**
 * Serialised responses kept until the warehouse's data changes. A DuckDB query costs milliseconds even on
 * a small table, a cached body microseconds; every entry belongs to one data version and the whole cache
 * empties when the version moves, so a committed run is visible on the next request. Versions only grow.
 * What is ecluse's here is the version; bounds and eviction (least recently used) are lru-cache's.
 */
export class ResponseCache {
  private readonly entries: LRUCache<string, Buffer>;
  private version: number | null = null;

  constructor(maxEntries = 10_000, maxBytes = 64 * 1024 * 1024) {
    this.entries = new LRUCache({
      max: maxEntries,
      maxSize: maxBytes,
      // One body must not push out a quarter of the others.
      maxEntrySize: maxBytes / 4,
      // Sizes must be positive: an empty body still takes an entry.
      sizeCalculation: (body) => Math.max(1, body.length),
    });
  }

  get(key: string, version: number): Buffer | undefined {
    if (version !== this.version) {
      this.reset(version);
      return undefined;
    }
    return this.entries.get(key);
  }

  /** Stores a body computed from data of `version` (read before the query: a later commit makes it stale). */
  set(key: string, version: number, body: Buffer): void {
    if (version !== this.version) {
      // Computed from an older version than the cache holds (a run committed meanwhile): not worth keeping.
      if (this.version !== null && version < this.version) return;
      this.reset(version);
    }
    this.entries.set(key, body);
  }

  get size(): number {
    return this.entries.size;
  }

  private reset(version: number): void {
    this.entries.clear();
    this.version = version;
  }
}
