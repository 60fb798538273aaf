/**
 * The `eco2mix` pipeline (issue 17), third increment: files given with `--input` (or uploaded, or the raw
 * zone on a rebuild) staged into `regional_observations` with the nature precedence and its history, and
 * the touched days' statistics appended to `regional_energy_stats`. Fetching from the portal, the national
 * totals and the registration come later (docs/pipelines/eco2mix.md).
 */
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';
import { runFileBatch, type FileBatch } from '../kit/fileBatch.js';
import type { Pipeline, RunRequest } from '../kit/pipeline.js';
import { appendEnergyStats, computeEnergyStats, dropStatsTables, publishEnergyStats } from './curated.js';
import { applyToLake, applyToWarehouse, createEco2mixTables, dropRunTables, ECO2MIX_DATASETS, STATS_STAGING } from './load.js';
import { fileContributes, stageFiles, type Eco2mixStaged } from './stage.js';
import { ECO2MIX_EXTENSIONS } from './readers.js';
import { eco2mixGenerator } from './samples.js';

const NAME = 'eco2mix';
/** Every file holds records of the eco2mix regional datasets, whoever delivered it. */
const SOURCE = 'opendatasoft';

const NOT_BUILT = 'fetching eco2mix from the portal is not built yet: give the files with --input (or upload them)';

/** A run that cannot fetch: another attempt would fail the same way. */
class FetchNotBuiltError extends Error {
  override name = 'FetchNotBuiltError';
  readonly retryable = false;
}

const eco2mixBatch: FileBatch<Eco2mixStaged> = {
  name: NAME,
  extensions: ECO2MIX_EXTENSIONS,
  sourceOf: () => SOURCE,
  createTables: createEco2mixTables,
  table: 'regional_observations',
  stage: (ctx, pending, scratch) => ctx.step('stage', () => stageFiles(ctx, pending, scratch)),
  async load(ctx, _staged, scratch) {
    return ctx.step('load', async () => {
      ctx.progress({ step: 'load', done: 0, total: 1 });
      const at = new Date();
      const applied = await applyToWarehouse(ctx.warehouse, ctx.engine, ctx.runId, at);
      const months = await applyToLake(ctx.engine, ctx.lake, scratch);
      // After the lake's staging months: the statistics read the rows of the touched days back from them.
      const computed = await computeEnergyStats(ctx.engine, ctx.lake, STATS_STAGING, ctx.runId, at);
      const appended = await appendEnergyStats(ctx.warehouse, ctx.engine);
      const curatedMonths = await publishEnergyStats(ctx.engine, ctx.lake, scratch);
      ctx.log?.info(
        { computed, appended, months: curatedMonths },
        `regional_energy_stats: ${computed} rows recomputed, ${appended} appended (values changed or new)`,
      );
      if (applied.superseded > 0) {
        ctx.log?.info({ superseded: applied.superseded }, `${applied.superseded} rows superseded by a better nature, kept in regional_observations_history`);
      }
      ctx.log?.info({ months }, `staging months rewritten in the lake: ${months.length === 0 ? 'none' : months.join(', ')}`);
      return applied.written;
    });
  },
  release: async (ctx) => {
    await dropStatsTables(ctx.engine);
    await dropRunTables(ctx.engine);
  },
  contributes: (ctx) => (f) => fileContributes(ctx, f),
  collect: () => Promise.reject(new FetchNotBuiltError(NOT_BUILT)),
};

export const eco2mixPipeline: Pipeline = {
  name: NAME,
  description:
    'RTE eCO2mix regional electricity (ODRE eco2mix-regional-tr / -cons-def) into regional_observations, with the history of revisions, and regional_energy_stats (hour, day)',
  // The real-time dataset's pace; the consolidated one will get its own daily schedule with fetching.
  schedule: { cron: '*/15 * * * *', timezone: DEFAULT_TIME_ZONE },
  scheduledSource: () => NOT_BUILT,
  run: (ctx, request: RunRequest) => runFileBatch(ctx, request, eco2mixBatch),
  datasets: ECO2MIX_DATASETS,
  createTables: createEco2mixTables,
  uploads: ECO2MIX_EXTENSIONS,
  generator: eco2mixGenerator,
  routes: async () => (await import('./routes.js')).eco2mixRoutes,
};
