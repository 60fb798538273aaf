import { join } from 'node:path';
import { withScratchDir } from '../../engine/bulk.js';
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
import {
  commitFileRun,
  extractFiles,
  listInputFiles,
  nameList,
  ownFiles,
  rejectedWholeFiles,
  replayRawZone,
  unsupportedWarnings,
  type PendingFile,
} from '../kit/rawInputs.js';
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
async function stageInTypeScript(ctx: RunContext, pending: PendingFile[], skip: ReadonlySet<number>, scratch: string): Promise<StageResult[]> {
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

/** What a run knows before staging that its summary must say. */
interface RunNotes {
  /** Landing files left for a later run. */
  deferred?: number;
  warnings?: readonly string[];
}

/** Stages files and loads them, committing data, metadata and the run record together. */
async function stageAndCommit(ctx: RunContext, pending: PendingFile[], skipped: number, notes: RunNotes = {}): Promise<void> {
  const s = ctx.engine;
  const configuredIds = stationsConfig.settings(ctx.config).stations.map((st) => st.id);
  await createStationsTables(ctx.warehouse);
  await withScratchDir(async (scratch) => {
    // Parsing happens before the transaction: a file DuckDB cannot read fails its statement, and inside a
    // transaction that would abort everything.
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
    const staged = await ctx.step('validate', async () => {
      const { fast, results } = parsed;
      const fastCounts = await stageInfoclimatDocs(
        s,
        ctx.runId,
        new Map(json.filter((f) => fast.has(f.fileSeq)).map((f) => [f.fileSeq, f.name])),
        configuredIds,
      );
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
    try {
      await ctx.warehouse.transaction(async () => {
        await ctx.step('load', async () => {
          ctx.progress({ step: 'load', done: 0, total: 1 });
          const written = await loadRunReports(ctx.warehouse, s, ctx.lake, scratch);
          await upsertStations(ctx.warehouse, mergeStations(staged.stations, configuredStationRows(ctx)));
          await commitFileRun(ctx, NAME, pending, staged.rejects, {
            skipped,
            rejectedWhole: staged.rejectedWhole,
            rowsRead: staged.rowsRead,
            rowsWritten: written,
            recordsRejected: staged.recordsRejected,
            filesRejected: staged.filesRejected,
            valuesRejected: staged.valuesRejected,
            table: 'reports',
            deferred: notes.deferred,
            warnings: notes.warnings,
          });
          ctx.progress({ step: 'load', done: 1, total: 1 });
        });
      });
    } finally {
      await dropRunReports(s);
    }
  }, ctx.config.home);
}

/** Source name of a raw file, from its extension: workbooks are Weather Underground, the rest InfoClimat. */
function sourceOf(name: string): string {
  return extensionOf(name) === 'xlsx' ? 'wunderground' : 'infoclimat';
}

async function runInputs(ctx: RunContext, inputs: readonly string[]): Promise<void> {
  const listed = await ctx.step('list', () => listInputFiles(inputs, SUPPORTED_EXTENSIONS, ownFiles(ctx.config)));
  const { pending, skipped } = await extractFiles(
    ctx,
    NAME,
    listed.files.map((path) => ({ path, source: sourceOf(path) })),
  );
  await stageAndCommit(ctx, pending, skipped, { warnings: unsupportedWarnings(listed.unsupported, SUPPORTED_EXTENSIONS) });
}

/** Replays the raw zone in arrival order, each content as the runs that received it did: the lake is the backup. */
async function runRebuild(ctx: RunContext): Promise<void> {
  await replayRawZone(
    ctx,
    NAME,
    (f) => fileContributes(f.path, f.raw.originalName, f.raw.key, stationsConfig.settings(ctx.config).stations, { limits: ctx.config.zipLimits }),
    (pending, skipped) => stageAndCommit(ctx, pending, skipped),
  );
}

/**
 * A scheduled run: new files of the landing location and, with a token, the InfoClimat API's day. The
 * scratch folder outlives the commit: downloaded inputs live in it.
 */
async function runScheduled(ctx: RunContext, request: RunRequest): Promise<void> {
  await withScratchDir(async (scratch) => {
    const { inputs, skipped, tooRecent } = await ctx.step('list', () => collectScheduledInputs(ctx, request, scratch));
    const extracted = await extractFiles(ctx, NAME, inputs);
    await stageAndCommit(ctx, extracted.pending, skipped + extracted.skipped, { deferred: tooRecent.length, warnings: tooRecentWarnings(tooRecent) });
  }, ctx.config.home);
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
  async run(ctx, request: RunRequest) {
    if (request.trigger === 'rebuild') return runRebuild(ctx);
    if (!request.inputs || request.inputs.length === 0) return runScheduled(ctx, request);
    return runInputs(ctx, request.inputs);
  },
  datasets: [
    { table: 'stations', key: ['id'], lake: [datasetPrefix('curated', NAME)] },
    { table: 'reports', key: ['station_id', 'observed_at'], lake: [REPORTS_LAKE.prefix] },
  ],
  createTables: createStationsTables,
  config: stationsConfig,
  uploads: SUPPORTED_EXTENSIONS,
  generator: stationsGenerator,
};
