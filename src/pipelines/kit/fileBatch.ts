/**
 * The run of a file-based batch pipeline, whatever brought its files: the dispatch (rebuild / `--input` /
 * the pipeline's own source), then one sequence for all three — extract into the raw zone, stage in the
 * engine before the transaction, load and commit data, files, rejects and the run record in one
 * transaction. A pipeline supplies what is its own: how it reads, loads and fetches.
 */
import { withScratchDir } from '../../engine/bulk.js';
import type { Reject } from '../../quality/rejects.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import type { RunContext, RunRequest } from './pipeline.js';
import {
  commitFileRun,
  extractFiles,
  listInputFiles,
  ownFiles,
  replayRawZone,
  unsupportedWarnings,
  type ContributesProbe,
  type InputFile,
  type PendingFile,
} from './rawInputs.js';

/** What staging a run's files counted, besides what it left in the engine. */
export interface StagedFiles {
  /** Rejects the TypeScript readers collected (the engine's own are in `run_rejects`). */
  rejects: readonly Reject[];
  /** Indexes in `pending` of the files that staged no record and had something rejected whole. */
  rejectedWhole: ReadonlySet<number>;
  rowsRead: number;
  /** Records rejected whole. */
  recordsRejected: number;
  /** File-level rejects (a file, a ZIP entry, a line that could not be read). */
  filesRejected: number;
  valuesRejected: number;
}

/**
 * What a run without `--input` fetched or found (scheduled and partition runs).
 * @public what a pipeline's `collect` returns
 */
export interface CollectedFiles {
  inputs: readonly InputFile[];
  /** Files found but not offered (already loaded, by the source's own reckoning). */
  skipped?: number;
  /** Files left for a later run (landing files still being written). */
  deferred?: number;
  warnings?: readonly string[];
  /** More to write in the run's transaction, with the data (the source's cursor). */
  withData?: () => Promise<void>;
}

/** A file-based batch pipeline's own parts. */
export interface FileBatch<S extends StagedFiles> {
  /** The pipeline's name (its raw zone, its `files` rows). */
  name: string;
  /** The extensions it reads; other files of an `--input` folder are named in the run's warnings. */
  extensions: readonly string[];
  /** The raw zone's source of an input file (from its path). */
  sourceOf(path: string): string;
  /** Its warehouse tables, created if missing. */
  createTables(warehouse: Warehouse): Promise<void>;
  /** The table its rows go to, named in the warning for rows read but not written. */
  table: string;
  /**
   * Reads the files into the engine, before the warehouse transaction (a statement failing inside one would
   * abort everything). `scratch` lives until the run ends.
   */
  stage(ctx: RunContext, pending: readonly PendingFile[], scratch: string): Promise<S>;
  /**
   * Inside the run's transaction: writes the staged rows to the warehouse and the lake; returns the rows
   * written. Says `{step: 'load', done: 0}` when it starts (the kit says `done: 1` before the commit).
   */
  load(ctx: RunContext, staged: S, scratch: string): Promise<number>;
  /** Frees what staging left in the engine (a server's engine lives on from run to run), however the run ended. */
  release(ctx: RunContext): Promise<void>;
  /** Whether a raw copy, read alone, loads: rebuild replays copies of a content until one that does. */
  contributes(ctx: RunContext): ContributesProbe;
  /** A run without `--input`: the files of its source (downloaded into `scratch`, which outlives the commit). */
  collect(ctx: RunContext, request: RunRequest, scratch: string): Promise<CollectedFiles>;
}

/** Runs `request` through the batch: a rebuild replays the raw zone, `inputs` are read, else the source is asked. */
export async function runFileBatch<S extends StagedFiles>(ctx: RunContext, request: RunRequest, batch: FileBatch<S>): Promise<void> {
  if (request.trigger === 'rebuild') {
    // The raw zone is the backup: each content as the runs that received it did.
    return replayRawZone(ctx, batch.name, batch.contributes(ctx), (pending, skipped) => stageAndCommit(ctx, batch, pending, { skipped }));
  }
  if (request.inputs && request.inputs.length > 0) {
    const inputs = request.inputs;
    const listed = await ctx.step('list', () => listInputFiles(inputs, batch.extensions, ownFiles(ctx.config)));
    const { pending, skipped } = await extractFiles(
      ctx,
      batch.name,
      listed.files.map((path) => ({ path, source: batch.sourceOf(path) })),
    );
    return stageAndCommit(ctx, batch, pending, { skipped, warnings: unsupportedWarnings(listed.unsupported, batch.extensions) });
  }
  await withScratchDir(async (dir) => {
    const collected = await batch.collect(ctx, request, dir);
    const { pending, skipped } = collected.inputs.length === 0 ? { pending: [], skipped: 0 } : await extractFiles(ctx, batch.name, collected.inputs);
    await stageAndCommit(ctx, batch, pending, { ...collected, skipped: (collected.skipped ?? 0) + skipped });
  }, ctx.config.home);
}

/** Stages the files and loads them, committing data, files, rejects and the run record together. */
async function stageAndCommit<S extends StagedFiles>(
  ctx: RunContext,
  batch: FileBatch<S>,
  pending: readonly PendingFile[],
  notes: Omit<CollectedFiles, 'inputs' | 'skipped'> & { skipped: number },
): Promise<void> {
  await batch.createTables(ctx.warehouse);
  await withScratchDir(async (scratch) => {
    try {
      const staged = await batch.stage(ctx, pending, scratch);
      await ctx.warehouse.transaction(async () => {
        const written = await batch.load(ctx, staged, scratch);
        await ctx.step('commit', async () => {
          await notes.withData?.();
          await commitFileRun(ctx, batch.name, pending, staged.rejects, {
            skipped: notes.skipped,
            rejectedWhole: staged.rejectedWhole,
            rowsRead: staged.rowsRead,
            rowsWritten: written,
            recordsRejected: staged.recordsRejected,
            filesRejected: staged.filesRejected,
            valuesRejected: staged.valuesRejected,
            table: batch.table,
            deferred: notes.deferred,
            warnings: notes.warnings,
          });
          // Said before the COMMIT itself: the last moment a run can be stopped with nothing of it committed.
          ctx.progress({ step: 'load', done: 1, total: 1 });
        });
      });
    } finally {
      await batch.release(ctx);
    }
  }, ctx.config.home);
}
