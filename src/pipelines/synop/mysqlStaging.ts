/**
 * The MySQL/MariaDB copy of the staging rows the old system's users query: one `synop_observations` table
 * (the warehouse's `observations` columns, key `(numer_sta, observed_at)`, first value kept) and a view per
 * city (`lille_lesquin`, …). Written by a run before its warehouse commit, in bulk (`LOAD DATA LOCAL INFILE`
 * of a CSV the engine writes), `IGNORE` on the key: a rerun after a crash re-inserts rows as no-ops.
 */
import { redactUrl } from '../../observability/redact.js';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { literal, type DuckSession } from '../../engine/duckdb.js';
import type { SqlType } from '../../warehouse/dataset.js';
import { OBSERVATIONS } from './schema.js';
import { RUN_OBS } from './load.js';

export const MYSQL_TABLE = 'synop_observations';

/** Whether a string is a URL this module can use (checked before a run does any work). */
export function assertMysqlUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw Object.assign(new Error('synop MySQL staging: the URL is not a URL (expected mysql://user:password@host:port/database)'), { retryable: false });
  }
  if (u.protocol !== 'mysql:') {
    throw Object.assign(new Error(`synop MySQL staging: ${redactUrl(url)} is not a mysql:// URL`), { retryable: false });
  }
  if (u.pathname.replace(/^\//, '') === '') {
    throw Object.assign(new Error(`synop MySQL staging: ${redactUrl(url)} names no database (mysql://…/database)`), { retryable: false });
  }
}

function mysqlType(column: string, t: SqlType): string {
  // Key columns need a bounded type to be indexed; station numbers are short (STATION_KEY in load.ts).
  if (column === 'numer_sta') return 'VARCHAR(32)';
  switch (t) {
    case 'VARCHAR':
      return 'TEXT';
    case 'INTEGER':
      return 'INT';
    case 'BIGINT':
      return 'BIGINT';
    case 'DOUBLE PRECISION':
      return 'DOUBLE';
    case 'TIMESTAMP':
      // Fractional seconds kept: `date` may carry them.
      return 'DATETIME(3)';
    case 'BOOLEAN':
      return 'BOOLEAN';
    default:
      return 'TEXT';
  }
}

const COLUMNS = OBSERVATIONS.columns;

function createTableSql(): string {
  const cols = COLUMNS.map(([c, t]) => `\`${c}\` ${mysqlType(c, t)}${OBSERVATIONS.primaryKey.includes(c) ? ' NOT NULL' : ''}`);
  return `CREATE TABLE IF NOT EXISTS \`${MYSQL_TABLE}\` (${cols.join(', ')}, PRIMARY KEY (${OBSERVATIONS.primaryKey.map((c) => `\`${c}\``).join(', ')})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
}

/** `run_obs` columns as text MySQL takes in both load paths: instants without zone, booleans as 0/1. */
function exportColumns(): { cols: string[]; quoted: string[] } {
  const quoted: string[] = [];
  const cols = COLUMNS.map(([c, t]) => {
    const q = `"${c}"`;
    if (t === 'BOOLEAN') return `CAST(${q} AS INTEGER) AS ${q}`;
    if (t === 'VARCHAR') quoted.push(q);
    if (t === 'TIMESTAMP') {
      quoted.push(q);
      return `strftime(${q}, '%Y-%m-%d %H:%M:%S.%g') AS ${q}`;
    }
    return q;
  });
  return { cols, quoted };
}

/**
 * The engine's COPY of `run_obs` as MySQL's LOAD DATA reads it (`ESCAPED BY ''`): text always quoted (quotes
 * doubled), NULL as the bare word NULL (so the text 'NULL', quoted, stays text), booleans as 0/1.
 */
function exportSql(path: string): string {
  const { cols, quoted } = exportColumns();
  return `COPY (SELECT ${cols.join(', ')} FROM ${RUN_OBS}) TO ${literal(path)} (FORMAT csv, HEADER false, NULLSTR 'NULL', FORCE_QUOTE (${quoted.join(', ')}))`;
}

/** `LILLE-LESQUIN` → `lille_lesquin`: accents dropped, anything but letters and digits one `_`. */
export function cityViewName(nom: string): string {
  return nom
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 64);
}

export interface MysqlStagingResult {
  /** Rows new to MySQL (duplicates of rows it had are ignored). */
  inserted: number;
  /** Rows the run offered. */
  offered: number;
  views: number;
  /** How the rows went in: `LOAD DATA LOCAL INFILE`, or multi-row inserts where the server refuses local files. */
  method: 'load_data' | 'insert';
}

async function connect(url: string): Promise<mysql.Connection> {
  // Loaded on first use: every command that runs a pipeline imports this module, few write to MySQL.
  const { default: driver } = await import('mysql2/promise');
  try {
    return await driver.createConnection({
      uri: url,
      connectTimeout: 10_000,
    });
  } catch (err) {
    throw new Error(`synop MySQL staging: cannot connect to ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
}

/** Creates the table and the city views (idempotent); the views cover every station the table holds. */
async function ensureMysqlTable(conn: mysql.Connection): Promise<void> {
  await conn.query(createTableSql());
}

async function refreshCityViews(conn: mysql.Connection): Promise<number> {
  const [rows] = await conn.query(`SELECT numer_sta, MAX(nom) AS nom FROM \`${MYSQL_TABLE}\` WHERE nom IS NOT NULL GROUP BY numer_sta ORDER BY numer_sta`);
  const byView = new Map<string, string[]>();
  for (const r of rows as { numer_sta: string; nom: string }[]) {
    const name = cityViewName(r.nom);
    if (name === '' || name === MYSQL_TABLE) continue;
    byView.set(name, [...(byView.get(name) ?? []), r.numer_sta]);
  }
  for (const [name, stations] of byView) {
    await conn.query(`CREATE OR REPLACE VIEW \`${name}\` AS SELECT * FROM \`${MYSQL_TABLE}\` WHERE numer_sta IN (?)`, [stations]);
  }
  return byView.size;
}

/** Rows per multi-row INSERT of the fallback: ~100 columns each, far below the 16 MB default packet. */
const INSERT_BATCH = 500;

/** MySQL 8 and MariaDB refuse LOAD DATA LOCAL unless `local_infile` is on (MySQL 8's default is off). */
function localInfileRefused(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string };
  return (
    e.code === 'ER_NOT_ALLOWED_COMMAND' ||
    e.code === 'ER_LOAD_INFILE_CAPABILITY_DISABLED' ||
    e.errno === 1148 ||
    e.errno === 3948 ||
    /local (data|infile)/i.test(e.message ?? '')
  );
}

