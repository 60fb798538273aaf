import { performance } from 'node:perf_hooks';
import type { RunCounts, RunSummary } from '../warehouse/metadata.js';
import type { Pipeline, Platform, ProgressEvent, RunRequest } from './pipeline.js';

const NO_COUNTS: RunCounts = { files: 0, files_skipped: 0, rows_read: 0, rows_written: 0, rows_rejected: 0, values_rejected: 0 };

/**
 * Runs a pipeline once: records the run, gives the pipeline its context, and records a failure if it
 * throws. Success is recorded by the pipeline itself, in the transaction that commits its data.
 */
export async function executeRun(
  platform: Platform,
  pipeline: Pipeline,
  request: RunRequest,
  progress: (e: ProgressEvent) => void = () => {},
): Promise<RunSummary> {
  const { warehouse } = platform;
  const runId = await warehouse.startRun(pipeline.name, request.partition ?? ((id) => `adhoc-${id}`), request.trigger);
  const steps: Record<string, number> = {};
  let committed = false;
  let lastCounts = NO_COUNTS;
  try {
    const lease = await warehouse.openEngine();
    try {
      await pipeline.run(
        {
          ...platform,
          runId,
          engine: lease.engine,
          progress,
          step: async (name, fn) => {
            const t0 = performance.now();
            try {
              return await fn();
            } finally {
              steps[name] = Math.round(performance.now() - t0);
            }
          },
          commitRun: async (counts) => {
            lastCounts = counts;
            await warehouse.finishRun(runId, 'succeeded', counts, steps);
            committed = true;
          },
        },
        request,
      );
    } finally {
      await lease.release();
    }
    if (!committed) throw new Error(`pipeline ${pipeline.name} returned without committing its run`);
    // The run committed inside its last step; record that step's time now that it is known.
    await warehouse.recordSteps(runId, steps).catch(() => {
      // Timings are informative; the run itself has committed.
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await warehouse.finishRun(runId, 'failed', committed ? lastCounts : NO_COUNTS, steps, message);
  }
  const run = await warehouse.getRun(runId);
  if (!run) throw new Error(`run ${runId} vanished from the runs table`);
  return summaryOf(run);
}

export function summaryOf(run: RunSummary): RunSummary {
  const { run_id, pipeline, status, partition, files, files_skipped, rows_read, rows_written, rows_rejected, values_rejected, duration_ms, error } = run;
  return { run_id, pipeline, status, partition, files, files_skipped, rows_read, rows_written, rows_rejected, values_rejected, duration_ms, error: error ?? null };
}

/** Drops a pipeline's staging and curated data, then rebuilds them from the raw zone alone. */
export async function rebuildPipeline(platform: Platform, pipeline: Pipeline, progress?: (e: ProgressEvent) => void): Promise<RunSummary> {
  await pipeline.reset(platform);
  return executeRun(platform, pipeline, { trigger: 'rebuild', partition: 'rebuild' }, progress);
}
