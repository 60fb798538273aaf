import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { RunCounts, RunRecord, RunStatus, RunSummary } from '../warehouse/metadata.js';
import { RunLogBuffer } from '../observability/runLog.js';
import type { Pipeline, Platform, ProgressEvent, RunRequest } from '../pipelines/kit/pipeline.js';
import { resetPipeline } from '../pipelines/kit/reset.js';
import { assertLakeLayout } from '../pipelines/kit/monthPartitions.js';
import { createRunRejects } from '../quality/runRejects.js';

const NO_COUNTS: RunCounts = { files: 0, files_skipped: 0, rows_read: 0, rows_written: 0, rows_rejected: 0, values_rejected: 0 };

/** The abort reason of a cancelled run: the run ends `cancelled` (any other reason ends it `failed`). */
export class RunCancelledError extends Error {
  override name = 'RunCancelledError';
}

/** The abort reason of a run that exceeded its time. */
export class RunTimeoutError extends Error {
  override name = 'RunTimeoutError';
}

export interface ExecuteOptions {
  /** Aborts the run between steps (cancel: a RunCancelledError reason; timeout: any other). */
  signal?: AbortSignal;
  /** Which attempt at its partition this run is (recorded in `runs.attempt`). */
  attempt?: number;
  /** Called once the run is recorded, with its id (to find it for a cancel while it works). */
  onStart?: (runId: number) => void;
  /** Called with what made the run fail or stop (the orchestrator decides from it whether to retry). */
  onFailure?: (err: unknown) => void;
  /** Runs as this run, already recorded `running` (by the previous run of a backfill, see `next`, or by a worker's claim). */
  startedRunId?: number;
  /** The next run of a backfill, recorded in this run's committing transaction (see NextRunStart). */
  next?: NextRunStart;
}

/**
 * Group commit of run records: the `running` row of a backfill's next partition is written inside the
 * transaction that commits this run, so a run costs one commit instead of two (its own `running` row and
 * its data). The next run's row is committed before it does any work, so a crash still leaves its trace.
 */
export interface NextRunStart {
  /** Records the next run's `running` row on the run's connection, inside the committing transaction. */
  start(): Promise<void>;
  /** Whether the transaction that `start` wrote into committed (true), rolled back (false), or either (null). */
  settle(committed: boolean | null): void;
}

/**
 * Whether another attempt may succeed: not when the error says `retryable: false` (a pipeline's way to
 * say "misconfigured", e.g. nothing to read), nor when the run was cancelled.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof RunCancelledError) return false;
  return (err as { retryable?: unknown } | null)?.retryable !== false;
}

/**
 * Runs a pipeline once: records the run, gives the pipeline its context, and records a failure if it
 * throws. Success is recorded by the pipeline itself, in the transaction that commits its data.
 */
export async function executeRun(
  platform: Platform,
  pipeline: Pipeline,
  request: RunRequest,
  progress: (e: ProgressEvent) => void = () => {},
  options: ExecuteOptions = {},
): Promise<RunSummary> {
  const { warehouse } = platform;
  const runId =
    options.startedRunId ?? (await warehouse.startRun(pipeline.name, request.partition ?? ((id) => `adhoc-${id}`), request.trigger, options.attempt ?? 1));
  options.onStart?.(runId);
  const logs = new RunLogBuffer(runId, pipeline.name, request.partition ?? `adhoc-${runId}`, warehouse);
  logs.log.info({ trigger: request.trigger, attempt: options.attempt ?? 1, pid: process.pid, host: hostname() }, 'run started');
  try {
    return await executeLogged(platform, pipeline, request, progress, options, runId, logs);
  } finally {
    // Logs are informative: a failed store never changes the run's outcome.
    await logs.close().catch(() => {});
  }
}