/**
 * Each key MySQL already had is one "Duplicate entry" warning; any other is a value MySQL altered
 * (truncated, out of range): a silent change of data, so the run fails and says which.
 */
async function assertNoAlteredValues(conn: mysql.Connection, header: mysql.ResultSetHeader, offered: number, what: string): Promise<void> {
  const duplicates = offered - header.affectedRows;
  if (header.warningStatus <= duplicates) return;
  const [warnings] = await conn.query(`SHOW WARNINGS LIMIT 64`);
  const other = (warnings as { Code: number; Message: string }[]).filter((w) => w.Code !== 1062).slice(0, 3);
  throw new Error(`${what} altered values (${header.warningStatus - duplicates} warnings): ${other.map((w) => w.Message).join('; ') || 'see SHOW WARNINGS'}`);
}

async function loadDataLocal(conn: mysql.Connection, file: string, offered: number): Promise<number> {
  const cols = COLUMNS.map(([c]) => `\`${c}\``).join(', ');
  const [res] = await conn.query({
    sql: `LOAD DATA LOCAL INFILE ? IGNORE INTO TABLE \`${MYSQL_TABLE}\` CHARACTER SET utf8mb4
      FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '\\n' (${cols})`,
    values: [file],
    // Only the run's own file is ever sent, whatever path the server asks for.
    infileStreamFactory: (asked: string) => {
      if (asked !== file) throw new Error(`synop MySQL staging: the server asked for ${asked}, not the run's file`);
      return createReadStream(file);
    },
  });
  const header = res as mysql.ResultSetHeader;
  await assertNoAlteredValues(conn, header, offered, 'LOAD DATA');
  return header.affectedRows;
}

/** The fallback when LOAD DATA LOCAL is refused: `INSERT IGNORE` of INSERT_BATCH rows a statement, still never row by row. */
async function insertBatches(conn: mysql.Connection, s: DuckSession, offered: number): Promise<number> {
  const { cols } = exportColumns();
  const names = COLUMNS.map(([c]) => `\`${c}\``).join(', ');
  await s.run(`CREATE OR REPLACE TEMP TABLE mysql_rows AS SELECT row_number() OVER () AS rn, ${cols.join(', ')} FROM ${RUN_OBS}`);
  try {
    let inserted = 0;
    for (let from = 1; from <= offered; from += INSERT_BATCH) {
      const rows = await s.rows(`SELECT * EXCLUDE (rn) FROM mysql_rows WHERE rn BETWEEN $1 AND $2 ORDER BY rn`, [from, from + INSERT_BATCH - 1]);
      // BIGINT comes back as bigint, which the driver's escaping does not take: as text MySQL converts it.
      const values = rows.map((r) => COLUMNS.map(([c]) => (typeof r[c] === 'bigint' ? String(r[c]) : (r[c] ?? null))));
      const [res] = await conn.query(`INSERT IGNORE INTO \`${MYSQL_TABLE}\` (${names}) VALUES ?`, [values]);
      const header = res as mysql.ResultSetHeader;
      await assertNoAlteredValues(conn, header, values.length, 'INSERT');
      inserted += header.affectedRows;
    }
    return inserted;
  } finally {
    await s.run(`DROP TABLE IF EXISTS mysql_rows`);
  }
}

/**
 * Copies the run's `run_obs` (engine) into MySQL: one CSV written by the engine into `scratch`, one
 * `LOAD DATA LOCAL INFILE … IGNORE` (multi-row `INSERT IGNORE`s when the server refuses local files), then
 * the city views. Never row by row.
 */
export async function writeMysqlStaging(url: string, s: DuckSession, scratch: string): Promise<MysqlStagingResult> {
  assertMysqlUrl(url);
  const file = join(scratch, 'mysql_staging.csv');
  await s.run(exportSql(file));
  const offered = Number((await s.scalar<bigint | number>(`SELECT count(*) FROM ${RUN_OBS}`)) ?? 0);
  const conn = await connect(url);
  try {
    await ensureMysqlTable(conn);
    let inserted = 0;
    let method: MysqlStagingResult['method'] = 'load_data';
    if (offered > 0) {
      try {
        inserted = await loadDataLocal(conn, file, offered);
      } catch (err) {
        if (!localInfileRefused(err)) throw err;
        method = 'insert';
        inserted = await insertBatches(conn, s, offered);
      }
    }
    const views = await refreshCityViews(conn);
    return { inserted, offered, views, method };
  } catch (err) {
    throw new Error(`synop MySQL staging at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  } finally {
    await conn.end().catch(() => {});
  }
}

/** One round trip, for `/health`. */
export async function pingMysql(url: string): Promise<void> {
  assertMysqlUrl(url);
  const conn = await connect(url);
  try {
    await conn.ping();
  } finally {
    await conn.end().catch(() => {});
  }
}
