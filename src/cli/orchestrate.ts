import { Orchestrator } from '../orchestrator/orchestrator.js';
import type { Platform } from '../pipelines/kit/pipeline.js';
import { executionMode, RunQueue, type ExecutionMode } from '../orchestrator/queue.js';
import { PIPELINES } from '../pipelines/index.js';
import { openWarehouse } from '../warehouse/open.js';

/**
 * The orchestrator of an in-process command. On PostgreSQL, parallel runs each get their own warehouse
 * connection; the embedded DuckDB file has one writer, so its runs go one at a time.
 */
export function localOrchestrator(platform: Platform, runQueue?: RunQueue): Orchestrator {
  return new Orchestrator(platform, PIPELINES, {
    openWarehouse: platform.warehouse.kind === 'postgres' ? () => openWarehouse(platform.config, { command: 'ecluse backfill' }) : undefined,
    runQueue,
  });
}

/**
 * The orchestrator of a command that may hand partition runs to workers: through the PostgreSQL queue when
 * `ECLUSE_EXECUTION` (or, unset, `fallback`) says `queue`, in this process otherwise. `close` closes the queue.
 */
export async function openOrchestrator(platform: Platform, fallback: ExecutionMode): Promise<{ orchestrator: Orchestrator; close: () => Promise<void> }> {
  const mode = executionMode(platform.config.warehouse, process.env, fallback);
  const runQueue = mode === 'queue' ? await RunQueue.open(platform.config.warehouse) : undefined;
  return { orchestrator: localOrchestrator(platform, runQueue), close: async () => runQueue?.close() };
}
