import { execFileSync } from 'node:child_process';
import { constants, createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { processAlive } from '../engine/processes.js';
import { DuckSession, isoUtc, literal, plainValue, type Row } from '../engine/duckdb.js';
import { withScratchDir } from '../engine/bulk.js';
import { csvLine, type CsvValue } from '../engine/csvCell.js';
import type { Reject } from '../quality/rejects.js';
import { API_TOKENS_DDL, ApiTokenStore } from './apiTokens.js';
import { columnNames, createTableSql, quoteIdent, type Dataset } from './dataset.js';
import {
  cancelRequested,
  insertRunLogs,
  listFilter,
  METADATA_DDL,
  requestCancel,
  RUN_COLUMNS,
  runLogInsert,
  toRunRecord,
  type RunCounts,
  type RunLogLine,
  type RunRecord,
  type RunStatus,
} from './metadata.js';
import { acquireRunLock, releaseRunLock, renewRunLock, type LockResult, type MetaSql, type RunLock } from './runLocks.js';
import { readerRoleName, readerUrl, readOnlySelect, setUpReaderRole } from './postgresReader.js';
import { SqlUnavailableError, type SqlAnswer, type SqlLimits } from './readOnlySql.js';
import { fileRecordOf, REJECT_COLUMNS, type EngineLease, type FileRecord, type RejectRow, type RunFilter, type SqlParam, type Warehouse } from './warehouse.js';

/** Channel on which every committed run is announced, so other processes' caches follow. */
const COMMITS_CHANNEL = 'ecluse_commits';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Values as the contract wants them, the same as the DuckDB warehouse gives: `timestamp` (UTC, naive) as
 * `YYYY-MM-DDTHH:MM:SSZ`, bigint as a number when safe, numeric as a number.
 */
const PARSERS: Record<number, (text: string) => unknown> = {
  20: (t) => {
    const b = BigInt(t);
    return b <= MAX_SAFE && b >= -MAX_SAFE ? Number(b) : t;
  },
  1700: (t) => Number(t),
  1114: (t) => `${t.slice(0, 10)}T${t.slice(11, 19)}Z`,
  // A calendar day stays the text `YYYY-MM-DD` (pg would make it a Date at local midnight).
  1082: (t) => t,
  1184: (t) => isoUtc(new Date(t)),
};

const types = {
  getTypeParser: ((oid: number, format?: string) =>
    PARSERS[oid] ?? (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format)) as typeof pg.types.getTypeParser,
};

interface Target {
  config: pg.ClientConfig;
  schema: string | null;
  /** The URL without its password, for messages. */
  display: string;
}

/** `postgres://user:pw@host:port/db?schema=name`: `schema` (ours) sets the search path, created if missing. */
export function parsePostgresUrl(url: string): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a PostgreSQL URL: ${url.replace(/:[^:@/]*@/, ':***@')}`);
  }
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  if (schema !== null && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) throw new Error(`schema=${schema}: expected a plain SQL identifier`);
  const display = new URL(u.toString());
  if (display.password) display.password = '***';
  return {
    config: { connectionString: u.toString(), types, options: schema ? `-c search_path=${schema}` : undefined, application_name: 'ecluse' },
    schema,
    display: display.toString() + (schema ? `${display.search ? '&' : '?'}schema=${schema}` : ''),
  };
}

/**
 * The warehouse on PostgreSQL: many processes may write; bulk loads go through COPY into a temporary table
 * and an `INSERT … ON CONFLICT`. One client carries runs (and their transactions), a small pool serves reads,
 * and a listening client follows commits made elsewhere.
 */
export class PostgresWarehouse implements Warehouse {
  readonly kind = 'postgres' as const;
  private version = 0;
  private inTransaction = false;

  /** Why the run connection broke (the server restarted, the network dropped), until it is replaced. */
  private writerLost: Error | null = null;
  private closed = false;

  private constructor(
    readonly location: string,
    private writer: pg.Client,
    private readonly readers: pg.Pool,
    private listener: pg.Client,
    private readonly memoryLimit: string | undefined,
    /** Where `readOnlyQuery` connects: the reader role's login (see postgresReader.ts). */
    private readonly reader: Target,
    /** Why the reader role could not be set up, or null. */
    private readonly readerProblem: string | null,
    private readonly connect: () => Promise<pg.Client>,
  ) {
    this.watchWriter(writer);
    // An idle pooled connection the server closed: the pool drops it and opens another for the next read.
    // Without a listener, its 'error' event would end the process.
    readers.on('error', () => {});
    this.watchListener(listener);
  }

  /**
   * `readerUrl` is the login of the SQL endpoint's read-only role (ECLUSE_WAREHOUSE_READER); without it, a
   * role named after the schema is created and reached through the warehouse's URL with no password.
   */
  static async open(url: string, options: { memoryLimit?: string; readerUrl?: string } = {}): Promise<PostgresWarehouse> {
    const target = parsePostgresUrl(url);
    const readerLogin = options.readerUrl ?? readerUrl(url, readerRoleName(target.schema));
    const reader = parsePostgresUrl(withSchema(readerLogin, target.schema));
    const readerRole = decodeURIComponent(new URL(readerLogin).username);
    const connect = async () => {
      const c = new pg.Client(target.config);
      try {
        await c.connect();
      } catch (err) {
        throw new Error(`cannot connect to the PostgreSQL warehouse ${target.display}: ${(err as Error).message}`, { cause: err });
      }
      return c;
    };
    const writer = await connect();
    // Until the warehouse watches it: a server closing the session now must not end the process.
    const early = (): void => {};
    writer.on('error', early);
    try {
      if (target.schema) await writer.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(target.schema)}`);
      // Two processes creating the tables at once would collide on PostgreSQL's catalog: serialise.
      await writer.query(`SELECT pg_advisory_lock(hashtext('ecluse-ddl'))`);
      let readerProblem: string | null;
      try {
        for (const ddl of [...METADATA_DDL, ...API_TOKENS_DDL]) await writer.query(ddl);
        // An operator-named reader is theirs to create (with its password); ours is created here.
        readerProblem = await setUpReaderRole(writer, readerRole, options.readerUrl === undefined);
      } finally {
        await writer.query(`SELECT pg_advisory_unlock(hashtext('ecluse-ddl'))`);
      }
      const listener = await connect();
      const readers = new pg.Pool({ ...target.config, max: 4 });
      listener.on('error', early);
      await listener.query(`LISTEN ${COMMITS_CHANNEL}`);
      const wh = new PostgresWarehouse(target.display, writer, readers, listener, options.memoryLimit, reader, readerProblem, connect);
      writer.off('error', early);
      listener.off('error', early);
      await wh.failDeadRuns();
      return wh;
    } catch (err) {
      await writer.end().catch(() => {});
      throw err;
    }
  }

  /** Runs left `running` by a process of this host that no longer exists (other hosts' runs are theirs to judge). */
  private async failDeadRuns(): Promise<void> {
    const { rows } = await this.writer.query<{ run_id: number; pid: number | null }>(`SELECT run_id, pid FROM runs WHERE status = 'running' AND host = $1`, [
      hostname(),
    ]);
    const dead = rows.filter((r) => r.pid === null || !processAlive(r.pid)).map((r) => r.run_id);
    if (dead.length === 0) return;
    await this.writer.query(
      `UPDATE runs SET status = 'failed', finished_at = $2::TIMESTAMP,
         error = 'the process running it (pid ' || coalesce(pid::VARCHAR, '?') || ') stopped before it finished'
       WHERE run_id = ANY($1::BIGINT[]) AND status = 'running'`,
      [dead, isoUtc(new Date())],
    );
  }

  /** Notes when the run connection breaks; its 'error' event would otherwise end the process. */
  private watchWriter(client: pg.Client): void {
    const lost = (err?: Error) => {
      if (this.writer === client && this.writerLost === null && !this.closed) this.writerLost = err ?? new Error('the server closed the connection');
    };
    client.on('error', lost);
    client.on('end', () => lost());
  }

  /**
   * The run connection, replaced if the server closed it (a restart, a failover). Inside a transaction it
   * cannot be: the transaction died with the session, so the run must fail and record that.
   */
  private async liveWriter(): Promise<pg.Client> {
    const lost = this.writerLost;
    if (lost === null) return this.writer;
    if (this.inTransaction) throw this.lostConnection(lost);
    const old = this.writer;
    this.writer = await this.reconnect();
    this.writerLost = null;
    this.watchWriter(this.writer);
    await old.end().catch(() => {});
    return this.writer;
  }

  /** A new connection, tried a few times: a restarting server refuses connections for a moment. */
  private async reconnect(): Promise<pg.Client> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.connect();
      } catch (err) {
        if (attempt >= RECONNECT_ATTEMPTS || this.closed) throw err;
        await sleep(100 * 2 ** attempt);
      }
    }
  }

  /** Says that the session was lost (and with it the open transaction), keeping PostgreSQL's words. */
  private lostConnection(err: Error): Error {
    const during = this.inTransaction ? ': the open transaction was rolled back by the server, nothing of it was committed' : '';
    return new Error(`lost the connection to the PostgreSQL warehouse ${this.location} (${err.message})${during}`, { cause: err });
  }

  /** The error of a statement on the run connection; a broken connection is marked so the next call replaces it. */
  private statementError(err: unknown): unknown {
    if (!isConnectionLoss(err)) return err;
    this.writerLost ??= err as Error;
    return this.lostConnection(err as Error);
  }

  /** Re-opens the listening connection after a loss, and bumps the version: commits made meanwhile went unheard. */
  private watchListener(client: pg.Client): void {
    client.on('notification', () => this.version++);
    let lost = false;
    const relisten = async () => {
      if (lost || this.closed) return;
      lost = true;
      await client.end().catch(() => {});
      for (let attempt = 1; !this.closed; attempt++) {
        await sleep(Math.min(100 * 2 ** attempt, 30_000), undefined, { ref: false });
        if (this.closed) return;
        try {
          const next = await this.connect();
          next.on('error', () => {});
          await next.query(`LISTEN ${COMMITS_CHANNEL}`);
          if (this.closed) return void (await next.end().catch(() => {}));
          this.listener = next;
          this.watchListener(next);
          this.version++;
          return;
        } catch {
          // Still down: try again later; meanwhile caches follow only this process's own commits.
        }
      }
    };
    client.on('error', () => void relisten());
    client.on('end', () => void relisten());
  }

  private async run(sql: string, params: readonly unknown[] = []): Promise<pg.QueryResult> {
    const writer = await this.liveWriter();
    try {
      return await writer.query(sql, params as unknown[]);
    } catch (err) {
      throw this.statementError(err);
    }
  }

  async startRun(pipelineName: string, partition: string | ((runId: number) => string), trigger: string, attempt = 1): Promise<number> {
    const started = new Date().toISOString().replace('Z', '');
    if (typeof partition === 'string') {
      // One round trip when the partition is known: run records are the floor of every run's cost.
      const { rows } = await this.run(
        `INSERT INTO runs (run_id, pipeline, partition, status, trigger, attempt, started_at, pid, host)
         VALUES (nextval('runs_seq'), $1, $2, 'running', $3, $7, $4::TIMESTAMP, $5, $6) RETURNING run_id`,
        [pipelineName, partition, trigger, started, process.pid, hostname(), attempt],
      );
      return Number(rows[0].run_id);
    }
    const { rows } = await this.run(`SELECT nextval('runs_seq') AS id`);
    const id = Number(rows[0].id);
    const part = partition(id);
    await this.run(
      `INSERT INTO runs (run_id, pipeline, partition, status, trigger, attempt, started_at, pid, host)
       VALUES ($1, $2, $3, 'running', $4, $8, $5::TIMESTAMP, $6, $7)`,
      [id, pipelineName, part, trigger, started, process.pid, hostname(), attempt],
    );
    return id;
  }

  async finishRun(runId: number, status: RunStatus, c: RunCounts, steps: Record<string, number>, error: string | null = null): Promise<RunRecord | null> {
    const finished = new Date();
    // One statement (a round trip per run matters): the record comes back with it, and the notification is
    // delivered at commit (or dropped with a rollback), to every listening process.
    const { rows } = await this.run(
      `WITH done AS (
         UPDATE runs SET status = $2, finished_at = $3::TIMESTAMP,
           duration_ms = round(EXTRACT(EPOCH FROM ($3::TIMESTAMP - started_at)) * 1000)::BIGINT,
           files = $4, files_skipped = $5, rows_read = $6, rows_written = $7,
           rows_rejected = $8, values_rejected = $9, error = $10, steps = $11::JSON,
           files_deferred = $13, warnings = $14::JSON
         WHERE run_id = $1 RETURNING ${RUN_COLUMNS})
       SELECT done.*, pg_notify($12, $1::TEXT) AS notified FROM done`,
      [
        runId,
        status,
        finished.toISOString().replace('Z', ''),
        c.files,
        c.files_skipped,
        c.rows_read,
        c.rows_written,
        c.rows_rejected,
        c.values_rejected,
        error,
        JSON.stringify(steps),
        COMMITS_CHANNEL,
        c.files_deferred ?? 0,
        JSON.stringify(c.warnings ?? []),
      ],
    );
    if (!this.inTransaction) this.version++;
    const row = rows[0] as Row | undefined;
    if (!row) return null;
    delete row.notified;
    return toRunRecord(row);
  }

  async getRun(runId: number): Promise<RunRecord | null> {
    const { rows } = await this.run(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId]);
    return rows[0] ? toRunRecord(rows[0] as Row) : null;
  }

  async listRuns(filter: RunFilter = {}): Promise<{ items: RunRecord[]; total: number }> {
    const { where, params } = listFilter(
      [
        ['pipeline', filter.pipeline],
        ['status', filter.status],
        ['partition', filter.partition],
      ],
      [
        ['partition', '>=', filter.from],
        ['partition', '<=', filter.to],
      ],
    );
    const total = await this.run(`SELECT count(*) AS n FROM runs ${where}`, params);
    const { rows } = await this.run(
      `SELECT ${RUN_COLUMNS} FROM runs ${where} ORDER BY run_id DESC LIMIT ${Math.trunc(filter.limit ?? 1000)} OFFSET ${Math.trunc(filter.offset ?? 0)}`,
      params,
    );
    return { items: rows.map((r) => toRunRecord(r as Row)), total: Number(total.rows[0].n) };
  }

  /** Pooled connections autocommit: lock rows and cancel requests are seen at once, whatever a run's transaction holds. */
  private get meta(): MetaSql {
    return {
      exec: async (sql, params) => (await this.readers.query(sql, [...params])).rowCount ?? 0,
      rows: async (sql, params) => (await this.readers.query(sql, [...params])).rows as Row[],
    };
  }

  acquireRunLock(lock: RunLock, ttlMs: number): Promise<LockResult> {
    return acquireRunLock(this.meta, lock, ttlMs);
  }

  renewRunLock(lock: RunLock, ttlMs: number, runId?: number): Promise<boolean> {
    return renewRunLock(this.meta, lock, ttlMs, runId ?? null);
  }

  releaseRunLock(lock: RunLock): Promise<void> {
    return releaseRunLock(this.meta, lock);
  }

  /** Through the autocommitting connection: outside the run's transaction. */
  insertRunLogs(lines: readonly RunLogLine[]): Promise<void> {
    return insertRunLogs(this.meta, lines);
  }

  async writeRunLogs(lines: readonly RunLogLine[]): Promise<void> {
    if (lines.length === 0) return;
    const { sql, params } = runLogInsert(lines);
    await this.run(sql, params);
  }

  requestCancel(runId: number): Promise<boolean> {
    return requestCancel(this.meta, runId);
  }

  cancelRequested(runId: number): Promise<boolean> {
    return cancelRequested(this.meta, runId);
  }

  async listRejects(filter: { runId?: number; pipeline?: string; limit?: number; offset?: number }): Promise<{ items: RejectRow[]; total: number }> {
    const { where, params } = listFilter([
      ['run_id', filter.runId],
      ['pipeline', filter.pipeline],
    ]);
    const total = await this.run(`SELECT count(*) AS n FROM rejects ${where}`, params);
    const { rows } = await this.run(
      `SELECT run_id, pipeline, file, sheet, "row", field, value, reason, whole_record FROM rejects ${where}
       ORDER BY run_id DESC, ctid LIMIT ${Math.trunc(filter.limit ?? 1000)} OFFSET ${Math.trunc(filter.offset ?? 0)}`,
      params,
    );
    return { items: rows as RejectRow[], total: Number(total.rows[0].n) };
  }

  async insertRejects(runId: number, pipelineName: string, rejects: readonly Reject[]): Promise<void> {
    await this.copyRows(
      'rejects',
      REJECT_COLUMNS,
      rejects.map((r) => [runId, pipelineName, r.file, r.sheet, r.row, r.field, r.value, r.reason, r.whole_record]),
    );
  }

  async seenFiles(pipelineName: string, hashes: readonly string[]): Promise<Set<string>> {
    if (hashes.length === 0) return new Set();
    const { rows } = await this.run(`SELECT sha256 FROM files WHERE pipeline = $1 AND status = 'loaded' AND sha256 = ANY($2::VARCHAR[])`, [
      pipelineName,
      hashes,
    ]);
    return new Set(rows.map((r: { sha256: string }) => r.sha256));
  }

  async rejectedFiles(pipelineName: string, hashes: readonly string[]): Promise<Map<string, FileRecord>> {
    if (hashes.length === 0) return new Map();
    const { rows } = await this.run(
      `SELECT pipeline, sha256, key, original_name, source, size, received_at, status FROM files
       WHERE pipeline = $1 AND status = 'rejected' AND sha256 = ANY($2::VARCHAR[])`,
      [pipelineName, hashes],
    );
    return new Map(rows.map((r: Row) => [String(r.sha256), fileRecordOf(plainValue(r) as Row)]));
  }

  async registerFiles(runId: number, files: readonly FileRecord[]): Promise<void> {
    if (files.length === 0) return;
    for (const pipelineName of new Set(files.map((f) => f.pipeline))) {
      const hashes = files.filter((f) => f.pipeline === pipelineName).map((f) => f.sha256);
      await this.run(`DELETE FROM files WHERE pipeline = $1 AND sha256 = ANY($2::VARCHAR[])`, [pipelineName, hashes]);
    }
    await this.copyRows(
      'files',
      ['pipeline', 'sha256', 'key', 'original_name', 'source', 'size', 'received_at', 'run_id', 'status'],
      files.map((f) => [
        f.pipeline,
        f.sha256,
        f.key,
        f.original_name,
        f.source,
        f.size,
        f.received_at.toISOString().replace('Z', ''),
        runId,
        f.status ?? 'loaded',
      ]),
    );
  }

  async query(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    const { rows } = await this.readers.query(sql, params as SqlParam[]);
    return rows as Row[];
  }

  async readOnlyQuery(sql: string, limits: SqlLimits): Promise<SqlAnswer> {
    if (this.readerProblem) {
      throw new SqlUnavailableError(
        `the read-only role of the SQL endpoint is not set up (${this.readerProblem}); create it with SELECT on the warehouse's tables and name its login in ECLUSE_WAREHOUSE_READER (see docs/security.md)`,
      );
    }
    return readOnlySelect(this.reader.config, this.reader.display, sql, limits);
  }

  async execute(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    return (await this.run(sql, params)).rowCount ?? 0;
  }

  dataVersion(): number {
    return this.version;
  }

  async ensureDataset(ds: Dataset): Promise<void> {
    await this.run(`SELECT pg_advisory_lock(hashtext('ecluse-ddl'))`);
    try {
      await this.run(createTableSql(ds, true));
    } finally {
      await this.run(`SELECT pg_advisory_unlock(hashtext('ecluse-ddl'))`);
    }
  }

  /**
   * A run's engine: a fresh connection on an in-memory DuckDB kept across runs (opening a DuckDB costs
   * tens of milliseconds, a connection almost nothing). Temporary objects go with the connection; if a run
   * leaves anything else in the catalog (tables, views, attached databases), the database is dropped and
   * the next run gets a new one, so every run starts from an empty engine as before. A second lease while
   * one is out (not the case of runs, one at a time per warehouse) gets a database of its own.
   */
  async openEngine(): Promise<EngineLease> {
    if (this.engineLeased) {
      const engine = await DuckSession.open(':memory:', { memoryLimit: this.memoryLimit });
      return { engine, release: async () => engine.close() };
    }
    this.engineLeased = true;
    try {
      this.engineBase ??= await DuckSession.open(':memory:', { memoryLimit: this.memoryLimit });
      const base = this.engineBase;
      const engine = await base.fork();
      return {
        engine,
        release: async () => {
          engine.close();
          try {
            const left = await base.scalar<number | bigint>(
              `SELECT (SELECT count(*) FROM duckdb_tables() WHERE NOT internal)
                    + (SELECT count(*) FROM duckdb_views() WHERE NOT internal)
                    + (SELECT count(*) FROM duckdb_databases() WHERE database_name NOT IN ('memory', 'system', 'temp'))`,
            );
            if (Number(left) > 0) this.dropEngine();
          } catch {
            this.dropEngine();
          } finally {
            this.engineLeased = false;
          }
        },
      };
    } catch (err) {
      this.engineLeased = false;
      throw err;
    }
  }

  private engineBase: DuckSession | null = null;
  private engineLeased = false;

  private dropEngine(): void {
    this.engineBase?.close();
    this.engineBase = null;
  }

  /**
   * Streams an engine query's rows into a PostgreSQL table through COPY (CSV: empty = NULL, `""` = ''). DuckDB
   * writes into a named pipe that PostgreSQL reads at the same time, so export and load overlap (a plain file
   * where named pipes are missing). Call inside a transaction: a failed export must roll back what was loaded.
   */
  private async copyFromEngine(table: string, columns: readonly string[], engine: DuckSession, select: string): Promise<number> {
    const writer = await this.liveWriter();
    return withScratchDir(async (dir) => {
      const path = join(dir, 'rows.csv');
      const copy = writer.query(copyFrom(`COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN (FORMAT csv)`));
      const exportSql = `COPY (${select}) TO ${literal(path)} (FORMAT csv, HEADER false, USE_TMP_FILE false)`;
      if (!makeFifo(path)) {
        await engine.run(exportSql);
        await pipeline(createReadStream(path), copy).catch((err: unknown) => {
          throw this.statementError(err);
        });
        return Number(copy.rowCount ?? 0);
      }
      const exporting = engine.run(exportSql).catch(async (err: unknown) => {
        // DuckDB may fail before opening the pipe: open it ourselves (without blocking) so the reader ends.
        await open(path, constants.O_WRONLY | constants.O_NONBLOCK)
          .then((fh) => fh.close())
          .catch(() => {});
        throw err;
      });
      const [exported, loaded] = await Promise.allSettled([exporting, pipeline(createReadStream(path), copy)]);
      if (loaded.status === 'rejected' && (isUniqueViolation(loaded.reason) || isConnectionLoss(loaded.reason))) throw this.statementError(loaded.reason);
      if (exported.status === 'rejected') throw exported.reason;
      if (loaded.status === 'rejected') throw loaded.reason;
      return Number(copy.rowCount ?? 0);
    });
  }

  /** COPY of rows held in memory (metadata: rejects, files). */
  private async copyRows(table: string, columns: readonly string[], rows: readonly (readonly CsvValue[])[]): Promise<void> {
    if (rows.length === 0) return;
    const copy = (await this.liveWriter()).query(copyFrom(`COPY ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN (FORMAT csv)`));
    await pipeline(
      Readable.from(
        (function* () {
          for (const r of rows) yield csvLine(r) + '\n';
        })(),
      ),
      copy,
    ).catch((err: unknown) => {
      throw this.statementError(err);
    });
  }

  /**
   * Optimistic first: COPY straight into the table, which is as fast as loading gets and succeeds whenever
   * all keys are new (a day's new reports). On a key conflict the attempt is rolled back to its savepoint and
   * the rows are merged: COPY into a temporary table, then `INSERT … ON CONFLICT DO NOTHING`.
   */
  async insertNew(ds: Dataset, engine: DuckSession, select: string): Promise<number> {
    return this.inTransaction ? this.insertNewInTransaction(ds, engine, select) : this.transaction(() => this.insertNewInTransaction(ds, engine, select));
  }

  private async insertNewInTransaction(ds: Dataset, engine: DuckSession, select: string): Promise<number> {
    const cols = columnNames(ds);
    await this.run('SAVEPOINT ecluse_direct_copy');
    try {
      const n = await this.copyFromEngine(ds.name, cols, engine, select);
      await this.run('RELEASE SAVEPOINT ecluse_direct_copy');
      return n;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      await this.run('ROLLBACK TO SAVEPOINT ecluse_direct_copy');
    }
    const temp = `incoming_${ds.name}`;
    await this.run(`DROP TABLE IF EXISTS ${quoteIdent(temp)}`);
    // No constraints on the temporary table: COPY at full speed, the key is enforced by the INSERT below.
    await this.run(`CREATE TEMP TABLE ${quoteIdent(temp)} (LIKE ${quoteIdent(ds.name)} INCLUDING DEFAULTS)`);
    try {
      await this.copyFromEngine(temp, cols, engine, select);
      const list = cols.map(quoteIdent).join(', ');
      const result = await this.run(
        `INSERT INTO ${quoteIdent(ds.name)} (${list}) SELECT ${list} FROM ${quoteIdent(temp)} ON CONFLICT (${ds.primaryKey.map(quoteIdent).join(', ')}) DO NOTHING`,
      );
      return result.rowCount ?? 0;
    } finally {
      await this.run(`DROP TABLE IF EXISTS ${quoteIdent(temp)}`);
    }
  }

  async appendFromEngine(table: string, columns: readonly string[], engine: DuckSession, select: string): Promise<number> {
    return this.inTransaction
      ? this.copyFromEngine(table, columns, engine, select)
      : this.transaction(() => this.copyFromEngine(table, columns, engine, select));
  }

  async upsert(ds: Dataset, rows: readonly (readonly SqlParam[])[]): Promise<void> {
    const cols = columnNames(ds);
    const update = cols.filter((c) => !ds.primaryKey.includes(c));
    // PostgreSQL takes at most 65535 parameters per statement.
    const perStatement = Math.max(1, Math.floor(60000 / cols.length));
    for (let i = 0; i < rows.length; i += perStatement) {
      const chunk = rows.slice(i, i + perStatement);
      const values = chunk.map((_, r) => `(${cols.map((__, c) => `$${r * cols.length + c + 1}`).join(', ')})`).join(', ');
      await this.run(
        `INSERT INTO ${quoteIdent(ds.name)} (${cols.map(quoteIdent).join(', ')}) VALUES ${values}
         ON CONFLICT (${ds.primaryKey.map(quoteIdent).join(', ')}) DO ${update.length ? `UPDATE SET ${update.map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`).join(', ')}` : 'NOTHING'}`,
        chunk.flat(),
      );
    }
  }

  apiTokens(): ApiTokenStore {
    return new ApiTokenStore(this.meta);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    // The transaction's id comes in the same round trip: if the answer to COMMIT is lost, the server is asked.
    const begun = (await this.run(`BEGIN; SELECT txid_current()::TEXT AS xid`)) as unknown as pg.QueryResult[];
    const xid = String(begun[1]?.rows[0]?.xid);
    this.inTransaction = true;
    try {
      const result = await fn();
      await this.commit(xid);
      this.version++;
      return result;
    } catch (err) {
      if (this.inTransaction) await this.run('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      this.inTransaction = false;
    }
  }

  /**
   * COMMIT; if the connection goes before its answer arrives, the server may have committed (it got the
   * COMMIT) or not: a new connection asks it (`txid_status`), so a committed run is not recorded as failed
   * with its files already counted as seen, nor a rolled-back one as succeeded.
   */
  private async commit(xid: string): Promise<void> {
    try {
      await this.run('COMMIT');
    } catch (err) {
      if (this.writerLost === null) throw err;
      this.inTransaction = false;
      const lost = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      const status = await this.run(`SELECT txid_status($1::BIGINT) AS status`, [xid]).then(
        (r) => (r.rows[0] as { status: string | null } | undefined)?.status ?? null,
        () => null,
      );
      if (status === 'committed') return;
      const outcome = status === 'aborted' ? 'it was rolled back, nothing of it was committed' : 'whether it committed is not known';
      throw new Error(`lost the connection to the PostgreSQL warehouse ${this.location} during COMMIT (${lost}): ${outcome}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dropEngine();
    await Promise.allSettled([this.writer.end(), this.listener.end(), this.readers.end()]);
  }
}

/** The URL with `schema=` added when it names none: the reader reads the warehouse's schema by default. */
function withSchema(url: string, schema: string | null): string {
  if (!schema) return url;
  const u = new URL(url);
  if (!u.searchParams.has('schema')) u.searchParams.set('schema', schema);
  return u.toString();
}

/** Connections tried after the run connection was lost, with a doubling pause from 200 ms (~3 s in all). */
const RECONNECT_ATTEMPTS = 5;

/**
 * The session is gone: the server shut it down (class 57P: admin shutdown, crash, cannot connect now), a
 * connection exception (class 08), or the socket closed under the client.
 */
function isConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (/^57P0[123]$/.test(code) || code.startsWith('08') || code === 'ECONNRESET' || code === 'EPIPE')) return true;
  return err instanceof Error && /^Connection terminated|Client has encountered a connection error|not queryable/.test(err.message);
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '23505';
}

/** A named pipe at `path`; false where the system has none (the caller then goes through a plain file). */
function makeFifo(path: string): boolean {
  try {
    execFileSync('mkfifo', [path], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
