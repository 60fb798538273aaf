import { plainValue } from '../engine/duckdb.js';
import { quoteIdent } from './dataset.js';
import type { MetaSql } from './runLocks.js';

/**
 * Metadata tables every warehouse holds: what ran, which files were loaded, what was rejected, where sources
 * stand, where stream pipelines stand.
 */

/**
 * `queued`: waiting in the PostgreSQL job queue for a worker (its `started_at` is when it was queued until a
 * worker claims it). `cancelled`: stopped on request (`ecluse cancel`, `POST /runs/{id}/cancel`); never retried.
 */
export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const METADATA_DDL = [
  `CREATE SEQUENCE IF NOT EXISTS runs_seq START 1`,
  `CREATE TABLE IF NOT EXISTS runs (
    run_id BIGINT PRIMARY KEY,
    pipeline VARCHAR NOT NULL,
    partition VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    trigger VARCHAR NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    files INTEGER NOT NULL DEFAULT 0,
    files_skipped INTEGER NOT NULL DEFAULT 0,
    files_deferred INTEGER NOT NULL DEFAULT 0,
    rows_read BIGINT NOT NULL DEFAULT 0,
    rows_written BIGINT NOT NULL DEFAULT 0,
    rows_rejected BIGINT NOT NULL DEFAULT 0,
    values_rejected BIGINT NOT NULL DEFAULT 0,
    duration_ms BIGINT,
    error VARCHAR,
    pid INTEGER,
    host VARCHAR,
    steps JSON,
    cancel_requested BOOLEAN NOT NULL DEFAULT false,
    warnings JSON
  )`,
  // Warehouses created before cancellation existed.
  `ALTER TABLE runs ADD COLUMN IF NOT EXISTS cancel_requested BOOLEAN DEFAULT false`,
  // Warehouses created before runs said what they skipped (their runs read back with no warnings).
  `ALTER TABLE runs ADD COLUMN IF NOT EXISTS files_deferred INTEGER DEFAULT 0`,
  `ALTER TABLE runs ADD COLUMN IF NOT EXISTS warnings JSON`,
  // One active run per (pipeline, partition) on PostgreSQL: a row per held lock, with an expiry its holder
  // keeps pushing forward, so a crashed holder cannot keep it (see runLocks.ts; the embedded warehouse keeps
  // its locks in memory). Instants as epoch milliseconds: portable.
  `CREATE TABLE IF NOT EXISTS run_locks (
    pipeline VARCHAR NOT NULL,
    partition VARCHAR NOT NULL,
    owner VARCHAR NOT NULL,
    run_id BIGINT,
    pid INTEGER,
    host VARCHAR,
    acquired_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    PRIMARY KEY (pipeline, partition)
  )`,
  // Per-run log lines (observability/runLog.ts), stored in bulk outside the run's transaction.
  `CREATE TABLE IF NOT EXISTS run_logs (
    run_id BIGINT NOT NULL,
    seq INTEGER NOT NULL,
    logged_at TIMESTAMP NOT NULL,
    level VARCHAR NOT NULL,
    msg VARCHAR NOT NULL,
    data JSON
  )`,
  `CREATE INDEX IF NOT EXISTS run_logs_run ON run_logs (run_id)`,
  `CREATE TABLE IF NOT EXISTS files (
    pipeline VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    original_name VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    size BIGINT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    run_id BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    PRIMARY KEY (pipeline, sha256)
  )`,
  `CREATE TABLE IF NOT EXISTS rejects (
    run_id BIGINT NOT NULL,
    pipeline VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    sheet VARCHAR,
    "row" BIGINT,
    field VARCHAR,
    value VARCHAR,
    reason VARCHAR NOT NULL,
    whole_record BOOLEAN NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS cursors (
    pipeline VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    cursor VARCHAR NOT NULL,
    run_id BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (pipeline, source)
  )`,
  // Stream pipelines (orchestrator/streamPipeline.ts, streamTables.ts). Their positions are not `cursors`
  // rows: those name the run that committed them, and a stream has no run.
  `CREATE TABLE IF NOT EXISTS stream_positions (
    pipeline VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    position VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (pipeline, source)
  )`,
  // One row per stream pipeline, written by the process that holds it (its supervisor): who, in what
  // state, restarts so far, and until when the row holds without a heartbeat. Instants as epoch milliseconds.
  `CREATE TABLE IF NOT EXISTS stream_status (
    pipeline VARCHAR PRIMARY KEY,
    owner VARCHAR NOT NULL,
    state VARCHAR NOT NULL,
    restarts BIGINT NOT NULL DEFAULT 0,
    error VARCHAR,
    pid INTEGER,
    host VARCHAR,
    started_at_ms BIGINT NOT NULL,
    heartbeat_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
  )`,
  // The lag a stream pipeline last reported, per source (a topic partition, a replication slot).
  `CREATE TABLE IF NOT EXISTS stream_lag (
    pipeline VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    messages_behind BIGINT NOT NULL,
    seconds_behind DOUBLE PRECISION NOT NULL,
    reported_at_ms BIGINT NOT NULL,
    PRIMARY KEY (pipeline, source)
  )`,
];

