import { withScratchDir } from '../../engine/bulk.js';
import type { Pipeline, RunContext, RunRequest } from '../../orchestrator/pipeline.js';
import {
  computeDailyStats,
  createSynopTables,
  publishDailyStatsPartitions,
  publishObservationPartitions,
  replaceDailyStats,
  stageObservations,
  SYNOP_LAKE_PREFIXES,
} from './load.js';
import { SYNOP_EXTENSIONS } from './readers.js';
import { synopRoutes } from './routes.js';
import { stageFiles } from './stage.js';
import { addRejects, saveRejects } from '../../quality/runRejects.js';
import { extractFiles, listInputFiles, ownFiles, registerPendingFiles, replayRawZone, type PendingFile } from '../../orchestrator/rawInputs.js';

const NAME = 'synop';
/** Every file of this pipeline holds records of the OpenDataSoft dataset, whoever delivered it. */
const SOURCE = 'opendatasoft';

/** Reads, stages and loads the files, committing data, metadata and the run record together. */
async function stageAndCommit(ctx: RunContext, pending: readonly PendingFile[], skipped: number): Promise<void> {
  const s = ctx.engine;
  await createSynopTables(ctx.warehouse);
  await withScratchDir(async (scratch) => {
    const sink = await ctx.step('stage', () => stageFiles(ctx, pending, scratch));
    await ctx.warehouse.transaction(async () => {
      const written = await ctx.step('load', async () => {
        ctx.progress({ step: 'load', done: 0, total: 1 });
        const n = await stageObservations(ctx.warehouse, s);
        await publishObservationPartitions(s, ctx.lake, scratch);
        return n;
      });
      await ctx.step('curate', async () => {
        const ranges = await computeDailyStats(s, ctx.lake);
        await replaceDailyStats(ctx.warehouse, s, ranges);
        await publishDailyStatsPartitions(s, ctx.lake, scratch, ranges);
      });
      await ctx.step('commit', async () => {
        await registerPendingFiles(ctx, NAME, pending);
        await addRejects(s, ctx.runId, NAME, sink.rejects);
        await saveRejects(ctx.warehouse, s);
        await ctx.commitRun({
          files: pending.length,
          files_skipped: skipped,
          rows_read: sink.rowsRead,
          rows_written: written,
          rows_rejected: sink.rowsRejected + sink.filesRejected,
          values_rejected: sink.valuesRejected,
        });
        ctx.progress({ step: 'load', done: 1, total: 1 });
      });
    });
  }, ctx.config.home);
}

async function runInputs(ctx: RunContext, inputs: readonly string[]): Promise<void> {
  const paths = await ctx.step('list', () => listInputFiles(inputs, SYNOP_EXTENSIONS, ownFiles(ctx.config)));
  const { pending, skipped } = await extractFiles(ctx, NAME, paths.map((path) => ({ path, source: SOURCE })));
  await stageAndCommit(ctx, pending, skipped);
}

/** Replays the raw zone in arrival order, each content once: the lake is the backup. */
async function runRebuild(ctx: RunContext): Promise<void> {
  await replayRawZone(ctx, NAME, (pending, skipped) => stageAndCommit(ctx, pending, skipped));
}

export const synopPipeline: Pipeline = {
  name: NAME,
  description: 'Météo-France SYNOP observations (OpenDataSoft donnees-synop-essentielles-omm) into observations and daily_city_stats',
  schedule: { cron: '0 1 * * *', timezone: 'Europe/Paris' },
  routes: synopRoutes,
  // Until the OpenDataSoft source lands, scheduled runs have nothing to read.
  scheduledSource: () => 'the OpenDataSoft source is not built yet; run it with --input',
  async run(ctx, request: RunRequest) {
    if (request.trigger === 'rebuild') return runRebuild(ctx);
    if (!request.inputs || request.inputs.length === 0) {
      throw Object.assign(new Error('synop: the OpenDataSoft source comes next; give --input FILE… (json, jsonl, csv, zip)'), {
        retryable: false,
      });
    }
    return runInputs(ctx, request.inputs);
  },
  async reset(ctx) {
    const wh = ctx.warehouse;
    await createSynopTables(wh);
    await wh.transaction(async () => {
      await wh.execute(`DELETE FROM observations`);
      await wh.execute(`DELETE FROM daily_city_stats`);
      await wh.execute(`DELETE FROM files WHERE pipeline = $1`, [NAME]);
    });
    for (const prefix of SYNOP_LAKE_PREFIXES) await ctx.lake.deletePrefix(prefix);
  },
};
