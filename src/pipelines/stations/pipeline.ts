import { join } from 'node:path';
import { datasetPrefix } from '../../lake/layout.js';
import { collectScheduledInputs } from './sources.js';
import { extensionOf } from '../../lake/raw.js';
import type { Pipeline, Platform, RunContext, RunRequest } from '../kit/pipeline.js';
import { SUPPORTED_EXTENSIONS } from './readers.js';
import { fileContributes, stageFile, type StageResult } from './stage.js';
import {
  collectRunReports,
  createRunTables,
  REPORTS_LAKE,
  createStationsTables,
  dropRunReports,
  loadBatchFiles,
  loadRunReports,
  upsertStations,
} from './load.js';
import { infoclimatFileCounts, infoclimatStations, readInfoclimatDocs, stageInfoclimatDocs } from './infoclimatSql.js';
import { stationFromJson } from './infoclimat.js';
import type { StationRow } from './schema.js';
import { nameList, rejectedWholeFiles, type PendingFile } from '../kit/rawInputs.js';
import { runFileBatch, type FileBatch, type StagedFiles } from '../kit/fileBatch.js';
import { stationsGenerator } from './samples.js';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';
import { stationsConfig } from './settings.js';

const NAME = 'stations';

function configuredStationRows(ctx: Platform): StationRow[] {
  return stationsConfig.settings(ctx.config).stations.map((s) => ({
    id: s.id,
    name: s.name,
    city: s.city,
    latitude: s.latitude,
    longitude: s.longitude,
    elevation_m: s.elevation_m,
    type: s.type,
    hardware: s.hardware,
    software: s.software,
    timezone: s.timezone,
    license: s.license,
  }));
}

/** Stations from files, with configured metadata (hardware, software, time zone) taking precedence. */
function mergeStations(fromFiles: Iterable<StationRow>, configured: StationRow[]): StationRow[] {
  const byId = new Map<string, StationRow>();
  for (const s of fromFiles) byId.set(s.id, s);
  for (const c of configured) {
    const f = byId.get(c.id);
    byId.set(c.id, f ? { ...f, ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== null)) } : c);
  }
  return [...byId.values()];
}

/**
 * Stages the files DuckDB did not take (everything but InfoClimat `.json`, and `.json` files it could not
 * read), each in turn, each leaving its batch CSV in the scratch folder. (Worker threads were tried: on this
 * 2-vCPU machine two parsing threads gave 1.2× the throughput of one and lost it to thread start-up.)
 */
async function stageInTypeScript(ctx: RunContext, pending: readonly PendingFile[], skip: ReadonlySet<number>, scratch: string): Promise<StageResult[]> {
  const results: StageResult[] = [];
  for (const [fileIndex, f] of pending.entries()) {
    if (skip.has(fileIndex)) continue;
    ctx.progress({ step: 'stage', done: fileIndex, total: pending.length, item: f.raw.originalName });
    results.push(
      await stageFile({
        fileIndex,
        path: f.path,
        file: f.raw.originalName,
        rawKey: f.raw.key,
        batchPath: join(scratch, `batch-${fileIndex}.csv`),
        stations: stationsConfig.settings(ctx.config).stations,
        zip: { limits: ctx.config.zipLimits, scratch },
      }),
    );
  }
  ctx.progress({ step: 'stage', done: pending.length, total: pending.length });
  return results;
}

/** What staging read, besides the run's reports in the engine. */
interface StagedStations extends StagedFiles {
  /** Stations the files described, in file order. */
  stations: StationRow[];
}

/**
 * Reads the run's files into the engine, before the transaction: a file DuckDB cannot read fails its
 * statement, and inside a transaction that would abort everything.
 */
