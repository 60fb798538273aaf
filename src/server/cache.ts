/**
 * Serialised responses kept until the warehouse's data changes. A DuckDB query costs milliseconds even on
 * a small table, a cached body microseconds; every entry belongs to one data version and the whole cache
 * empties when the version moves, so a committed run is visible on the next request. Versions only grow.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;
  private version: number | null = null;

  constructor(
    private readonly maxEntries = 10_000,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  get(key: string, version: number): Buffer | undefined {
    if (version !== this.version) {
      this.reset(version);
      return undefined;
    }
    const body = this.entries.get(key);
    if (body) {
      // Map order is insertion order: moving a hit to the end makes the first entry the least recently used.
      this.entries.delete(key);
      this.entries.set(key, body);
    }
    return body;
  }

  /** Stores a body computed from data of `version` (read before the query: a later commit makes it stale). */
  set(key: string, version: number, body: Buffer): void {
    if (version !== this.version) {
      // Computed from an older version than the cache holds (a run committed meanwhile): not worth keeping.
      if (this.version !== null && version < this.version) return;
      this.reset(version);
    }
    if (body.length > this.maxBytes / 4) return;
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.length;
      this.entries.delete(key);
    }
    this.entries.set(key, body);
    this.bytes += body.length;
    while (this.entries.size > this.maxEntries || this.bytes > this.maxBytes) {
      const first = this.entries.keys().next();
      if (first.done) break;
      this.bytes -= this.entries.get(first.value)?.length ?? 0;
      this.entries.delete(first.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private reset(version: number): void {
    this.entries.clear();
    this.bytes = 0;
    this.version = version;
  }
}
