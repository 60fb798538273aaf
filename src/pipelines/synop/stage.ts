/**
 * The synop run's first engine step: the run's files read into the engine's `run_obs` (one row per key),
 * with the rejects and counters of the run summary.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunContext } from '../kit/pipeline.js';
import type { PendingFile } from '../kit/rawInputs.js';
import type { StagedFiles } from '../kit/fileBatch.js';
import { collectRunObservations, createRunTables, hasStationKey, loadBatchFile, SYNOP_BATCH, SynopCsvSink } from './load.js';
import { SynopRejectKeeper, type SynopObservation } from './batch.js';
import { rejectedWholeFiles } from '../kit/rawInputs.js';
import { readSynopPath } from './readers.js';
import type { ZipReadOptions } from '../../engine/readers/zip.js';
import { readSynopFileSql, SQL_READ_MIN_BYTES, sqlReadKind } from './duckdbRead.js';
import { extensionOf } from '../../lake/raw.js';

/** Which reader takes a file: the SQL path for large JSONL/CSV, TypeScript for the rest (and as fallback). */
export type ReadPath = 'auto' | 'sql' | 'typescript';

/**
 * Reads the run's files into the engine. Runs before the warehouse transaction: a statement failing inside
 * one would abort everything.
 */
export async function stageFiles(ctx: RunContext, pending: readonly PendingFile[], scratch: string, path: ReadPath = 'auto'): Promise<StagedFiles> {
  const s = ctx.engine;
  // Under a configured memory_limit the batch is a database file in the scratch folder, evictable.
  await createRunTables(s, ctx.config.duckdbMemoryLimit ? scratch : undefined);
  const out = new SynopCsvSink(join(scratch, 'batch.csv'));
  /** Per file, records and file-level problems rejected whole (both read paths report them to `out`). */
  const whole: number[] = [];
  const wholeSoFar = () => out.rowsRejected + out.filesRejected;
  try {
    for (const [i, f] of pending.entries()) {
      ctx.progress({ step: 'stage', done: i, total: pending.length, item: f.raw.originalName });
      const before = wholeSoFar();
      await stageOne(f, i);
      whole[i] = wholeSoFar() - before;
    }
  } finally {
    out.close();
  }
  if (out.csvRows > 0) await loadBatchFile(s, out.path);
  const staged = new Map(
    (await s.rows<{ file_seq: number; n: bigint }>(`SELECT file_seq, count(*) AS n FROM ${SYNOP_BATCH} GROUP BY file_seq`)).map((r) => [
      Number(r.file_seq),
      Number(r.n),
    ]),
  );
  await collectRunObservations(s);
  ctx.progress({ step: 'stage', done: pending.length, total: pending.length });
  return {
    rejects: out.rejects,
    rejectedWhole: rejectedWholeFiles(
      pending.length,
      (i) => staged.get(i) ?? 0,
      (i) => whole[i] ?? 0,
    ),
    rowsRead: out.rowsRead,
    recordsRejected: out.rowsRejected,
    filesRejected: out.filesRejected,
    valuesRejected: out.valuesRejected,
  };

  async function stageOne(f: PendingFile, i: number): Promise<void> {
    const kind = sqlReadKind(extensionOf(f.raw.originalName));
    if (kind && path !== 'typescript' && (path === 'sql' || (await stat(f.path)).size >= SQL_READ_MIN_BYTES)) {
      const r = await readSynopFileSql(s, f.raw.originalName, f.path, kind, i, out);
      if (r.read) return;
      // r.reason says why (CR line ends, many bad lines, …): the TypeScript reader gives the same result.
    }
    out.startFile(i);
    // The TypeScript reader holds the whole file in memory (small files, JSON, fallbacks); a ZIP, one entry at a time.
    await readSynopPath(f.raw.originalName, f.path, out, { zip: { limits: ctx.config.zipLimits, scratch } });
  }
}

/** Counts what a file gives, keeping nothing but its rejects (see `fileContributes`). */
class CountingSink extends SynopRejectKeeper {
  observations = 0;
  observation(obs: SynopObservation): void {
    // The run's sink (SynopCsvSink) rejects such keys: the same verdict here.
    if (!hasStationKey(this, obs)) return;
    this.countObservation();
    this.observations++;
  }
}

/**
 * Whether a file, read alone, stages an observation or is read without anything rejected whole: false
 * when the run would reject it whole (see rawInputs `commitFileRun`). Both read paths give the same result.
 */
export async function fileContributes(f: PendingFile, zip: ZipReadOptions): Promise<boolean> {
  const sink = new CountingSink();
  await readSynopPath(f.raw.originalName, f.path, sink, { zip });
  return sink.observations > 0 || sink.rowsRejected + sink.filesRejected === 0;
}
