import { withScratchDir } from '../../engine/bulk.js';
import type { Pipeline, RunContext, RunRequest } from '../kit/pipeline.js';
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
import { commitFileRun, extractFiles, listInputFiles, ownFiles, replayRawZone, unsupportedWarnings, type PendingFile } from '../kit/rawInputs.js';
import { fetchSynopWindow, ODS_SOURCE, saveCursor } from './odsSource.js';
import { assertMysqlUrl, pingMysql, writeMysqlStaging } from './mysqlStaging.js';
import { synopGenerator } from './samples.js';
import { synopConfig } from './settings.js';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';

const NAME = 'synop';
/** Every file of this pipeline holds records of the OpenDataSoft dataset, whoever delivered it. */
const SOURCE = 'opendatasoft';

interface CommitOptions {
  /** The MySQL/MariaDB staging URL, when the run also writes there. */
  mysql?: string;
  /** More to write in the run's transaction (the source's cursor). */
  withData?: () => Promise<void>;
  /** What the run knows before staging that its summary must say (files not read). */
  warnings?: readonly string[];
}

/**
 * Reads, stages and loads the files, committing data, metadata and the run record together. The MySQL
 * copy is written before that commit: a crash between the two leaves rows MySQL already holds, which the
 * rerun offers again as no-ops; never rows the warehouse has and MySQL lacks.
 */
async function stageAndCommit(ctx: RunContext, pending: readonly PendingFile[], skipped: number, options: CommitOptions = {}): Promise<void> {
  const s = ctx.engine;
  await createSynopTables(ctx.warehouse);
  await withScratchDir(async (scratch) => {
    try {
      const sink = await ctx.step('stage', () => stageFiles(ctx, pending, scratch));
      const mysqlUrl = options.mysql;
      if (mysqlUrl !== undefined && pending.length > 0) {
        const copied = await ctx.step('mysql', () => writeMysqlStaging(mysqlUrl, s, scratch));
        ctx.log?.info(
          { mysql: copied },
          `MySQL staging: ${copied.inserted} of ${copied.offered} rows new (${copied.method === 'insert' ? 'multi-row inserts: the server refuses LOAD DATA LOCAL' : 'LOAD DATA LOCAL'})`,
        );
      }
      await ctx.warehouse.transaction(async () => {
        const { written, published } = await ctx.step('load', async () => {
          ctx.progress({ step: 'load', done: 0, total: 1 });
          return loadObservations(ctx.warehouse, s, ctx.lake, scratch, !ctx.config.duckdbMemoryLimit);
        });
        await ctx.step('curate', async () => {
          const ranges = await computeDailyStats(s, ctx.lake, published);
          await replaceDailyStats(ctx.warehouse, s, ranges);
          await publishDailyStatsPartitions(s, ctx.lake, scratch, ranges);
        });
        await ctx.step('commit', async () => {
          await options.withData?.();
          await commitFileRun(ctx, NAME, pending, sink.rejects, {
            skipped,
            rejectedWhole: sink.rejectedWhole,
            rowsRead: sink.rowsRead,
            rowsWritten: written,
            recordsRejected: sink.rowsRejected,
            filesRejected: sink.filesRejected,
            valuesRejected: sink.valuesRejected,
            table: 'observations',
            warnings: options.warnings,
          });
          ctx.progress({ step: 'load', done: 1, total: 1 });
        });
      });
    } finally {
      // The run's database is in scratch (or memory): gone with the run, also from a server's engine.
      await dropRunTables(s);
    }
  }, ctx.config.home);
}

async function runInputs(ctx: RunContext, inputs: readonly string[], options: CommitOptions): Promise<void> {
  const listed = await ctx.step('list', () => listInputFiles(inputs, SYNOP_EXTENSIONS, ownFiles(ctx.config)));
  const { pending, skipped } = await extractFiles(
    ctx,
    NAME,
    listed.files.map((path) => ({ path, source: SOURCE })),
  );
  await stageAndCommit(ctx, pending, skipped, { ...options, warnings: unsupportedWarnings(listed.unsupported, SYNOP_EXTENSIONS) });
}

/**
 * A partition run on OpenDataSoft: the day's window (or, scheduled, from a lagging cursor) downloaded,
 * stored unchanged in the raw zone, staged; the cursor commits with the data. The same content again (a
 * rerun of a day) is skipped by the extract step and writes nothing.
 */
async function runSource(ctx: RunContext, request: RunRequest, options: CommitOptions): Promise<void> {
  await withScratchDir(async (dir) => {
    const got = await ctx.step('fetch', () => fetchSynopWindow(ctx, request, dir));
    // An empty window (a day not published yet) is a run with nothing to load, not an empty raw file.
    const { pending, skipped } = got.records === 0 ? { pending: [], skipped: 0 } : await extractFiles(ctx, NAME, [{ path: got.path, source: ODS_SOURCE }]);
    const latest = got.latest;
    await stageAndCommit(ctx, pending, skipped, {
      ...options,
      withData: latest === null ? undefined : () => saveCursor(ctx.warehouse, NAME, latest, ctx.runId),
    });
  }, ctx.config.home);
}

/** Replays the raw zone in arrival order, each content as the runs that received it did: the lake is the backup. */
async function runRebuild(ctx: RunContext, options: CommitOptions): Promise<void> {
  await replayRawZone(
    ctx,
    NAME,
    (f) => fileContributes(f, { limits: ctx.config.zipLimits }),
    (pending, skipped) => stageAndCommit(ctx, pending, skipped, options),
  );
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
  async run(ctx, request: RunRequest) {
    const options: CommitOptions = { mysql: mysqlOf(ctx, request) };
    if (request.trigger === 'rebuild') return runRebuild(ctx, options);
    if (request.inputs && request.inputs.length > 0) return runInputs(ctx, request.inputs, options);
    return runSource(ctx, request, options);
  },
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
