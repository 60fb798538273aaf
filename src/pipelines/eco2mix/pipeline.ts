/**
 * The `eco2mix` pipeline: RTE's regional eCO2mix records, fetched from ODRE by feed (real time by day,
 * consolidated/definitive by month) or given as files, staged into `regional_observations` with the nature
 * precedence and its history, and the touched days' statistics appended to `regional_energy_stats`
 * (docs/pipelines/eco2mix.md).
 */
import type { Config } from '../../config/config.js';
import { saveCursor } from '../kit/cursors.js';
import { runFileBatch, type FileBatch } from '../kit/fileBatch.js';
import type { Pipeline, RunRequest } from '../kit/pipeline.js';
import { appendEnergyStats, computeEnergyStats, dropStatsTables, publishEnergyStats } from './curated.js';
import { applyToLake, applyToWarehouse, createEco2mixTables, dropRunTables, ECO2MIX_DATASETS, STATS_STAGING } from './load.js';
import { fileContributes, stageFiles, type Eco2mixStaged } from './stage.js';
import { ECO2MIX_EXTENSIONS } from './readers.js';
import { eco2mixGenerator } from './samples.js';
import { eco2mixConfig } from './settings.js';
import { ECO2MIX_FEEDS, fetchEco2mixWindow, type Eco2mixFeed } from './source.js';

const NAME = 'eco2mix';
/** Every file holds records of the eco2mix regional datasets, whoever delivered it. */
const SOURCE = 'opendatasoft';

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
  /**
   * A partition run on ODRE: the window downloaded, stored unchanged in the raw zone, staged; the feed's
   * cursor commits with the data. The same content again (a rerun) is skipped by the extract step.
   */
  async collect(ctx, request, dir) {
    const got = await ctx.step('fetch', () => fetchEco2mixWindow(ctx, request, dir));
    const latest = got.latest;
    ctx.log?.info(
      { dataset: got.feed.dataset, where: got.where, records: got.records },
      `fetched ${got.records} records of ${got.feed.dataset} (${got.where})`,
    );
    return {
      // An empty window (nothing published yet) is a run with nothing to load, not an empty raw file.
      inputs: got.records === 0 ? [] : [{ path: got.path, source: SOURCE }],
      withData: latest === null ? undefined : () => saveCursor(ctx.warehouse, NAME, got.feed.dataset, latest, ctx.runId),
    };
  },
};

/** The schedules a user asked for by name: without them, and without a named portal, ticks stay home. */
function schedulesConfigured(config: Config): boolean {
  return [NAME, ...ECO2MIX_FEEDS.map((f) => `${NAME}:${f.name}`)].some((key) => config.schedules[key]?.enabled === true);
}

export const eco2mixPipeline: Pipeline = {
  name: NAME,
  description:
    'RTE eCO2mix regional electricity (ODRE eco2mix-regional-tr / -cons-def) into regional_observations, with the history of revisions, and regional_energy_stats (hour, day)',
  schedule: (ECO2MIX_FEEDS[0] as Eco2mixFeed).schedule,
  feeds: ECO2MIX_FEEDS,
  fetchesDays: true,
  // ODRE is the default of explicit commands (`run eco2mix`, `--from/--to`); a schedule reaches it on its own
  // only when the user named a portal or configured one of eco2mix's schedules.
  scheduledSource: (config) =>
    eco2mixConfig.settings(config).urlConfigured || schedulesConfigured(config)
      ? null
      : 'no eCO2mix portal configured: set ECLUSE_ECO2MIX_URL (or pipelines.eco2mix.url), or schedules["eco2mix:tr"] / schedules["eco2mix:cons-def"] in ecluse.config.json to fetch from ODRE',
  run: (ctx, request: RunRequest) => runFileBatch(ctx, request, eco2mixBatch),
  datasets: ECO2MIX_DATASETS,
  createTables: createEco2mixTables,
  uploads: ECO2MIX_EXTENSIONS,
  generator: eco2mixGenerator,
  config: eco2mixConfig,
  routes: async () => (await import('./routes.js')).eco2mixRoutes,
};
