import { readdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Config } from '../config/config.js';
import { withLocalFiles } from '../lake/localFiles.js';
import { extensionOf, listRawFiles, sha256OfFile, storeRawFile, type RawFile } from '../lake/raw.js';
import type { Reject } from '../quality/rejects.js';
import { addRejects, saveRejects } from '../quality/runRejects.js';
import { Limiter } from './limiter.js';
import type { RunContext } from './pipeline.js';

/**
 * The extract step every file-based pipeline shares: input files hashed, the ones a committed run already
 * loaded skipped, the others stored unchanged in the raw zone; and the replay of the raw zone for rebuilds.
 */

/** A file a run will stage. */
export interface PendingFile {
  /** Where to read it: the input path, or a local copy of the raw file during a rebuild. */
  path: string;
  raw: RawFile;
}

/** A local file offered to the extract step. */
export interface InputFile {
  path: string;
  /** Source name in the raw key (`raw/<pipeline>/<source>/…`). */
  source: string;
  /** Its SHA-256 when already computed. */
  sha256?: string;
}

/** What ecluse itself writes (the folder lake, the warehouse file and its companions): never an input. */
export function ownFiles(config: Config): string[] {
  const own = [config.warehouse];
  if (!config.lake.includes('://')) own.push(resolve(config.lake) + sep);
  return own;
}

/**
 * Files of `--input`: files as given, folders' files with one of `extensions` (recursively), in name order;
 * paths under one of `exclude` are left out.
 */
export async function listInputFiles(inputs: readonly string[], extensions: readonly string[], exclude: readonly string[] = []): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    const path = resolve(input);
    const info = await stat(path).catch(() => null);
    if (!info) throw new Error(`input not found: ${input}`);
    if (!info.isDirectory()) {
      out.push(path);
      continue;
    }
    for (const name of (await readdir(path, { recursive: true })).sort()) {
      const full = join(path, name);
      if (exclude.some((x) => full === x || full.startsWith(x))) continue;
      if (extensions.includes(extensionOf(name)) && (await stat(full)).isFile()) out.push(full);
    }
  }
  return out;
}

/** Files hashed at a time: one file's read overlaps the hashing of another. */
const HASH_CONCURRENCY = 4;

/**
 * The `extract` step: each file hashed (unless known), skipped when a committed run of `pipeline` loaded
 * the same content or an earlier file of this run had it, else stored in the raw zone. Files are hashed a
 * few at a time, with one lookup of the hashes already loaded, then stored one after the other in input
 * order with strictly increasing arrival times: the raw keys keep the processing order a rebuild replays,
 * and a run killed while storing leaves a prefix of its files, which the rerun completes in the same order.
 */
export async function extractFiles(ctx: RunContext, pipeline: string, files: readonly InputFile[]): Promise<{ pending: PendingFile[]; skipped: number }> {
  return ctx.step('extract', async () => {
    const limiter = new Limiter(HASH_CONCURRENCY);
    // Progress counts both passes: hashing every file, then storing the new ones.
    const total = files.length * 2;
    let done = 0;
    const tick = (item: string) => ctx.progress({ step: 'extract', done: ++done, total, item });
    ctx.progress({ step: 'extract', done: 0, total });
    const hashes = await Promise.all(
      files.map((f) =>
        limiter.push(async () => {
          const sha = f.sha256 ?? (await sha256OfFile(f.path));
          tick(f.path);
          return sha;
        }),
      ),
    );
    const loaded = await ctx.warehouse.seenFiles(pipeline, [...new Set(hashes)]);
    const seenInRun = new Set<string>();
    const pending: PendingFile[] = [];
    let last = 0;
    for (const [i, f] of files.entries()) {
      const sha = hashes[i] as string;
      if (loaded.has(sha) || seenInRun.has(sha)) {
        tick(f.path);
        continue;
      }
      seenInRun.add(sha);
      const now = Math.max(Date.now(), last + 1);
      last = now;
      pending.push({ path: f.path, raw: await storeRawFile(ctx.lake, pipeline, f.source, f.path, new Date(now), sha) });
      tick(f.path);
    }
    return { pending, skipped: files.length - pending.length };
  });
}

/**
 * A rebuild's input: the raw zone of `pipeline` in arrival order, each content once, handed to `fn` with
 * local paths (the folder lake's own files; downloads from a remote lake, kept until `fn` has settled).
 */
export async function replayRawZone<T>(ctx: RunContext, pipeline: string, fn: (pending: PendingFile[], skipped: number) => Promise<T>): Promise<T> {
  const raws = await ctx.step('list', () => listRawFiles(ctx.lake, pipeline));
  const seen = new Set<string>();
  const unique: RawFile[] = [];
  for (const raw of raws) {
    if (seen.has(raw.sha256)) continue;
    seen.add(raw.sha256);
    unique.push(raw);
  }
  return withLocalFiles(
    ctx.lake,
    unique.map((r) => r.key),
    (paths) => fn(unique.map((raw, i) => ({ raw, path: paths[i] as string })), raws.length - unique.length),
  );
}

/** Records the run's files in the warehouse: a committed run's files count as seen from then on. */
export async function registerPendingFiles(ctx: RunContext, pipeline: string, pending: readonly PendingFile[]): Promise<void> {
  await ctx.warehouse.registerFiles(
    ctx.runId,
    pending.map((f) => ({
      pipeline,
      sha256: f.raw.sha256,
      key: f.raw.key,
      original_name: f.raw.originalName,
      source: f.raw.source,
      size: f.raw.size,
      received_at: f.raw.receivedAt,
    })),
  );
}

/** What a file-based run counted, for `commitFileRun`. */
export interface FileRunCounts {
  skipped: number;
  rowsRead: number;
  rowsWritten: number;
  rowsRejected: number;
  valuesRejected: number;
}

/**
 * The end of a file-based run, inside the transaction that commits its data: its files recorded as loaded,
 * the rejects the TypeScript readers collected added to those the engine wrote (`run_rejects`), all stored,
 * and the run committed with its counts.
 */
export async function commitFileRun(ctx: RunContext, pipeline: string, pending: readonly PendingFile[], rejects: readonly Reject[], c: FileRunCounts): Promise<void> {
  await registerPendingFiles(ctx, pipeline, pending);
  await addRejects(ctx.engine, ctx.runId, pipeline, rejects);
  await saveRejects(ctx.warehouse, ctx.engine);
  await ctx.commitRun({
    files: pending.length,
    files_skipped: c.skipped,
    rows_read: c.rowsRead,
    rows_written: c.rowsWritten,
    rows_rejected: c.rowsRejected,
    values_rejected: c.valuesRejected,
  });
}
