import { Orchestrator } from '../orchestrator/orchestrator.js';
import type { Platform } from '../orchestrator/pipeline.js';
import { PIPELINES } from '../pipelines/index.js';
import { openWarehouse } from '../warehouse/open.js';

/**
 * The orchestrator of an in-process command. On PostgreSQL, parallel runs each get their own warehouse
 * connection; the embedded DuckDB file has one writer, so its runs go one at a time.
 */
export function localOrchestrator(platform: Platform): Orchestrator {
  return new Orchestrator(platform, PIPELINES, {
    openWarehouse: platform.warehouse.kind === 'postgres' ? () => openWarehouse(platform.config, { command: 'ecluse backfill' }) : undefined,
  });
}