async function stageStations(ctx: RunContext, pending: readonly PendingFile[], scratch: string): Promise<StagedStations> {
  const s = ctx.engine;
  const configuredIds = stationsConfig.settings(ctx.config).stations.map((st) => st.id);
  const json = pending.flatMap((f, fileSeq) => (extensionOf(f.raw.originalName) === 'json' ? [{ fileSeq, path: f.path, name: f.raw.originalName }] : []));
  const parsed = await ctx.step('stage', async () => {
    await createRunTables(s);
    ctx.progress({ step: 'stage', done: 0, total: pending.length, item: `${json.length} JSON files (DuckDB)` });
    const fast = await readInfoclimatDocs(s, json);
    const results = await stageInTypeScript(ctx, pending, fast, scratch);
    await loadBatchFiles(
      s,
      results.filter((r) => r.reports > 0).map((r) => join(scratch, `batch-${r.fileIndex}.csv`)),
    );
    return { fast, results };
  });
  // Validation writes only the engine's own tables: it runs before the warehouse's transaction, and so
  // does collecting the run's reports, which the load then reads from two connections at once.
  return ctx.step('validate', async () => {
    const { fast, results } = parsed;
    const fastCounts = await stageInfoclimatDocs(s, ctx.runId, new Map(json.filter((f) => fast.has(f.fileSeq)).map((f) => [f.fileSeq, f.name])), configuredIds);
    const fastStations = (await infoclimatStations(s)).flatMap(({ fileSeq, station }) => {
      const row = station && typeof station === 'object' ? stationFromJson(station) : null;
      return row ? [{ fileSeq, row }] : [];
    });
    await collectRunReports(
      s,
      pending.map((f) => f.raw.key),
    );
    const sum = (k: 'rowsRead' | 'rowsRejected' | 'valuesRejected' | 'filesRejected') => results.reduce((n, r) => n + r[k], 0);
    // Per file: records staged and things rejected whole, from whichever path read it.
    const staged = new Map<number, number>();
    const whole = new Map<number, number>();
    for (const r of results) {
      staged.set(r.fileIndex, r.reports);
      whole.set(r.fileIndex, r.rowsRejected + r.filesRejected);
    }
    for (const r of await infoclimatFileCounts(s)) {
      staged.set(r.fileSeq, r.good);
      whole.set(r.fileSeq, r.rejected);
    }
    return {
      rejectedWhole: rejectedWholeFiles(
        pending.length,
        (i) => staged.get(i) ?? 0,
        (i) => whole.get(i) ?? 0,
      ),
      rejects: results.flatMap((r) => r.rejects),
      // In file order, so that the last file's description of a station wins whatever path read it.
      stations: [...fastStations, ...results.flatMap((r) => r.stations.map((row) => ({ fileSeq: r.fileIndex, row })))]
        .sort((a, b) => a.fileSeq - b.fileSeq)
        .map((x) => x.row),
      rowsRead: fastCounts.rowsRead + sum('rowsRead'),
      recordsRejected: fastCounts.rowsRejected + sum('rowsRejected'),
      filesRejected: sum('filesRejected'),
      valuesRejected: fastCounts.valuesRejected + sum('valuesRejected'),
    };
  });
}

/** The stations parts of the kit's file-batch run. */
const STATIONS_BATCH: FileBatch<StagedStations> = {
  name: NAME,
  extensions: SUPPORTED_EXTENSIONS,
  sourceOf,
  createTables: createStationsTables,
  table: 'reports',
  stage: stageStations,
  async load(ctx, staged, scratch) {
    return ctx.step('load', async () => {
      ctx.progress({ step: 'load', done: 0, total: 1 });
      const written = await loadRunReports(ctx.warehouse, ctx.engine, ctx.lake, scratch);
      await upsertStations(ctx.warehouse, mergeStations(staged.stations, configuredStationRows(ctx)));
      return written;
    });
  },
  release: (ctx) => dropRunReports(ctx.engine),
  contributes: (ctx) => (f) =>
    fileContributes(f.path, f.raw.originalName, f.raw.key, stationsConfig.settings(ctx.config).stations, { limits: ctx.config.zipLimits }),
  /** A scheduled run: new files of the landing location and, with a token, the InfoClimat API's day (downloaded into `scratch`). */
  async collect(ctx, request, scratch) {
    const { inputs, skipped, tooRecent } = await ctx.step('list', () => collectScheduledInputs(ctx, request, scratch));
    return { inputs, skipped, deferred: tooRecent.length, warnings: tooRecentWarnings(tooRecent) };
  },
};

/** Source name of a raw file, from its extension: workbooks are Weather Underground, the rest InfoClimat. */
function sourceOf(name: string): string {
  return extensionOf(name) === 'xlsx' ? 'wunderground' : 'infoclimat';
}

/** The warning of a scheduled run for the landing files it left to a later run. */
function tooRecentWarnings(names: readonly string[]): string[] {
  if (names.length === 0) return [];
  const n = names.length;
  return [
    `${n} landing file${n === 1 ? '' : 's'} modified less than 10 s ago left for a later run (perhaps still being written): ${nameList(names)}; this partition does not count as done for a backfill`,
  ];
}

export const stationsPipeline: Pipeline = {
  name: NAME,
  description: 'GreenAndCoop weather stations: InfoClimat JSON and Weather Underground XLSX into stations and reports',
  schedule: { cron: '0 0 * * *', timezone: DEFAULT_TIME_ZONE },
  scheduledSource: (config) =>
    config.landing || stationsConfig.settings(config).infoclimatToken ? null : 'no source configured (set ECLUSE_LANDING or ECLUSE_INFOCLIMAT_TOKEN)',
  routes: async () => (await import('./routes.js')).stationsRoutes,
  run: (ctx, request: RunRequest) => runFileBatch(ctx, request, STATIONS_BATCH),
  datasets: [
    { table: 'stations', key: ['id'], lake: [datasetPrefix('curated', NAME)] },
    { table: 'reports', key: ['station_id', 'observed_at'], lake: [REPORTS_LAKE.prefix] },
  ],
  createTables: createStationsTables,
  config: stationsConfig,
  uploads: SUPPORTED_EXTENSIONS,
  generator: stationsGenerator,
};
