import { readFile, readdir, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve, sep } from 'node:path';
import { withScratchDir } from '../../engine/bulk.js';
import { datasetPrefix } from '../../lake/layout.js';
import { extensionOf, listRawFiles, storeRawFile, sha256OfFile, type RawFile } from '../../lake/raw.js';
import type { Pipeline, Platform, RunContext, RunRequest } from '../../orchestrator/pipeline.js';
import type { FileRecord } from '../../warehouse/warehouse.js';
import { ReportBatch } from './reportBatch.js';
import { readStationsFile, SUPPORTED_EXTENSIONS, type ReadContext } from './readers.js';
import { createStationsTables, publishReportPartitions, stageReports, upsertStations } from './load.js';
import type { StationRow } from './schema.js';

const NAME = 'stations';

/**
 * Files of `--input`: files as given, folders' supported files (recursively), in name order. Paths
 * starting with one of `exclude` (our own lake and warehouse, when --input names a folder holding the
 * ecluse home) are left out.
 */
export async function listInputFiles(inputs: readonly string[], exclude: readonly string[] = []): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    const path = resolve(input);
    const info = await stat(path).catch(() => null);
    if (!info) throw new Error(`input not found: ${input}`);
    if (info.isDirectory()) {
      const names = (await readdir(path, { recursive: true })).sort();
      for (const name of names) {
        const full = join(path, name);
        if (exclude.some((x) => full === x || full.startsWith(x))) continue;
        if ((SUPPORTED_EXTENSIONS as readonly string[]).includes(extensionOf(name)) && (await stat(full)).isFile()) out.push(full);
      }
    } else {
      out.push(path);
    }
  }
  return out;
}

