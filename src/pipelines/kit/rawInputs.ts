import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import PQueue from 'p-queue';
import type { Config } from '../../config/config.js';
import { withLocalFiles } from '../../lake/localFiles.js';
import { extensionOf, listRawFiles, sha256OfFile, storeRawFile, type RawFile } from '../../lake/raw.js';
import type { Reject } from '../../quality/rejects.js';
import { addRejects, saveRejects } from '../../quality/runRejects.js';
import type { FileStatus } from '../../warehouse/warehouse.js';
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

/** The files of `--input`, and those of its folders that were left out for their type. */
export interface InputListing {
  files: string[];
  /** Files of input folders without a supported extension: not read, said in the run's warnings. */
  unsupported: string[];
}

/**
 * Files of `--input`: files as given, folders' files with one of `extensions` (recursively), in name order;
 * paths under one of `exclude` (ecluse's own files) are left out. Other files of a folder are listed as
 * `unsupported`, so that the run can say it did not read them.
 */
export async function listInputFiles(inputs: readonly string[], extensions: readonly string[], exclude: readonly string[] = []): Promise<InputListing> {
  const out: string[] = [];
  const unsupported: string[] = [];
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
      if (!(await stat(full)).isFile()) continue;
      if (extensions.includes(extensionOf(name))) out.push(full);
      else unsupported.push(full);
    }
  }
  return { files: out, unsupported };
}

/** The warning of a run for files of its input folders it did not read (empty when there are none). */
export function unsupportedWarnings(unsupported: readonly string[], extensions: readonly string[]): string[] {
  if (unsupported.length === 0) return [];
  return [
    `${plural(unsupported.length, 'file')} of the input folders not read: unsupported type (accepted: ${extensions.join(', ')}): ${nameList(unsupported.map((p) => basename(p)))}`,
  ];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** At most a few names, then how many more: a warning stays one readable line. */
export function nameList(names: readonly string[], max = 5): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/** Files hashed at a time: one file's read overlaps the hashing of another. */
const HASH_CONCURRENCY = 4;

/**
 * The `extract` step: each file hashed (unless known), skipped when a committed run of `pipeline` loaded
 * the same content or an earlier file of this run had it, else stored in the raw zone — unless a
 * committed run rejected the same content under the same name whole: its raw copy is read again rather
 * than stored once more (a rejected file left in a landing would otherwise add a copy at every scheduled
 * run). Files are hashed a
 * few at a time, with one lookup of the hashes already loaded, then stored one after the other in input
 * order with strictly increasing arrival times: the raw keys keep the processing order a rebuild replays,
 * and a run killed while storing leaves a prefix of its files, which the rerun completes in the same order.
 */
export async function extractFiles(ctx: RunContext, pipeline: string, files: readonly InputFile[]): Promise<{ pending: PendingFile[]; skipped: number }> {
  return ctx.step('extract', async () => {
    const hashing = new PQueue({ concurrency: HASH_CONCURRENCY });
    // Progress counts both passes: hashing every file, then storing the new ones.
    const total = files.length * 2;
    let done = 0;
    const tick = (item: string) => ctx.progress({ step: 'extract', done: ++done, total, item });
    ctx.progress({ step: 'extract', done: 0, total });
    const hashes = await Promise.all(
      files.map((f) =>
        hashing.add(async () => {
          const sha = f.sha256 ?? (await sha256OfFile(f.path));
          tick(f.path);
          return sha;
        }),
      ),
    );
    const loaded = await ctx.warehouse.seenFiles(pipeline, [...new Set(hashes)]);
    const rejected = await ctx.warehouse.rejectedFiles(pipeline, [...new Set(hashes.filter((h) => !loaded.has(h)))]);
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
      const before = rejected.get(sha);
      if (before && before.original_name === basename(f.path) && (await ctx.lake.exists(before.key))) {
        const raw: RawFile = {
          key: before.key,
          sha256: sha,
          size: before.size,
          receivedAt: before.received_at,
          originalName: before.original_name,
          source: before.source,
        };
        pending.push({ path: f.path, raw });
        tick(f.path);
        continue;
      }
      const now = Math.max(Date.now(), last + 1);
      last = now;
      pending.push({ path: f.path, raw: await storeRawFile(ctx.lake, pipeline, f.source, f.path, new Date(now), sha) });
      tick(f.path);
    }
    return { pending, skipped: files.length - pending.length };
  });
}

/**
 * Whether a file, staged alone, yields a record: false when it would be rejected whole (see
 * `commitFileRun`). Asked by a rebuild of the copies of a content the raw zone holds more than once.
 */
export type ContributesProbe = (file: PendingFile) => Promise<boolean>;

/**
 * A rebuild's input: the raw zone of `pipeline` in arrival order, handed to `fn` with local paths (the
 * folder lake's own files; downloads from a remote lake, kept until `fn` has settled). A content is
 * replayed the way the runs that received it processed it: each copy in arrival order until one that
 * contributes (`contributes`; the last copy is not asked), the later copies skipped. A file rejected whole
 * and delivered again under a name that loads thus gives the rows the second delivery gave, and the
 * first delivery's rejects again.
 */
