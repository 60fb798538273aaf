import { hostname } from 'node:os';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DatabaseBusyError, DuckSession, isoUtc, plainValue, timestampValue, type Row } from '../engine/duckdb.js';
import { bulkInsert } from '../engine/bulk.js';
import type { Reject } from '../quality/rejects.js';
import {
  cancelRequested,
  insertRunLogs,
  listFilter,
  METADATA_DDL,
  requestCancel,
  RUN_COLUMNS,
  runLogInsert,
  toRunRecord as toRun,
  type RunCounts,
  type RunLogLine,
  type RunRecord,
  type RunStatus,
} from './metadata.js';
import { MemoryRunLocks, type LockResult, type MetaSql, type RunLock } from './runLocks.js';
import { API_TOKENS_DDL, ApiTokenStore } from './apiTokens.js';
import { fileRecordOf, type EngineLease, type FileRecord, type RejectRow, type RunFilter, type SqlParam, type Warehouse } from './warehouse.js';
import { columnNames, createTableSql, quoteIdent, type Dataset } from './dataset.js';
import { checkReadOnlySelect } from './duckdbSelectCheck.js';
import { AnswerCollector, SqlTimeoutError, type SqlAnswer, type SqlLimits } from './readOnlySql.js';

/** Raised when the warehouse is held by another process; the CLI exits with code 2 on it. */
export class WarehouseBusyError extends Error {
  override name = 'WarehouseBusyError';
}

interface LockInfo {
  pid: number;
  command: string;
  started_at: string;
}

function lockInfoPath(path: string): string {
  return `${path}.holder.json`;
}

interface RunStart {
  pipeline: string;
  partition: string;
  trigger: string;
  attempt: number;
  startedAt: Date;
  pid: number;
  host: string;
}

/** The start of the last few runs, by id (runs on one file are few at a time: a small bound is plenty). */
class RecentStarts {
  private readonly starts = new Map<number, RunStart>();

  remember(runId: number, start: RunStart): void {
    this.starts.set(runId, start);
    if (this.starts.size > 64) this.starts.delete(this.starts.keys().next().value as number);
  }

  get(runId: number): RunStart | undefined {
    return this.starts.get(runId);
  }
}

/** A row as the contract wants it (see plainValue), DATE columns as `YYYY-MM-DD`. */
function plainRow(row: Record<string, unknown>, dates: readonly string[]): Row {
  const out = plainValue(row) as Row;
  for (const c of dates) {
    const v = row[c];
    if (v instanceof Date) out[c] = v.toISOString().slice(0, 10);
  }
  return out;
}

