import { spawnSync, execFileSync } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DuckSession, literal } from '../src/engine/duckdb.js';
import { REPORTS } from '../src/pipelines/stations/schema.js';
import { createTableSql, quoteIdent } from '../src/warehouse/dataset.js';
import { PostgresWarehouse } from '../src/warehouse/postgresWarehouse.js';
import { ensureStationsInput, machine } from './stations.js';
import { fmt } from './measure.js';

const ROOT = resolve(import.meta.dirname, '..');
const WORK = join(ROOT, 'bench', '.work', 'postgres');
const PG = process.env.ECLUSE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'ecluse_bench';

const perSecond = (rows: number, ms: number) => `${Math.round(rows / (ms / 1000)).toLocaleString('en')} rows/s`;

/**
 * The PostgreSQL load path of `insertNew` (engine → CSV → COPY into a temporary table → INSERT … ON CONFLICT
 * DO NOTHING into `reports` with its primary key) against a raw COPY of the same CSV into the same table
 * (same key), and into a table without any index: the ceiling.
 */
export async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  console.log('building dist/ …');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const { jsonDir } = await ensureStationsInput();
  await mkdir(WORK, { recursive: true });
  const source = join(WORK, 'source', 'warehouse.duckdb');
  if (!existsSync(source)) {
    console.log('loading the input once into an embedded warehouse …');
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'run', 'stations', '--input', jsonDir, '--json'], {
      env: { ...process.env, ECLUSE_HOME: join(WORK, 'source') },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`ecluse run failed: ${r.stderr}`);
  }
  const engine = await DuckSession.open();
  await engine.run(`ATTACH ${literal(source)} AS src (READ_ONLY)`);
  const cols = REPORTS.columns.map(([c]) => quoteIdent(c)).join(', ');
  await engine.run(`CREATE TEMP TABLE run_reports AS SELECT ${cols} FROM src.reports ORDER BY station_id, observed_at`);
  const rows = Number(await engine.scalar<bigint>(`SELECT count(*) FROM run_reports`));
  const csv = join(WORK, 'reports.csv');
  const t0 = performance.now();
  await engine.run(`COPY run_reports TO ${literal(csv)} (FORMAT csv, HEADER false)`);
  const exportMs = performance.now() - t0;
  console.log(`rows: ${rows.toLocaleString('en')} reports, CSV ${((await stat(csv)).size / 1024 ** 2).toFixed(1)} MB, written by DuckDB in ${fmt(exportMs)}`);

  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.query(`CREATE SCHEMA ${SCHEMA}`);
  await admin.query(`SET search_path TO ${SCHEMA}`);
  const rawCopy = async (withKey: boolean): Promise<number> => {
    await admin.query(`DROP TABLE IF EXISTS reports`);
    await admin.query(createTableSql(REPORTS, withKey));
    const t = performance.now();
    await pipeline(createReadStream(csv), admin.query(copyFrom(`COPY reports (${cols}) FROM STDIN (FORMAT csv)`)));
    return performance.now() - t;
  };

  const wh = await PostgresWarehouse.open(`${PG}?schema=${SCHEMA}`);
  const rounds = 3;
  const raw: number[] = [];
  const rawNoKey: number[] = [];
  const ours: number[] = [];
  const again: number[] = [];
  let inserted = 0;
  let reinserted = -1;
  for (let i = 0; i < rounds; i++) {
    rawNoKey.push(await rawCopy(false));
    raw.push(await rawCopy(true));
    await admin.query(`DROP TABLE IF EXISTS reports`);
    await wh.ensureDataset(REPORTS);
    let t = performance.now();
    inserted = await wh.insertNew(REPORTS, engine, `SELECT * FROM run_reports`);
    ours.push(performance.now() - t);
    t = performance.now();
    reinserted = await wh.insertNew(REPORTS, engine, `SELECT * FROM run_reports`);
    again.push(performance.now() - t);
  }
  await wh.close();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.end();
  engine.close();
  await rm(csv, { force: true });

  const best = (xs: number[]) => Math.min(...xs);
  console.log(`\nraw COPY, no index:              ${raw.length ? rawNoKey.map(fmt).join(', ') : ''}  best ${perSecond(rows, best(rawNoKey))}`);
  console.log(`raw COPY into reports (its key):  ${raw.map(fmt).join(', ')}  best ${perSecond(rows, best(raw))}`);
  console.log(`ecluse insertNew (export + COPY + merge): ${ours.map(fmt).join(', ')}  best ${perSecond(rows, best(ours))}, inserted ${inserted}`);
  console.log(`ecluse insertNew of the same rows again:  ${again.map(fmt).join(', ')}  inserted ${reinserted}`);
  console.log(`ratio ecluse / raw COPY into reports: ${((100 * best(raw)) / best(ours)).toFixed(0)} % of the rows/s (target ≥ 70 %)`);
  console.log(`ratio ecluse / raw COPY, no index:    ${((100 * best(rawNoKey)) / best(ours)).toFixed(0)} %`);
}