function configuredStationRows(ctx: Platform): StationRow[] {
  return ctx.config.stations.map((s) => ({
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

interface PendingFile {
  /** Where to read it: the input path, or the lake's copy during a rebuild. */
  path: string;
  raw: RawFile;
  bytes?: Buffer;
}

/** Reads files into a batch and loads it, committing data, metadata and the run record together. */
async function stageAndCommit(ctx: RunContext, pending: PendingFile[], skipped: number): Promise<void> {
  const readCtx: ReadContext = { stations: ctx.config.stations, configuredIds: new Set(ctx.config.stations.map((s) => s.id)) };
  const batch = new ReportBatch();
  await ctx.step('stage', async () => {
    let done = 0;
    for (const f of pending) {
      ctx.progress({ step: 'stage', done, total: pending.length, item: f.raw.originalName });
      await readStationsFile(f.path, f.raw.originalName, f.raw.key, batch, readCtx, f.bytes);
      f.bytes = undefined;
      done++;
    }
    ctx.progress({ step: 'stage', done, total: pending.length });
  });
  const s = ctx.warehouse.session;
  await withScratchDir(async (scratch) => {
    await ctx.step('load', async () => {
      ctx.progress({ step: 'load', done: 0, total: 1 });
      await createStationsTables(s);
      await ctx.warehouse.transaction(async () => {
        const written = await stageReports(s, batch.lines, scratch);
        await publishReportPartitions(s, ctx.lake, scratch);
        await upsertStations(s, mergeStations(batch.stations.values(), configuredStationRows(ctx)), scratch);
        const files: FileRecord[] = pending.map((f) => ({
          pipeline: NAME,
          sha256: f.raw.sha256,
          key: f.raw.key,
          original_name: f.raw.originalName,
          source: f.raw.source,
          size: f.raw.size,
          received_at: f.raw.receivedAt,
        }));
        await ctx.warehouse.registerFiles(ctx.runId, files);
        await ctx.warehouse.insertRejects(ctx.runId, NAME, batch.rejects);
        await ctx.commitRun({
          files: pending.length,
          files_skipped: skipped,
          rows_read: batch.rowsRead,
          rows_written: written,
          rows_rejected: batch.rowsRejected + batch.filesRejected,
          values_rejected: batch.valuesRejected,
        });
      });
      ctx.progress({ step: 'load', done: 1, total: 1 });
    });
  }, ctx.config.home);
}

/** Source name of a raw file, from its extension: workbooks are Weather Underground, the rest InfoClimat. */
function sourceOf(name: string): string {
  return extensionOf(name) === 'xlsx' ? 'wunderground' : 'infoclimat';
}

/** What ecluse itself writes: the folder lake and the warehouse file with its companions (.wal, holder note). */
function ownFiles(ctx: RunContext): string[] {
  const own = [ctx.config.warehouse];
  if (!ctx.config.lake.includes('://')) own.push(resolve(ctx.config.lake) + sep);
  return own;
}

async function runInputs(ctx: RunContext, inputs: readonly string[]): Promise<void> {
  const paths = await ctx.step('list', () => listInputFiles(inputs, ownFiles(ctx)));
  const pending: PendingFile[] = [];
  let skipped = 0;
  await ctx.step('extract', async () => {
    const seenInRun = new Set<string>();
    let last = 0;
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i] as string;
      ctx.progress({ step: 'extract', done: i, total: paths.length, item: path });
      const isBook = extensionOf(path) === 'xlsx';
      // Workbooks are streamed by their reader; other files are read once and parsed from memory.
      const bytes = isBook ? undefined : await readFile(path);
      const sha = bytes ? createHash('sha256').update(bytes).digest('hex') : await sha256OfFile(path);
      if (seenInRun.has(sha) || (await ctx.warehouse.seenFiles(NAME, [sha])).size > 0) {
        skipped++;
        continue;
      }
      seenInRun.add(sha);
      // Strictly increasing arrival times keep raw keys in processing order (rebuild replays by key).
      const now = Math.max(Date.now(), last + 1);
      last = now;
      const raw = await storeRawFile(ctx.lake, NAME, sourceOf(path), path, new Date(now), sha);
      pending.push({ path, raw, bytes });
    }
    ctx.progress({ step: 'extract', done: paths.length, total: paths.length });
  });
  await stageAndCommit(ctx, pending, skipped);
}

/** Replays the raw zone, in key order, each content once: the lake is the backup. */
async function runRebuild(ctx: RunContext): Promise<void> {
  const raws = await ctx.step('list', () => listRawFiles(ctx.lake, NAME));
  const seen = new Set<string>();
  const pending: PendingFile[] = [];
  let skipped = 0;
  for (const raw of raws) {
    if (seen.has(raw.sha256)) {
      skipped++;
      continue;
    }
    seen.add(raw.sha256);
    pending.push({ path: '', raw });
  }
  // Read each raw file through the store (a remote lake downloads it) as the stage step goes.
  const local: PendingFile[] = [];
  for (const p of pending) {
    const bytes = extensionOf(p.raw.key) === 'xlsx' ? undefined : await ctx.lake.getBytes(p.raw.key);
    local.push({ ...p, bytes, path: bytes ? '' : await ctx.lake.withLocalFile(p.raw.key, async (x) => x) });
  }
  await stageAndCommit(ctx, local, skipped);
}

export const stationsPipeline: Pipeline = {
  name: NAME,
  description: 'GreenAndCoop weather stations: InfoClimat JSON and Weather Underground XLSX into stations and reports',
  schedule: { cron: '0 0 * * *', timezone: 'Europe/Paris' },
  async run(ctx, request: RunRequest) {
    if (request.trigger === 'rebuild') return runRebuild(ctx);
    if (!request.inputs || request.inputs.length === 0) {
      throw new Error('stations: nothing to read; give --input <dir|file…> (scheduled sources come with the landing zone and the InfoClimat API)');
    }
    return runInputs(ctx, request.inputs);
  },
  async reset(ctx) {
    const s = ctx.warehouse.session;
    await createStationsTables(s);
    await ctx.warehouse.transaction(async () => {
      await s.run(`DELETE FROM reports`);
      await s.run(`DELETE FROM stations`);
      await s.run(`DELETE FROM files WHERE pipeline = $p`, { p: NAME });
    });
    await ctx.lake.deletePrefix(datasetPrefix('staging', 'reports'));
    await ctx.lake.deletePrefix(datasetPrefix('curated', NAME));
  },
};