async function executeLogged(
  platform: Platform,
  pipeline: Pipeline,
  request: RunRequest,
  progress: (e: ProgressEvent) => void,
  options: ExecuteOptions,
  runId: number,
  logs: RunLogBuffer,
): Promise<RunSummary> {
  const { warehouse } = platform;
  const signal = options.signal ?? new AbortController().signal;
  const steps: Record<string, number> = {};
  /** Steps in progress (they may nest), for the timings recorded with the commit. */
  const open = new Map<string, number>();
  let committed = false;
  /** The next run's row was written into this run's committing transaction. */
  let chained = false;
  let lastCounts = NO_COUNTS;
  /** The run record as the last `finishRun` (success, or the failure after it) left it. */
  let record: RunRecord | null = null;
  try {
    signal.throwIfAborted();
    const lease = await warehouse.openEngine();
    try {
      // Every run gathers its rejects afresh: the engine may be the warehouse's own, kept from run to run.
      await createRunRejects(lease.engine);
      // A rebuild rewrites the lake whatever layout it found; any other run must not mix layouts.
      if (request.trigger !== 'rebuild') await assertLakeLayout(platform.lake, pipeline);
      await pipeline.run(
        {
          ...platform,
          runId,
          engine: lease.engine,
          progress,
          signal,
          log: logs.log,
          step: async (name, fn) => {
            signal.throwIfAborted();
            const t0 = performance.now();
            open.set(name, t0);
            logs.log.info({ step: name }, `step ${name}`);
            try {
              return await fn();
            } finally {
              open.delete(name);
              steps[name] = Math.round(performance.now() - t0);
              await logs.maybeFlush().catch(() => {});
            }
          },
          commitRun: async (counts) => {
            // The last gate: throwing here rolls back the pipeline's transaction, so an aborted run commits nothing.
            signal.throwIfAborted();
            lastCounts = counts;
            // The steps are recorded with the commit (one write fewer per run): a step in progress counts
            // up to here, so the commit step's own time leaves out the COMMIT itself.
            const now = performance.now();
            const timings = { ...steps };
            for (const [name, t0] of open) timings[name] = Math.round(now - t0);
            record = await warehouse.finishRun(runId, 'succeeded', counts, timings);
            // The run's log lines commit with it (no insert of their own); put back if the commit fails.
            logs.log.info({ counts }, 'run succeeded');
            await logs.writeInTransaction();
            if (options.next) {
              await options.next.start();
              chained = true;
            }
            committed = true;
          },
        },
        request,
      );
    } finally {
      await lease.release();
    }
    if (!committed) throw new Error(`pipeline ${pipeline.name} returned without committing its run`);
    logs.committed();
    if (chained) options.next?.settle(true);
  } catch (err) {
    logs.rolledBack();
    // The pipeline failed after its commitRun: whether its transaction committed is not known here.
    if (chained) options.next?.settle(null);
    // A step's own error after an abort (a fetch stopped by the signal) is the abort's consequence.
    const cause: unknown = signal.aborted && !committed ? signal.reason : err;
    options.onFailure?.(cause);
    const status: RunStatus = cause instanceof RunCancelledError ? 'cancelled' : 'failed';
    const message = cause instanceof Error ? cause.message : String(cause);
    logs.log.error({ status }, `run ${status}: ${message}`);
    if (!committed) record = await warehouse.finishRun(runId, status, NO_COUNTS, steps, message);
    else record = await warehouse.finishRun(runId, 'failed', lastCounts, steps, message);
  }
  if (!record) throw new Error(`run ${runId} vanished from the runs table`);
  return summaryOf(record);
}

export function summaryOf(run: RunSummary): RunSummary {
  const {
    run_id,
    pipeline,
    status,
    partition,
    files,
    files_skipped,
    files_deferred,
    rows_read,
    rows_written,
    rows_rejected,
    values_rejected,
    duration_ms,
    error,
    warnings,
  } = run;
  return {
    run_id,
    pipeline,
    status,
    partition,
    files,
    files_skipped,
    files_deferred: files_deferred ?? 0,
    rows_read,
    rows_written,
    rows_rejected,
    values_rejected,
    duration_ms,
    error: error ?? null,
    warnings: warnings ?? [],
  };
}

/** Drops a pipeline's staging and curated data, then rebuilds them from the raw zone alone. */
export async function rebuildPipeline(
  platform: Platform,
  pipeline: Pipeline,
  progress?: (e: ProgressEvent) => void,
  options: ExecuteOptions = {},
): Promise<RunSummary> {
  await resetPipeline(platform, pipeline);
  return executeRun(platform, pipeline, { trigger: 'rebuild', partition: 'rebuild' }, progress, options);
}
