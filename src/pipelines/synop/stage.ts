/**
 * The synop run's first engine step: the run's files read into the engine's `run_obs` (one row per key),
 * with the rejects and counters of the run summary.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunContext } from '../../orchestrator/pipeline.js';
import type { PendingFile } from '../../orchestrator/rawInputs.js';
import type { Reject } from '../../quality/rejects.js';
import { collectRunObservations, createRunTables, loadBatchFile, SynopCsvSink } from './load.js';
import { readSynopPath } from './readers.js';
import { readSynopFileSql, SQL_READ_MIN_BYTES, sqlReadKind } from './duckdbRead.js';
import { extensionOf } from '../../lake/raw.js';

/** Which reader takes a file: the SQL path for large JSONL/CSV, TypeScript for the rest (and as fallback). */
export type ReadPath = 'auto' | 'sql' | 'typescript';

/** What staging the run's files produced, besides `run_obs` in the engine. */
export interface StagedFiles {
  rejects: readonly Reject[];
  rowsRead: number;
  rowsRejected: number;
  filesRejected: number;
  valuesRejected: number;
}

/**
 * Reads the run's files into the engine. Runs before the warehouse transaction: a statement failing inside
 * one would abort everything.
 */
export async function stageFiles(ctx: RunContext, pending: readonly PendingFile[], scratch: string, path: ReadPath = 'auto'): Promise<StagedFiles> {
  const s = ctx.engine;
  // Under a configured memory_limit the batch is a database file in the scratch folder, evictable.
  await createRunTables(s, ctx.config.duckdbMemoryLimit ? scratch : undefined);
  const out = new SynopCsvSink(join(scratch, 'batch.csv'));
  try {
    for (const [i, f] of pending.entries()) {
      ctx.progress({ step: 'stage', done: i, total: pending.length, item: f.raw.originalName });
      const kind = sqlReadKind(extensionOf(f.raw.originalName));
      if (kind && path !== 'typescript' && (path === 'sql' || (await stat(f.path)).size >= SQL_READ_MIN_BYTES)) {
        const r = await readSynopFileSql(s, f.raw.originalName, f.path, kind, i, out);
        if (r.read) continue;
        // r.reason says why (CR line ends, many bad lines, …): the TypeScript reader gives the same result.
      }
      out.startFile(i);
      // The TypeScript reader holds the whole file in memory (small files, JSON, fallbacks); a ZIP, one entry at a time.
      await readSynopPath(f.raw.originalName, f.path, out, { zip: { limits: ctx.config.zipLimits, scratch } });
    }
  } finally {
    out.close();
  }
  if (out.csvRows > 0) await loadBatchFile(s, out.path);
  await collectRunObservations(s);
  ctx.progress({ step: 'stage', done: pending.length, total: pending.length });
  return out;
}
