import type { Reject } from '../quality/rejects.js';
import type { Row } from '../engine/duckdb.js';

export type SqlParam = string | number | boolean | null;
import type { RunCounts, RunRecord, RunStatus } from './metadata.js';

export interface RunFilter {
  pipeline?: string;
  status?: RunStatus;
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
}

export interface RejectRow extends Reject {
  run_id: number;
  pipeline: string;
}

/**
 * Serving and metadata storage. The embedded DuckDB file implements it now; PostgreSQL will implement
 * the same contract. Pipelines' own tables are loaded through the engine (see each pipeline).
 */
export interface Warehouse {
  readonly kind: 'duckdb';
  readonly location: string;
  /** Creates a run record (status `running`, committed at once so a crash leaves a trace). */
  startRun(pipeline: string, partition: string | ((runId: number) => string), trigger: string): Promise<number>;
  /** Records a run's outcome. Call inside the transaction that commits its data. */
  finishRun(runId: number, status: RunStatus, counts: RunCounts, steps: Record<string, number>, error?: string | null): Promise<void>;
  /** Per-step timings, known only once the last step (which commits the run) has ended. */
  recordSteps(runId: number, steps: Record<string, number>): Promise<void>;
  getRun(runId: number): Promise<RunRecord | null>;
  listRuns(filter?: RunFilter): Promise<{ items: RunRecord[]; total: number }>;
  listRejects(filter: { runId?: number; pipeline?: string; limit?: number; offset?: number }): Promise<{ items: RejectRow[]; total: number }>;
  insertRejects(runId: number, pipeline: string, rejects: readonly Reject[]): Promise<void>;
  /** Which of these hashes belong to files a committed run already loaded. */
  seenFiles(pipeline: string, hashes: readonly string[]): Promise<Set<string>>;
  registerFiles(runId: number, files: readonly FileRecord[]): Promise<void>;
  /**
   * Rows of a query (`ecluse sql`, API reads), with positional parameters `$1`, `$2`… (the same syntax on
   * DuckDB and PostgreSQL). Values are plain: instants as ISO UTC strings, integers as numbers when safe.
   */
  query(sql: string, params?: readonly SqlParam[]): Promise<Row[]>;
  /**
   * A number that changes whenever a run commits, by this process or (on PostgreSQL) any other: the key
   * under which served responses may be cached.
   */
  dataVersion(): number;
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
