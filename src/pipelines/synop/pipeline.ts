import type { Pipeline, RunContext, RunRequest } from '../kit/pipeline.js';
import { runFileBatch, type FileBatch, type StagedFiles } from '../kit/fileBatch.js';
import {
  computeDailyStats,
  createSynopTables,
  dropRunTables,
  loadObservations,
  publishDailyStatsPartitions,
  replaceDailyStats,
  SYNOP_DATASETS,
} from './load.js';
import { SYNOP_EXTENSIONS } from './readers.js';
import { fileContributes, stageFiles } from './stage.js';
import { fetchSynopWindow, ODS_SOURCE } from './odsSource.js';
import { saveCursor } from '../kit/cursors.js';
import { assertMysqlUrl, pingMysql, writeMysqlStaging } from './mysqlStaging.js';
import { synopGenerator } from './samples.js';
import { synopConfig } from './settings.js';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';

const NAME = 'synop';
/** Every file of this pipeline holds records of the OpenDataSoft dataset, whoever delivered it. */
const SOURCE = 'opendatasoft';

/**
 * Synop's parts of the kit's file-batch run. With `mysql`, the staged rows are also copied to MySQL, before
 * the warehouse commits: a crash between the two leaves rows MySQL already holds, which the rerun offers
 * again as no-ops; never rows the warehouse has and MySQL lacks.
 */
function synopBatch(mysql: string | undefined): FileBatch<StagedFiles> {
  return {
    name: NAME,
    extensions: SYNOP_EXTENSIONS,
    sourceOf: () => SOURCE,
    createTables: createSynopTables,
    table: 'observations',
    async stage(ctx, pending, scratch) {
      const staged = await ctx.step('stage', () => stageFiles(ctx, pending, scratch));
      if (mysql !== undefined && pending.length > 0) {
        const copied = await ctx.step('mysql', () => writeMysqlStaging(mysql, ctx.engine, scratch));
        ctx.log?.info(
          { mysql: copied },
          `MySQL staging: ${copied.inserted} of ${copied.offered} rows new (${copied.method === 'insert' ? 'multi-row inserts: the server refuses LOAD DATA LOCAL' : 'LOAD DATA LOCAL'})`,
        );
      }
      return staged;
    },
    async load(ctx, _staged, scratch) {
      const s = ctx.engine;
      const { written, published } = await ctx.step('load', async () => {
        ctx.progress({ step: 'load', done: 0, total: 1 });
        return loadObservations(ctx.warehouse, s, ctx.lake, scratch, !ctx.config.duckdbMemoryLimit);
      });
      await ctx.step('curate', async () => {
        const ranges = await computeDailyStats(s, ctx.lake, published);
        await replaceDailyStats(ctx.warehouse, s, ranges);
        await publishDailyStatsPartitions(s, ctx.lake, scratch, ranges);
      });
      return written;
    },
    // The run's database is in scratch (or memory): gone with the run, also from a server's engine.
    release: (ctx) => dropRunTables(ctx.engine),
    contributes: (ctx) => (f) => fileContributes(f, { limits: ctx.config.zipLimits }),
    /**
     * A partition run on OpenDataSoft: the day's window (or, scheduled, from a lagging cursor) downloaded,
     * stored unchanged in the raw zone, staged; the cursor commits with the data. The same content again (a
     * rerun of a day) is skipped by the extract step and writes nothing.
     */
    async collect(ctx, request, dir) {
      const got = await ctx.step('fetch', () => fetchSynopWindow(ctx, request, dir));
      const latest = got.latest;
      return {
        // An empty window (a day not published yet) is a run with nothing to load, not an empty raw file.
        inputs: got.records === 0 ? [] : [{ path: got.path, source: ODS_SOURCE }],
        withData: latest === null ? undefined : () => saveCursor(ctx.warehouse, NAME, ODS_SOURCE, latest, ctx.runId),
      };
    },
  };
}

/** `--staging` wins over the configuration; checked before any work so a bad URL fails fast, unretried. */
function mysqlOf(ctx: RunContext, request: RunRequest): string | undefined {
  const url = request.staging ?? synopConfig.settings(ctx.config).mysql;
  if (url !== undefined) assertMysqlUrl(url);
  return url;
}

export const synopPipeline: Pipeline = {
  name: NAME,
  description: 'Météo-France SYNOP observations (OpenDataSoft donnees-synop-essentielles-omm) into observations and daily_city_stats',
  schedule: { cron: '0 1 * * *', timezone: DEFAULT_TIME_ZONE },
  routes: async () => (await import('./routes.js')).synopRoutes,
  // The public portal is the default of explicit commands (`run synop --from/--to`, `trigger`); a schedule
  // reaches it on its own only when the user asked for it: named a portal, or configured synop's schedule.
  scheduledSource: (config) =>
    synopConfig.settings(config).odsUrlConfigured || config.schedules[NAME]?.enabled === true
      ? null
      : 'no OpenDataSoft portal configured: set ECLUSE_ODS_URL (or pipelines.synop.ods_url), or schedules.synop in ecluse.config.json to fetch from the public portal',
  run: (ctx, request: RunRequest) => runFileBatch(ctx, request, synopBatch(mysqlOf(ctx, request))),
  datasets: SYNOP_DATASETS,
  createTables: createSynopTables,
  fetchesDays: true,
  stagingCopy: {
    protocol: 'mysql:',
    setting: 'pipelines.synop.mysql (ECLUSE_SYNOP_MYSQL)',
    withUrl: (config, url) => synopConfig.override(config, { mysql: url }),
  },
  uploads: SYNOP_EXTENSIONS,
  config: synopConfig,
  healthChecks: (config) => {
    const { mysql } = synopConfig.settings(config);
    return mysql === undefined ? [] : [{ name: 'mysql', kind: 'mysql', check: () => pingMysql(mysql) }];
  },
  generator: synopGenerator,
};