/** The embedded warehouse: one DuckDB file, one writer process at a time. */
export class DuckDBWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;
  private version = 0;
  /** Run locks live in this process: DuckDB admits one process per file (see MemoryRunLocks). */
  private readonly locks: MemoryRunLocks = new MemoryRunLocks();
  /**
   * The warehouse that opened the file; a connection made by `connection()` shares its commit count (so
   * caches follow that connection's commits too) and its run locks.
   */
  private root: DuckDBWarehouse = this;
  /** What `startRun` wrote of the latest runs, so that `finishRun` answers their record without reading it back. */
  private readonly started = new RecentStarts();

  private constructor(
    readonly location: string,
    /** The run's connection: writes, and the engine work of runs (temp tables live here). */
    readonly session: DuckSession,
    /** Reads for `query()`: committed data only, so an API read never enters a run's transaction. */
    private readonly reader: DuckSession,
  ) {}

  /**
   * Opens the file, creating the metadata tables. A run left `running` can only belong to a dead process
   * (DuckDB lets one process write), so it is marked failed here.
   */
  static async open(path: string, options: { memoryLimit?: string; command?: string } = {}): Promise<DuckDBWarehouse> {
    await mkdir(dirname(path), { recursive: true });
    let session: DuckSession;
    try {
      session = await DuckSession.open(path, { memoryLimit: options.memoryLimit });
    } catch (err) {
      if (err instanceof DatabaseBusyError) {
        let holder = err.holderPid !== null ? `process ${err.holderPid}` : 'another process';
        try {
          const info = JSON.parse(await readFile(lockInfoPath(path), 'utf8')) as LockInfo;
          if (info.pid === err.holderPid) holder = `process ${info.pid} (\`${info.command}\`, since ${info.started_at})`;
        } catch {
          // No holder note: the PID from DuckDB is all we know.
        }
        throw new WarehouseBusyError(`the warehouse ${path} is in use by ${holder}; wait for it to finish or stop it`);
      }
      throw err;
    }
    const info: LockInfo = { pid: process.pid, command: options.command ?? process.argv.slice(1).join(' '), started_at: new Date().toISOString() };
    await writeFile(lockInfoPath(path), JSON.stringify(info));
    const wh = new DuckDBWarehouse(path, session, await session.fork());
    for (const ddl of [...METADATA_DDL, ...API_TOKENS_DDL]) await session.run(ddl);
    await session.run(
      `UPDATE runs SET status = 'failed', finished_at = now()::TIMESTAMP,
         error = 'the process running it (pid ' || coalesce(pid::VARCHAR, '?') || ') stopped before it finished'
       WHERE status = 'running'`,
    );
    return wh;
  }

  /**
   * Another connection to the same file, for a writer that works beside the runs (a stream pipeline): its
   * transactions are its own, isolated from a run's on this one (DuckDB's MVCC within one process).
   * Closing it closes that connection only.
   */
  async connection(): Promise<DuckDBWarehouse> {
    const wh = new DuckDBWarehouse(this.location, await this.session.fork(), await this.session.fork());
    wh.root = this.root;
    return wh;
  }

  async startRun(pipeline: string, partition: string | ((runId: number) => string), trigger: string, attempt = 1): Promise<number> {
    const startedAt = new Date();
    const started = timestampValue(startedAt);
    let id: number;
    let part: string;
    if (typeof partition === 'string') {
      // One statement when the partition is known: run records are the floor of every run's cost.
      const [row] = await this.session.preparedRows<{ run_id: bigint }>(
        `INSERT INTO runs (run_id, pipeline, partition, status, trigger, attempt, started_at, pid, host)
         VALUES (nextval('runs_seq'), $1, $2, 'running', $3, $4, $5::TIMESTAMP, $6, $7) RETURNING run_id`,
        [pipeline, partition, trigger, attempt, started, process.pid, hostname()],
      );
      id = Number(row?.run_id);
      part = partition;
    } else {
      id = Number(await this.session.scalar<bigint>(`SELECT nextval('runs_seq')`));
      part = partition(id);
      await this.session.prepared(
        `INSERT INTO runs (run_id, pipeline, partition, status, trigger, attempt, started_at, pid, host)
         VALUES ($1, $2, $3, 'running', $4, $5, $6::TIMESTAMP, $7, $8)`,
        [id, pipeline, part, trigger, attempt, started, process.pid, hostname()],
      );
    }
    this.started.remember(id, { pipeline, partition: part, trigger, attempt, startedAt, pid: process.pid, host: hostname() });
    return id;
  }

  async finishRun(runId: number, status: RunStatus, c: RunCounts, steps: Record<string, number>, error: string | null = null): Promise<RunRecord | null> {
    const finishedAt = new Date();
    const stepsJson = JSON.stringify(steps);
    const result = await this.session.prepared(
      // now() is the transaction's start in DuckDB: the finishing instant comes from the clock.
      `UPDATE runs SET status = $2, finished_at = $3::TIMESTAMP,
         duration_ms = epoch_ms($3::TIMESTAMP) - epoch_ms(started_at),
         files = $4, files_skipped = $5, rows_read = $6, rows_written = $7,
         rows_rejected = $8, values_rejected = $9, error = $10, steps = $11,
         files_deferred = $12, warnings = $13
       WHERE run_id = $1`,
      [
        runId,
        status,
        timestampValue(finishedAt),
        c.files,
        c.files_skipped,
        c.rows_read,
        c.rows_written,
        c.rows_rejected,
        c.values_rejected,
        error,
        stepsJson,
        c.files_deferred ?? 0,
        JSON.stringify(c.warnings ?? []),
      ],
    );
    if (result.rowsChanged === 0) return null;
    // The record is what this statement and the run's start wrote: no read back (a SELECT by key costs as
    // much as the UPDATE on DuckDB, and RETURNING more). A run started by another connection is read.
    const start = this.started.get(runId);
    if (!start) return this.getRun(runId);
    return {
      run_id: runId,
      pipeline: start.pipeline,
      status,
      partition: start.partition,
      files: c.files,
      files_skipped: c.files_skipped,
      files_deferred: c.files_deferred ?? 0,
      rows_read: c.rows_read,
      rows_written: c.rows_written,
      rows_rejected: c.rows_rejected,
      values_rejected: c.values_rejected,
      duration_ms: finishedAt.getTime() - start.startedAt.getTime(),
      error,
      warnings: [...(c.warnings ?? [])],
      trigger: start.trigger,
      attempt: start.attempt,
      started_at: isoUtc(start.startedAt),
      finished_at: isoUtc(finishedAt),
      pid: start.pid,
      host: start.host,
      steps: JSON.parse(stepsJson) as Record<string, number>,
    };
  }

  async getRun(runId: number): Promise<RunRecord | null> {
    const rows = await this.session.preparedRows(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId]);
    return rows[0] ? toRun(rows[0]) : null;
  }

  async listRuns(filter: RunFilter = {}): Promise<{ items: RunRecord[]; total: number }> {
    const { where: w, params } = listFilter(
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
    const total = Number(await this.session.scalar<bigint>(`SELECT count(*) FROM runs ${w}`, params));
    const rows = await this.session.rows(
      `SELECT ${RUN_COLUMNS} FROM runs ${w} ORDER BY run_id DESC LIMIT ${Math.trunc(filter.limit ?? 1000)} OFFSET ${Math.trunc(filter.offset ?? 0)}`,
      params,
    );
    return { items: rows.map(toRun), total };
  }

  /** The reader connection autocommits: cancel requests never wait for a run's transaction. */
  private get meta(): MetaSql {
    return {
      exec: async (sql, params) => (await this.reader.prepared(sql, [...params])).rowsChanged,
      rows: (sql, params) => this.reader.plainRows(sql, [...params]),
    };
  }

  async acquireRunLock(lock: RunLock, ttlMs: number): Promise<LockResult> {
    return this.root.locks.acquire(lock, ttlMs);
  }

  async renewRunLock(lock: RunLock, ttlMs: number, runId?: number): Promise<boolean> {
    return this.root.locks.renew(lock, ttlMs, runId ?? null);
  }

  async releaseRunLock(lock: RunLock): Promise<void> {
    this.root.locks.release(lock);
  }

  /** Through the autocommitting connection: outside the run's transaction. */
  insertRunLogs(lines: readonly RunLogLine[]): Promise<void> {
    return insertRunLogs(this.meta, lines);
  }

  async writeRunLogs(lines: readonly RunLogLine[]): Promise<void> {
    if (lines.length === 0) return;
    const { sql, params } = runLogInsert(lines);
    await this.session.prepared(sql, params);
  }

  requestCancel(runId: number): Promise<boolean> {
    return requestCancel(this.meta, runId);
  }

  cancelRequested(runId: number): Promise<boolean> {
    return cancelRequested(this.meta, runId);
  }

  async listRejects(filter: { runId?: number; pipeline?: string; limit?: number; offset?: number }): Promise<{ items: RejectRow[]; total: number }> {
    const { where: w, params } = listFilter([
      ['run_id', filter.runId],
      ['pipeline', filter.pipeline],
    ]);
    const total = Number(await this.session.scalar<bigint>(`SELECT count(*) FROM rejects ${w}`, params));
    const rows = await this.session.plainRows(
      `SELECT run_id, pipeline, file, sheet, "row", field, value, reason, whole_record FROM rejects ${w}
       ORDER BY run_id DESC, rowid LIMIT ${Math.trunc(filter.limit ?? 1000)} OFFSET ${Math.trunc(filter.offset ?? 0)}`,
      params,
    );
    return { items: rows as unknown as RejectRow[], total };
  }

  async insertRejects(runId: number, pipeline: string, rejects: readonly Reject[]): Promise<void> {
    await bulkInsert(
      this.session,
      'rejects',
      [
        ['run_id', 'BIGINT'],
        ['pipeline', 'VARCHAR'],
        ['file', 'VARCHAR'],
        ['sheet', 'VARCHAR'],
        ['row', 'BIGINT'],
        ['field', 'VARCHAR'],
        ['value', 'VARCHAR'],
        ['reason', 'VARCHAR'],
        ['whole_record', 'BOOLEAN'],
      ],
      rejects.map((r) => [runId, pipeline, r.file, r.sheet, r.row, r.field, r.value, r.reason, r.whole_record]),
    );
  }

  async seenFiles(pipeline: string, hashes: readonly string[]): Promise<Set<string>> {
    if (hashes.length === 0) return new Set();
    const rows = await this.session.rows<{ sha256: string }>(
      `SELECT sha256 FROM files WHERE pipeline = $pipeline AND status = 'loaded' AND list_contains($hashes::VARCHAR[], sha256)`,
      { pipeline, hashes: `[${hashes.map((h) => `"${h}"`).join(',')}]` },
    );
    return new Set(rows.map((r) => r.sha256));
  }

  async rejectedFiles(pipeline: string, hashes: readonly string[]): Promise<Map<string, FileRecord>> {
    if (hashes.length === 0) return new Map();
    const rows = await this.session.plainRows(
      `SELECT pipeline, sha256, key, original_name, source, size, received_at, status FROM files
       WHERE pipeline = $1 AND status = 'rejected' AND list_contains($2::VARCHAR[], sha256)`,
      [pipeline, `[${hashes.map((h) => `"${h}"`).join(',')}]`],
    );
    return new Map(rows.map((r) => [String(r.sha256), fileRecordOf(r)]));
  }

  async registerFiles(runId: number, files: readonly FileRecord[]): Promise<void> {
    if (files.length === 0) return;
    for (const pipeline of new Set(files.map((f) => f.pipeline))) {
      const hashes = files.filter((f) => f.pipeline === pipeline).map((f) => `"${f.sha256}"`);
      await this.session.run(`DELETE FROM files WHERE pipeline = $pipeline AND list_contains($hashes::VARCHAR[], sha256)`, {
        pipeline,
        hashes: `[${hashes.join(',')}]`,
      });
    }
    await bulkInsert(
      this.session,
      'files',
      [
        ['pipeline', 'VARCHAR'],
        ['sha256', 'VARCHAR'],
        ['key', 'VARCHAR'],
        ['original_name', 'VARCHAR'],
        ['source', 'VARCHAR'],
        ['size', 'BIGINT'],
        ['received_at', 'TIMESTAMP'],
        ['run_id', 'BIGINT'],
        ['status', 'VARCHAR'],
      ],
      files.map((f) => [f.pipeline, f.sha256, f.key, f.original_name, f.source, f.size, timestampValue(f.received_at), runId, f.status ?? 'loaded']),
    );
  }

  async query(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return this.reader.plainRows(sql, params.length ? [...params] : undefined);
  }

  /**
   * On a connection of its own, opened for this statement and closed after: an interrupt stops this
   * statement alone, and its read-only transaction ends with it. The statement is checked before it runs
   * (checkReadOnlySelect), since the instance's settings cannot fence one connection in.
   */
  async readOnlyQuery(sql: string, limits: SqlLimits): Promise<SqlAnswer> {
    const reader = await this.session.fork();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reader.connection.interrupt();
    }, limits.timeoutMs);
    try {
      await reader.run('BEGIN TRANSACTION READ ONLY');
      await checkReadOnlySelect(reader, sql);
      // Streamed: DuckDB computes the rows chunk by chunk as they are fetched, and fetching stops at the limits.
      const result = await reader.connection.stream(sql);
      const columns = result.deduplicatedColumnNames();
      const dates = columns.filter((_, i) => String(result.columnType(i)) === 'DATE');
      const answer = new AnswerCollector(columns, limits);
      for await (const rows of result.yieldRowObjectJs()) {
        for (const row of rows) if (!answer.add(plainRow(row, dates))) break;
        if (answer.full || timedOut) break;
      }
      if (timedOut) throw new SqlTimeoutError(limits.timeoutMs);
      return answer.answer();
    } catch (err) {
      if (timedOut) throw new SqlTimeoutError(limits.timeoutMs);
      throw err;
    } finally {
      clearTimeout(timer);
      await reader.run('ROLLBACK').catch(() => {});
      reader.close();
    }
  }

  async execute(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    return (await this.session.connection.run(sql, params.length ? [...params] : undefined)).rowsChanged;
  }

  async ensureDataset(ds: Dataset): Promise<void> {
    await this.session.run(createTableSql(ds, false));
  }

  async openEngine(): Promise<EngineLease> {
    return { engine: this.session, release: async () => {} };
  }

  private requireOwnEngine(engine: DuckSession): void {
    // Engine results are temp tables of this connection; another session's tables are out of reach.
    if (engine !== this.session) throw new Error('the DuckDB warehouse takes data only from its own engine session (openEngine)');
  }

  async insertNew(ds: Dataset, engine: DuckSession, select: string): Promise<number> {
    this.requireOwnEngine(engine);
    const cols = columnNames(ds).map(quoteIdent).join(', ');
    const on = ds.primaryKey.map((k) => `t.${quoteIdent(k)} = n.${quoteIdent(k)}`).join(' AND ');
    const result = await this.session.connection.run(
      `INSERT INTO ${quoteIdent(ds.name)} (${cols}) SELECT n.* FROM (${select}) n ANTI JOIN ${quoteIdent(ds.name)} t ON ${on}`,
    );
    return result.rowsChanged;
  }

  async appendFromEngine(table: string, columns: readonly string[], engine: DuckSession, select: string): Promise<number> {
    this.requireOwnEngine(engine);
    const result = await this.session.connection.run(`INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) ${select}`);
    return result.rowsChanged;
  }

  async upsert(ds: Dataset, rows: readonly (readonly SqlParam[])[]): Promise<void> {
    if (rows.length === 0) return;
    const keyIdx = ds.primaryKey.map((k) => columnNames(ds).indexOf(k));
    const keys = rows.map((r) => keyIdx.map((i) => r[i] ?? null));
    // No key constraint in DuckDB tables (see createTableSql): replace = delete the keys, then insert.
    const where = keys.map((_, n) => `(${ds.primaryKey.map((k, j) => `${quoteIdent(k)} = $${n * keyIdx.length + j + 1}`).join(' AND ')})`).join(' OR ');
    await this.session.run(`DELETE FROM ${quoteIdent(ds.name)} WHERE ${where}`, keys.flat());
    await bulkInsert(this.session, ds.name, ds.columns, rows);
  }

  dataVersion(): number {
    return this.root.version;
  }

  apiTokens(): ApiTokenStore {
    return new ApiTokenStore(this.meta);
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    const result = await this.session.transaction(fn);
    // Only this process writes the file, so counting its own commits is enough to invalidate caches.
    this.root.version++;
    return result;
  }

  async close(): Promise<void> {
    if (this.root !== this) {
      this.reader.close();
      this.session.close();
      return;
    }
    try {
      // CHECKPOINT folds the WAL into the file so the next open is fast and the file stands alone.
      await this.session.run('CHECKPOINT');
    } catch {
      // A failed checkpoint leaves the WAL, which DuckDB replays on the next open.
    }
    this.reader.close();
    this.session.close();
    await rm(lockInfoPath(this.location), { force: true });
  }
}
