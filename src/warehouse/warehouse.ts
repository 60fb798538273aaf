import type { DuckSession, Row } from '../engine/duckdb.js';
import type { Reject } from '../quality/rejects.js';
import type { ApiTokenStore } from './apiTokens.js';
import type { Dataset } from './dataset.js';
import type { RunCounts, RunLogLine, RunRecord, RunStatus } from './metadata.js';
import type { SqlAnswer, SqlLimits } from './readOnlySql.js';
import type { LockResult, RunLock } from './runLocks.js';

export type SqlParam = string | number | boolean | null;

export interface RunFilter {
  pipeline?: string;
  status?: RunStatus;
  /** Runs of exactly this partition (any kind: a day, a feed's month, an ad-hoc run). */
  partition?: string;
  /** Runs whose partition is a day from `from` to `to` (`YYYY-MM-DD`, both inclusive); ad-hoc runs are left out. */
  from?: string;
  to?: string;
  limit?: number;
  offset?: number;
}

export interface FileRecord {
  pipeline: string;
  sha256: string;
  key: string;
  original_name: string;
  source: string;
  size: number;
  received_at: Date;
  /**
   * `loaded` (the default): the file counts as seen from then on. `rejected`: it was rejected whole, so
   * it is not seen; its row keeps the history and the raw copy a later delivery of the same name reuses.
   */
  status?: FileStatus;
}

export type FileStatus = 'loaded' | 'rejected';

/** A `files` row (plain values: `received_at` an ISO UTC string) as a FileRecord. */
export function fileRecordOf(r: Record<string, unknown>): FileRecord {
  const received = String(r.received_at);
  return {
    pipeline: String(r.pipeline),
    sha256: String(r.sha256),
    key: String(r.key),
    original_name: String(r.original_name),
    source: String(r.source),
    size: Number(r.size),
    received_at: new Date(/Z$|[+-]\d\d:?\d\d$/.test(received) ? received : `${received}Z`),
    status: r.status === 'rejected' ? 'rejected' : 'loaded',
  };
}

export interface RejectRow extends Reject {
  run_id: number;
  pipeline: string;
}

/** Columns of the `rejects` table a run fills, in order (engine-side reject tables use the same layout). */
export const REJECT_COLUMNS = ['run_id', 'pipeline', 'file', 'sheet', 'row', 'field', 'value', 'reason', 'whole_record'] as const;

/** A DuckDB session for a run's engine work, and how to give it back. */
export interface EngineLease {
  engine: DuckSession;
  release(): Promise<void>;
}

/**
 * Serving and metadata storage: the embedded DuckDB file or PostgreSQL, one contract, one test suite.
 * Pipelines compute in a DuckDB engine session (`openEngine`) and move results in with `insertNew`,
 * `appendFromEngine` and `upsert`, which each warehouse does its own bulk way.
 */
export interface Warehouse {
  readonly kind: 'duckdb' | 'postgres';
  /** Where it is, for messages (a path, or a URL without password). */
  readonly location: string;
  /** Creates a run record (status `running`, committed at once so a crash leaves a trace). */
  startRun(pipeline: string, partition: string | ((runId: number) => string), trigger: string, attempt?: number): Promise<number>;
  /**
   * Records a run's outcome and answers with the run record as it then stands (the caller needs no read
   * back: the run record is every run's floor cost). Call inside the transaction that commits its data.
   */
  finishRun(runId: number, status: RunStatus, counts: RunCounts, steps: Record<string, number>, error?: string | null): Promise<RunRecord | null>;
  getRun(runId: number): Promise<RunRecord | null>;
  /**
   * Run locks and cancel requests (see runLocks.ts): committed at once, outside any run's transaction, so
   * other processes see them while a run works.
   */
  acquireRunLock(lock: RunLock, ttlMs: number): Promise<LockResult>;
  /** False when the lock is no longer ours (taken over after we stopped renewing it). */
  renewRunLock(lock: RunLock, ttlMs: number, runId?: number): Promise<boolean>;
  releaseRunLock(lock: RunLock): Promise<void>;
  /** Asks the process running this run to stop it; false when the run is not running. */
  requestCancel(runId: number): Promise<boolean>;
  cancelRequested(runId: number): Promise<boolean>;
  /** Stores per-run log lines in one statement, outside any run's transaction (a failed run keeps its logs). */
  insertRunLogs(lines: readonly RunLogLine[]): Promise<void>;
  /** Stores log lines in one statement on the run's connection: inside its transaction, they commit with it. */
  writeRunLogs(lines: readonly RunLogLine[]): Promise<void>;
  listRuns(filter?: RunFilter): Promise<{ items: RunRecord[]; total: number }>;
  listRejects(filter: { runId?: number; pipeline?: string; limit?: number; offset?: number }): Promise<{ items: RejectRow[]; total: number }>;
  insertRejects(runId: number, pipeline: string, rejects: readonly Reject[]): Promise<void>;
  /** Which of these hashes belong to files a committed run already loaded. */
  seenFiles(pipeline: string, hashes: readonly string[]): Promise<Set<string>>;
  /** Which of these hashes belong to files a committed run rejected whole, with their row (never seen ones). */
  rejectedFiles(pipeline: string, hashes: readonly string[]): Promise<Map<string, FileRecord>>;
  /** Records files of a run; a file's row replaces the row its hash had (rejected before, loaded now). */
  registerFiles(runId: number, files: readonly FileRecord[]): Promise<void>;
  /**
   * Rows of a query (`ecluse sql`, API reads), with positional parameters `$1`, `$2`… (the same syntax on
   * DuckDB and PostgreSQL). Values are plain: instants as ISO UTC strings, integers as numbers when safe.
   * Reads see committed data only, whatever transaction is open for a run.
   */
  query(sql: string, params?: readonly SqlParam[]): Promise<Row[]>;
  /**
   * A statement sent by a person (`POST /sql`, `ecluse sql`): one SELECT over the warehouse's tables, in a
   * read-only transaction that can reach nothing else (no file, setting, secret, other schema), stopped
   * after `limits.timeoutMs`, its rows read in chunks until a limit is met (see docs/security.md). Throws
   * SqlRefusedError for a statement outside these bounds, SqlTimeoutError when stopped.
   */
  readOnlyQuery(sql: string, limits: SqlLimits): Promise<SqlAnswer>;
  /** A statement in the run's connection (inside its transaction if one is open): portable SQL only. */
  execute(sql: string, params?: readonly SqlParam[]): Promise<number>;
  /**
   * A number that changes whenever a run commits, by this process or (on PostgreSQL) any other: the key
   * under which served responses may be cached.
   */
  dataVersion(): number;
  /** Creates the dataset's table if missing. */
  ensureDataset(ds: Dataset): Promise<void>;
  /** A DuckDB session for a run's engine work (the warehouse's own on DuckDB: nothing to copy). */
  openEngine(): Promise<EngineLease>;
  /**
   * Inserts the rows of an engine query (the dataset's columns, in order, keys unique among them) whose key
   * is not in the table yet; returns how many were inserted. First value wins.
   */
  insertNew(ds: Dataset, engine: DuckSession, select: string): Promise<number>;
  /** Appends the rows of an engine query to a table (columns in the given order). */
  appendFromEngine(table: string, columns: readonly string[], engine: DuckSession, select: string): Promise<number>;
  /** Inserts or replaces a few rows by key (reference data such as stations). */
  upsert(ds: Dataset, rows: readonly (readonly SqlParam[])[]): Promise<void>;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** The API's tokens (hashed), written outside any run's transaction. */
  apiTokens(): ApiTokenStore;
  close(): Promise<void>;
}
