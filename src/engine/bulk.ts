import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ident, literal, type DuckSession } from './duckdb.js';
import { processAlive } from './processes.js';

export type CsvValue = string | number | boolean | null | undefined;

/** One CSV field: null/undefined → empty (read back as NULL), '' → `""` (an empty string). */
function csvCell(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') return String(v);
  if (v === '' || /[",\n\r]/.test(v) || v.trim() !== v) return `"${v.replace(/"/g, '""')}"`;
  return v;
}

export function csvLine(values: readonly CsvValue[]): string {
  return values.map(csvCell).join(',');
}

/** Scratch folders of this process still in use (a killed process leaves its own behind: see removeStaleScratchDirs). */
const scratchInUse = new Set<string>();

/**
 * A scratch folder for an engine step, removed afterwards whatever happens. Named `ecluse-<pid>-XXXXXX`:
 * the pid tells a later process whether its owner is still alive.
 */
export async function withScratchDir<T>(fn: (dir: string) => Promise<T>, base = tmpdir()): Promise<T> {
  // The base may not exist yet: with an S3 lake and a PostgreSQL warehouse nothing else creates the home.
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, `ecluse-${process.pid}-`));
  scratchInUse.add(dir);
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
    scratchInUse.delete(dir);
  }
}

const SCRATCH = /^ecluse-(?:(\d+)-)?[A-Za-z0-9]{6}$/;
const LEGACY_SCRATCH_AGE_MS = 86_400_000;

/**
 * Removes the scratch folders in `base` that no run holds any more, left by a killed run: those whose
 * process is gone, and this process's own that are not in use (a restarted container reuses its pid).
 * A folder named without a pid (from an older version) is removed when `exclusive` (the caller holds the
 * embedded warehouse, so no other process runs pipelines on this home) or when older than a day.
 * Answers the folders removed.
 */
export async function removeStaleScratchDirs(base: string, options: { exclusive?: boolean; now?: number } = {}): Promise<string[]> {
  const entries = await readdir(base, { withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  for (const entry of entries) {
    const m = SCRATCH.exec(entry.name);
    if (!m || !entry.isDirectory()) continue;
    const dir = join(base, entry.name);
    let stale: boolean;
    if (m[1] !== undefined) {
      const pid = Number(m[1]);
      stale = pid === process.pid ? !scratchInUse.has(dir) : !processAlive(pid);
    } else {
      const info = await stat(dir).catch(() => null);
      stale = info !== null && (options.exclusive === true || info.mtimeMs < (options.now ?? Date.now()) - LEGACY_SCRATCH_AGE_MS);
    }
    if (!stale) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** SQL reading a headerless CSV written by csvLine, with the given column types. */
export function readCsvSql(path: string | readonly string[], columns: ReadonlyArray<readonly [string, string]>): string {
  const struct = columns.map(([name, type]) => `${literal(name)}: ${literal(type)}`).join(', ');
  const paths = typeof path === 'string' ? literal(path) : `[${path.map(literal).join(', ')}]`;
  return `read_csv(${paths}, header = false, delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, columns = {${struct}})`;
}

/**
 * Bulk insert through a CSV file: DuckDB's reader is far faster than row-by-row statements or the
 * per-value appender calls across the N-API boundary.
 */
export async function bulkInsert(
  session: DuckSession,
  table: string,
  columns: ReadonlyArray<readonly [string, string]>,
  rows: readonly (readonly CsvValue[])[],
  scratch?: string,
): Promise<number> {
  if (rows.length === 0) return 0;
  const go = async (dir: string) => {
    const path = join(dir, `${table}-${Date.now()}-${Math.random().toString(36).slice(2)}.csv`);
    await writeFile(path, rows.map(csvLine).join('\n') + '\n');
    try {
      await session.run(`INSERT INTO ${ident(table)} (${columns.map(([c]) => ident(c)).join(', ')}) SELECT * FROM ${readCsvSql(path, columns)}`);
    } finally {
      await rm(path, { force: true });
    }
    return rows.length;
  };
  return scratch ? go(scratch) : withScratchDir(go);
}
