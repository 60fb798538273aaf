import { createRequire } from 'node:module';
import type { DuckDBConnection, DuckDBInstance, DuckDBMaterializedResult, DuckDBPreparedStatement, DuckDBValue } from '@duckdb/node-api';

// Required, not imported: @duckdb/node-api is CommonJS, and an ESM import of it first has Node scan its
// source for export names, which cost ~0.1 s of every command's start (measured: import 240 ms, require 120 ms).
const duckdb = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');

export type Params = DuckDBValue[] | Record<string, DuckDBValue>;
export type Row = Record<string, unknown>;

/** Raised when another process has the DuckDB file open for writing. */
export class DatabaseBusyError extends Error {
  override name = 'DatabaseBusyError';
  constructor(
    readonly path: string,
    readonly holderPid: number | null,
    detail: string,
  ) {
    super(detail);
  }
}

/** Converts DuckDB's JS values into plain JSON-friendly ones: safe integers as numbers, instants as ISO UTC. */
export function plainValue(v: unknown): unknown {
  if (typeof v === 'bigint') {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  if (v instanceof Date) return isoUtc(v);
  if (Array.isArray(v)) return v.map(plainValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plainValue(x);
    return out;
  }
  return v;
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the contract's instant format. */
export function isoUtc(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** A JS instant as a DuckDB TIMESTAMP literal value (UTC, naive). */
export function timestampValue(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

/** How many prepared statements a session keeps (the hot ones are a handful: run records, log lines). */
const PREPARED_CACHE_SIZE = 32;

interface CachedStatement {
  statement: Promise<DuckDBPreparedStatement>;
  /** The last use queued on it: binding is per statement, so its uses must not interleave. */
  tail: Promise<unknown>;
}

/** One DuckDB database (file or in memory) with a single connection: the engine's unit of work. */
export class DuckSession {
  private readonly statements = new Map<string, CachedStatement>();

  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    private readonly ownsInstance = true,
  ) {}

  /**
   * Another connection to the same database: it sees only committed data (MVCC), so reads through it
   * neither see nor disturb a transaction in progress on this one. Closing it leaves the database open.
   */
  async fork(): Promise<DuckSession> {
    return new DuckSession(this.path, this.instance, await this.instance.connect(), false);
  }

  /**
   * Runs `here` on this connection and `there` on a fork of it at the same time (one statement alone often
   * leaves a core idle). Both settle before an error is thrown, so a caller's rollback on this connection
   * finds it idle; the fork is closed after.
   */
  async besideFork<A, B>(here: () => Promise<A>, there: (fork: DuckSession) => Promise<B>): Promise<[A, B]> {
    const fork = await this.fork();
    try {
      const [a, b] = await Promise.allSettled([here(), there(fork)]);
      if (a.status === 'rejected') throw a.reason;
      if (b.status === 'rejected') throw b.reason;
      return [a.value, b.value];
    } finally {
      fork.close();
    }
  }

  static async open(path = ':memory:', options: { memoryLimit?: string; threads?: number } = {}): Promise<DuckSession> {
    const config: Record<string, string> = {};
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    if (options.threads) config.threads = String(options.threads);
    let instance: DuckDBInstance;
    try {
      instance = await duckdb.DuckDBInstance.create(path, config);
    } catch (err) {
      const message = (err as Error).message;
      const m = /Conflicting lock is held in (.*?) \(PID (\d+)\)/.exec(message);
      if (m) {
        throw new DatabaseBusyError(path, Number(m[2]), `${path} is held by another process: ${m[1]} (PID ${m[2]})`);
      }
      throw err;
    }
    const connection = await instance.connect();
    return new DuckSession(path, instance, connection);
  }

  async run(sql: string, params?: Params): Promise<void> {
    await this.connection.run(sql, params);
  }

  /**
   * Runs one statement prepared once per session and reused (`$1` or `$name` parameters): a statement run
   * with parameters through `connection.run` is parsed twice and prepared anew each time, which costs about
   * as much as executing a one-row statement. For the statements every run makes (its record, its log lines).
   */
  prepared(sql: string, params: Params): Promise<DuckDBMaterializedResult> {
    let cached = this.statements.get(sql);
    if (cached) {
      // Most recently used last: the first entry is the one to evict.
      this.statements.delete(sql);
      this.statements.set(sql, cached);
    } else {
      if (this.statements.size >= PREPARED_CACHE_SIZE) this.evictOldest();
      const statement = this.connection.prepare(sql);
      cached = { statement, tail: statement };
      this.statements.set(sql, cached);
      // A statement that does not prepare is not kept (its error reaches the caller below).
      statement.catch(() => {
        if (this.statements.get(sql)?.statement === statement) this.statements.delete(sql);
      });
    }
    const entry = cached;
    const result = entry.tail
      .catch(() => {})
      .then(async () => {
        const statement = await entry.statement;
        statement.bind(params);
        return statement.run();
      });
    entry.tail = result;
    return result;
  }

  /** Rows of a prepared statement (see `prepared`), with raw DuckDB JS values. */
  async preparedRows<T = Row>(sql: string, params: Params): Promise<T[]> {
    const result = await this.prepared(sql, params);
    return (await result.getRowObjectsJS()) as T[];
  }

  private evictOldest(): void {
    const [sql, entry] = this.statements.entries().next().value as [string, CachedStatement];
    this.statements.delete(sql);
    void entry.tail
      .catch(() => {})
      .then(() => entry.statement)
      .then((s) => s.destroySync())
      .catch(() => {});
  }

  /** Runs a query and returns its rows with raw DuckDB JS values (bigint, Date, …). */
  async rows<T = Row>(sql: string, params?: Params): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJS() as T[];
  }

  /** Runs a query and returns plain JSON-friendly rows (see plainValue); DATE columns as `YYYY-MM-DD`. */
  async plainRows(sql: string, params?: Params): Promise<Row[]> {
    const reader = await this.connection.runAndReadAll(sql, params);
    const names = reader.columnNames();
    const dates = new Set(names.filter((_, i) => String(reader.columnType(i)) === 'DATE'));
    return (reader.getRowObjectsJS() as Row[]).map((r) => {
      const out = plainValue(r) as Row;
      for (const c of dates) {
        const v = r[c];
        if (v instanceof Date) out[c] = v.toISOString().slice(0, 10);
      }
      return out;
    });
  }

  /** DuckDB's `threads` setting (the machine's cores unless set). */
  async threads(): Promise<number> {
    return Number(await this.scalar(`SELECT current_setting('threads')`));
  }

  /** DuckDB's `memory_limit` in bytes (set, or DuckDB's default of 80 % of the machine's memory). */
  async memoryLimitBytes(): Promise<number> {
    const text = String(await this.scalar(`SELECT current_setting('memory_limit')`));
    const m = /^([\d.]+)\s*(bytes|[KMGT]i?B)$/i.exec(text.trim());
    if (!m) throw new Error(`unexpected memory_limit "${text}"`);
    const unit = (m[2] as string).toUpperCase();
    const power = { BYTES: 0, KB: 1, KIB: 1, MB: 2, MIB: 2, GB: 3, GIB: 3, TB: 4, TIB: 4 }[unit] ?? 0;
    const base = unit.includes('I') || unit === 'BYTES' ? 1024 : 1000;
    return Math.round(Number(m[1]) * base ** power);
  }

  async scalar<T = unknown>(sql: string, params?: Params): Promise<T | undefined> {
    const reader = await this.connection.runAndReadAll(sql, params);
    const rows = reader.getRowsJS();
    return rows[0]?.[0] as T | undefined;
  }

  /**
   * Drops a temporary table or view of this connection, whichever it is (DuckDB refuses `DROP VIEW` on a
   * table and the reverse), so that a step may make it either kind from one run to the next.
   */
  async dropTemp(name: string): Promise<void> {
    const kind = await this.scalar<string>(
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM duckdb_views() WHERE view_name = $1 AND temporary) THEN 'VIEW'
                   WHEN EXISTS (SELECT 1 FROM duckdb_tables() WHERE table_name = $1 AND temporary) THEN 'TABLE' END`,
      [name],
    );
    if (kind) await this.run(`DROP ${kind} ${ident(name)}`);
  }

  /** Runs `fn` in a transaction; any error rolls everything back. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.connection.run('BEGIN TRANSACTION');
    try {
      const result = await fn();
      await this.connection.run('COMMIT');
      return result;
    } catch (err) {
      try {
        await this.connection.run('ROLLBACK');
      } catch {
        // The transaction may already be aborted by DuckDB; the original error matters.
      }
      throw err;
    }
  }

  close(): void {
    // The connection destroys its prepared statements as it closes.
    this.statements.clear();
    this.connection.closeSync();
    if (this.ownsInstance) this.instance.closeSync();
  }
}

/** Quotes an identifier for SQL (names we build ourselves, never user values: those are parameters). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A SQL string literal, for paths given to table functions that do not take parameters everywhere. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
