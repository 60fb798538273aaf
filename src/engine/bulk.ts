import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ident, literal, type DuckSession } from './duckdb.js';

export type CsvValue = string | number | boolean | null | undefined;

/** One CSV field: null/undefined → empty (read back as NULL), '' → `""` (an empty string). */
export function csvCell(v: CsvValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') return String(v);
  if (v === '' || /[",\n\r]/.test(v) || v.trim() !== v) return `"${v.replace(/"/g, '""')}"`;
  return v;
}

export function csvLine(values: readonly CsvValue[]): string {
  return values.map(csvCell).join(',');
}

/** A scratch folder for an engine step, removed afterwards whatever happens. */
export async function withScratchDir<T>(fn: (dir: string) => Promise<T>, base = tmpdir()): Promise<T> {
  // The base may not exist yet: with an S3 lake and a PostgreSQL warehouse nothing else creates the home.
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, 'ecluse-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
      await session.run(
        `INSERT INTO ${ident(table)} (${columns.map(([c]) => ident(c)).join(', ')}) SELECT * FROM ${readCsvSql(path, columns)}`,
      );
    } finally {
      await rm(path, { force: true });
    }
    return rows.length;
  };
  return scratch ? go(scratch) : withScratchDir(go);
}