export async function replayRawZone<T>(
  ctx: RunContext,
  pipeline: string,
  contributes: ContributesProbe,
  fn: (pending: PendingFile[], skipped: number) => Promise<T>,
): Promise<T> {
  const raws = await ctx.step('list', () => listRawFiles(ctx.lake, pipeline));
  const copies = new Map<string, RawFile[]>();
  for (const raw of raws) {
    const list = copies.get(raw.sha256);
    if (list) list.push(raw);
    else copies.set(raw.sha256, [raw]);
  }
  return withLocalFiles(
    ctx.lake,
    raws.map((r) => r.key),
    async (paths) => {
      const files = raws.map((raw, i) => ({ raw, path: paths[i] as string }));
      const byKey = new Map(files.map((f) => [f.raw.key, f]));
      const replayed = new Set<string>();
      for (const list of copies.values()) {
        // The same bytes under the same name are staged the same way: one probe per name.
        const verdicts = new Map<string, boolean>();
        for (const [i, raw] of list.entries()) {
          replayed.add(raw.key);
          if (i === list.length - 1) break;
          let ok = verdicts.get(raw.originalName);
          if (ok === undefined) {
            ok = await contributes(byKey.get(raw.key) as PendingFile);
            verdicts.set(raw.originalName, ok);
          }
          if (ok) break;
        }
      }
      const pending = files.filter((f) => replayed.has(f.raw.key));
      return fn(pending, raws.length - pending.length);
    },
  );
}

/**
 * Records the run's files in the warehouse: a committed run's loaded files count as seen from then on.
 * Files rejected whole (indexes in `pending`) are recorded `rejected`, which is not seen: they contributed
 * nothing, and a later delivery of the same bytes is read again.
 */
export async function registerPendingFiles(
  ctx: RunContext,
  pipeline: string,
  pending: readonly PendingFile[],
  rejectedWhole: ReadonlySet<number> = new Set(),
): Promise<void> {
  // One row per content: loaded wins over rejected (a rebuild replays the copy that loads after those
  // rejected), and among rejected copies the latest.
  const rows = new Map<string, { f: PendingFile; status: FileStatus }>();
  for (const [i, f] of pending.entries()) {
    const status: FileStatus = rejectedWhole.has(i) ? 'rejected' : 'loaded';
    if (rows.get(f.raw.sha256)?.status === 'loaded') continue;
    rows.set(f.raw.sha256, { f, status });
  }
  await ctx.warehouse.registerFiles(
    ctx.runId,
    [...rows.values()].map(({ f, status }) => ({
      status,
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
  /** Files not processed because a committed run loaded the same content. */
  skipped: number;
  /** Indexes in `pending` of the files that staged no record and had something rejected whole. */
  rejectedWhole: ReadonlySet<number>;
  rowsRead: number;
  rowsWritten: number;
  /** Records rejected whole. */
  recordsRejected: number;
  /** File-level rejects (a file, a ZIP entry or a JSONL line that could not be read): counted as rows rejected. */
  filesRejected: number;
  valuesRejected: number;
  /** The staging table rows are written to, named in the warning for rows read but not written. */
  table: string;
  /** Files offered to the run and left for a later one (landing files still being written). */
  deferred?: number;
  /** The pipeline's own warnings (files not read, …). */
  warnings?: readonly string[];
}

/**
 * Which pending files were rejected whole: `staged` is how many records each file put into the run's
 * batch, `wholeRejects` how many records or file-level problems each had rejected whole (by index).
 */
export function rejectedWholeFiles(count: number, staged: (i: number) => number, wholeRejects: (i: number) => number): Set<number> {
  const out = new Set<number>();
  for (let i = 0; i < count; i++) if (staged(i) === 0 && wholeRejects(i) > 0) out.add(i);
  return out;
}

/** The warnings of a file-based run: what it did not load, and why. */
function fileRunWarnings(runId: number, pending: readonly PendingFile[], c: FileRunCounts): string[] {
  const warnings: string[] = [];
  const rejected = [...c.rejectedWhole].sort((a, b) => a - b).map((i) => pending[i]?.raw.originalName ?? String(i));
  const again = 'not recorded as seen: delivered again (renamed, or after a configuration change) they are read again';
  if (rejected.length > 0 && rejected.length === pending.length) {
    warnings.push(`all files rejected whole, nothing loaded from them (${nameList(rejected)}; see: ecluse rejects --run ${runId}); ${again}`);
  } else if (rejected.length > 0) {
    warnings.push(`${rejected.length} of ${pending.length} files rejected whole (${nameList(rejected)}; see: ecluse rejects --run ${runId}); ${again}`);
  }
  const kept = c.rowsRead - c.recordsRejected;
  if (c.rowsWritten === 0 && kept > 0) {
    warnings.push(
      `none of the ${kept} valid rows read was written: each key is already in ${c.table} (or repeated in the run's files); a key's first value is kept`,
    );
  }
  return [...warnings, ...(c.warnings ?? [])];
}

/**
 * The end of a file-based run, inside the transaction that commits its data: its files recorded as loaded
 * (not those rejected whole), the rejects the TypeScript readers collected added to those the engine wrote
 * (`run_rejects`), all stored, and the run committed with its counts and warnings.
 */
export async function commitFileRun(
  ctx: RunContext,
  pipeline: string,
  pending: readonly PendingFile[],
  rejects: readonly Reject[],
  c: FileRunCounts,
): Promise<void> {
  await registerPendingFiles(ctx, pipeline, pending, c.rejectedWhole);
  await addRejects(ctx.engine, ctx.runId, pipeline, rejects);
  await saveRejects(ctx.warehouse, ctx.engine);
  const warnings = fileRunWarnings(ctx.runId, pending, c);
  for (const w of warnings) ctx.log?.warn(w);
  const kept = c.rowsRead - c.recordsRejected;
  if (c.rowsWritten > 0 && kept > c.rowsWritten)
    ctx.log?.info(`${kept - c.rowsWritten} valid rows not written: key already in ${c.table} or repeated in the run's files (first value kept)`);
  await ctx.commitRun({
    files: pending.length,
    files_skipped: c.skipped,
    files_deferred: c.deferred ?? 0,
    rows_read: c.rowsRead,
    rows_written: c.rowsWritten,
    rows_rejected: c.recordsRejected + c.filesRejected,
    values_rejected: c.valuesRejected,
    warnings,
  });
}