export interface RunCounts {
  files: number;
  /** Files not processed: a committed run already loaded the same content. */
  files_skipped: number;
  /** Files offered and left for a later run (landing files still being written); 0 when absent. */
  files_deferred?: number;
  rows_read: number;
  rows_written: number;
  rows_rejected: number;
  values_rejected: number;
  /**
   * What a succeeded run did not do with what it was given, one sentence each (files rejected whole, files
   * not read, rows not written and why); empty when absent. The status stays `succeeded`.
   */
  warnings?: string[];
}

/** The run summary (README.md, "Concepts"), shared by the CLI (`--json`) and the API. */
export interface RunSummary extends RunCounts {
  files_deferred: number;
  warnings: string[];
  run_id: number;
  pipeline: string;
  status: RunStatus;
  partition: string;
  duration_ms: number | null;
  error?: string | null;
}

export interface RunRecord extends RunSummary {
  trigger: string;
  attempt: number;
  started_at: string;
  finished_at: string | null;
  pid: number | null;
  host: string | null;
  steps: Record<string, number> | null;
}

export const RUN_COLUMNS = `run_id, pipeline, status, partition, files, files_skipped, files_deferred, rows_read, rows_written, rows_rejected,
  values_rejected, duration_ms, error, warnings, trigger, attempt, started_at, finished_at, pid, host, steps`;

/** A JSON column's value: text in DuckDB, already parsed by pg. */
function jsonValue<T>(v: unknown): T | null {
  return typeof v === 'string' ? (JSON.parse(v) as T) : ((v as T | null | undefined) ?? null);
}

/** A `runs` row as a RunRecord (plain values; rows of runs recorded before warnings existed have none). */
export function toRunRecord(r: Record<string, unknown>): RunRecord {
  const p = plainValue(r) as Record<string, unknown>;
  return {
    ...(p as unknown as RunRecord),
    files_deferred: Number(p.files_deferred ?? 0),
    warnings: jsonValue<string[]>(p.warnings) ?? [],
    steps: jsonValue<Record<string, number>>(p.steps),
  };
}

/** A stored log line of a run (`run_logs`). */
export interface RunLogLine {
  run_id: number;
  seq: number;
  /** ISO instant. */
  at: string;
  level: string;
  msg: string;
  data: Record<string, unknown> | null;
}

/** One multi-row INSERT of log lines, `$n` parameters (the same SQL on DuckDB and PostgreSQL). */
export function runLogInsert(lines: readonly RunLogLine[]): { sql: string; params: (string | number | null)[] } {
  const params: (string | number | null)[] = [];
  const tuples = lines.map((l) => {
    const i = params.length;
    params.push(l.run_id, l.seq, l.at.replace('Z', ''), l.level, l.msg, l.data === null ? null : JSON.stringify(l.data));
    return `($${i + 1}, $${i + 2}, CAST($${i + 3} AS TIMESTAMP), $${i + 4}, $${i + 5}, CAST($${i + 6} AS JSON))`;
  });
  return { sql: `INSERT INTO run_logs (run_id, seq, logged_at, level, msg, data) VALUES ${tuples.join(', ')}`, params };
}

/** Stores log lines through `db`, the warehouse's autocommitting connection (appends never conflict). */
export async function insertRunLogs(db: MetaSql, lines: readonly RunLogLine[]): Promise<void> {
  if (lines.length === 0) return;
  const { sql, params } = runLogInsert(lines);
  await db.exec(sql, params);
}

/** Flags a running run for cancellation; false when it is not running. */
export async function requestCancel(db: MetaSql, runId: number): Promise<boolean> {
  return (await db.exec(`UPDATE runs SET cancel_requested = true WHERE run_id = $1 AND status = 'running'`, [runId])) === 1;
}

export async function cancelRequested(db: MetaSql, runId: number): Promise<boolean> {
  const rows = await db.rows(`SELECT cancel_requested FROM runs WHERE run_id = $1`, [runId]);
  return rows[0]?.cancel_requested === true;
}

/**
 * `WHERE a = $1 AND b = $2` from the conditions that are set; `days` bound a partition that is a day
 * (ad-hoc partitions are then left out).
 */
export function listFilter(
  pairs: ReadonlyArray<readonly [string, string | number | undefined]>,
  days: ReadonlyArray<readonly [string, '>=' | '<=', string | undefined]> = [],
): { where: string; params: (string | number)[] } {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  for (const [col, value] of pairs) {
    if (value === undefined || value === '') continue;
    params.push(value);
    parts.push(`${quoteIdent(col)} = $${params.length}`);
  }
  const bounds = days.filter(([, , v]) => v !== undefined && v !== '');
  if (bounds.length) parts.push(`${quoteIdent(bounds[0]![0])} LIKE '____-__-__'`);
  for (const [col, op, value] of bounds) {
    params.push(value as string);
    parts.push(`${quoteIdent(col)} ${op} $${params.length}`);
  }
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}
