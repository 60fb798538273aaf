// `npm run bench -- eco2mix`: the consolidated eco2mix history (12 regions, 2013 → last year, 30 minutes,
// all fields, ~2.7M records) as JSONL, raw → staging → curated (hour and day grains) on the embedded setup,
// against DuckDB alone reading the same file and writing the day grain's GROUP BY as one Parquet file,
// measured in the same run; with ECLUSE_BENCH_PG, the day grain as one GROUP BY in PostgreSQL over the
// rows an ecluse run loaded there.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { writeEco2mix } from '../src/connectors/generators/eco2mix.js';
import { ECO2MIX_SOURCES } from '../src/connectors/opendatasoft/eco2mix/fields.js';
import { DuckSession, literal } from '../src/engine/duckdb.js';
import { openLake } from '../src/lake/open.js';
import { executeRun } from '../src/orchestrator/runner.js';
import { eco2mixPipeline } from '../src/pipelines/eco2mix/pipeline.js';
import type { Platform } from '../src/pipelines/kit/pipeline.js';
import { openWarehouse } from '../src/warehouse/open.js';
import { machine } from './stations.js';
import { measureIncrementalUpdate, type UpdateFigures } from './eco2mixUpdate.js';
import { withPeakRss, fmt, mb, stepsLine } from './measure.js';

const ROOT = resolve(import.meta.dirname, '..');
const WORK = join(ROOT, 'bench', '.work', 'eco2mix');
const LAST_YEAR = new Date().getUTCFullYear() - 1;
const HISTORY = { regions: 'all' as const, from: '2013-01-01', to: `${LAST_YEAR}-12-31`, dataset: 'cons-def' as const, seed: 1 };
const PG_URL = process.env.ECLUSE_BENCH_PG;
// No limit by default, as a user's first run; BENCH_MEMORY_LIMIT=… sets DuckDB's for both sides.
const MEMORY_LIMIT = process.env.BENCH_MEMORY_LIMIT;
const PG_SCHEMA = 'ecluse_bench_eco2mix';

/** The JSONL field of each source, as the datasets name them (the baseline reads the file as it is). */
const FIELD_OF: Record<(typeof ECO2MIX_SOURCES)[number], string> = {
  consumption: 'consommation',
  thermal: 'thermique',
  nuclear: 'nucleaire',
  wind: 'eolien',
  wind_onshore: 'eolien_terrestre',
  wind_offshore: 'eolien_offshore',
  solar: 'solaire',
  hydro: 'hydraulique',
  pumping: 'pompage',
  bioenergy: 'bioenergies',
  battery_charge: 'stockage_batterie',
  battery_discharge: 'destockage_batterie',
  exchanges: 'ech_physiques',
};

/** The input, generated once and cached under bench/.work/eco2mix/. */
async function ensureInput(): Promise<string> {
  await mkdir(WORK, { recursive: true });
  const path = join(WORK, `cons-def-2013-${LAST_YEAR}.jsonl`);
  if (existsSync(path)) return path;
  const t0 = performance.now();
  const { rows } = await writeEco2mix(`${path}.part`, 'jsonl', HISTORY);
  await rename(`${path}.part`, path);
  console.log(`generated ${rows} records as JSONL in ${fmt(performance.now() - t0)}`);
  return path;
}

/**
 * The day grain as the engine alone computes it from the file: per region × source × Paris day, the
 * samples' avg/min/max, energy (MW × 0.5 h) and count. `""`, `"-"`, `"ND"` do not cast: missing.
 */
function dayGrainSql(path: string): string {
  const cols = [
    `code_insee_region: 'VARCHAR'`,
    `date_heure: 'TIMESTAMPTZ'`,
    `nature: 'VARCHAR'`,
    ...ECO2MIX_SOURCES.map((s) => `${literal(FIELD_OF[s])}: 'VARCHAR'`),
  ].join(', ');
  return `SELECT code_insee_region AS region_code, source, CAST(timezone('Europe/Paris', date_heure) AS DATE) AS day,
      avg(mw) AS avg_mw, min(mw) AS min_mw, max(mw) AS max_mw, sum(mw * 0.5) AS energy_mwh, count(*) AS samples
    FROM (
      UNPIVOT (SELECT code_insee_region, date_heure, ${ECO2MIX_SOURCES.map((s) => `TRY_CAST(${FIELD_OF[s]} AS DOUBLE) AS ${s}`).join(', ')}
               FROM read_json(${literal(path)}, format = 'newline_delimited', columns = {${cols}}))
      ON ${ECO2MIX_SOURCES.join(', ')} INTO NAME source VALUE mw)
    GROUP BY ALL`;
}

/** DuckDB alone: reading the JSONL and writing the day grain as one Parquet file. */
async function duckdbAlone(path: string, out: string): Promise<{ ms: number; rows: number }> {
  const s = await DuckSession.open(':memory:', MEMORY_LIMIT ? { memoryLimit: MEMORY_LIMIT } : {});
  try {
    const t0 = performance.now();
    await s.run(`COPY (${dayGrainSql(path)}) TO ${literal(out)} (FORMAT parquet)`);
    const ms = performance.now() - t0;
    const rows = Number(await s.scalar<bigint>(`SELECT count(*) FROM read_parquet(${literal(out)})`));
    return { ms, rows };
  } finally {
    s.close();
    await rm(out, { force: true });
  }
}

/**
 * DuckDB alone writing what ecluse writes, without the platform's rules (nature precedence, history,
 * warehouse tables, the lake's months, national totals): the records as one staging Parquet file, then the
 * hour grain and the day grain of every source, each as one Parquet file. A second baseline: how much of
 * ecluse's time is its outputs, not its overhead.
 */
async function duckdbAloneSameOutputs(path: string, dir: string): Promise<{ ms: number; rows: number }> {
  const s = await DuckSession.open(':memory:', MEMORY_LIMIT ? { memoryLimit: MEMORY_LIMIT } : {});
  await mkdir(dir, { recursive: true });
  try {
    const t0 = performance.now();
    const cols = [
      `code_insee_region: 'VARCHAR'`,
      `date_heure: 'TIMESTAMPTZ'`,
      `nature: 'VARCHAR'`,
      ...ECO2MIX_SOURCES.map((x) => `${literal(FIELD_OF[x])}: 'VARCHAR'`),
    ].join(', ');
    await s.run(`CREATE TABLE obs AS SELECT code_insee_region AS region_code, date_heure AS observed_at, nature,
        ${ECO2MIX_SOURCES.map((x) => `TRY_CAST(${FIELD_OF[x]} AS DOUBLE) AS ${x}`).join(', ')}
      FROM read_json(${literal(path)}, format = 'newline_delimited', columns = {${cols}})`);
    await s.run(`COPY (SELECT * FROM obs ORDER BY region_code, observed_at) TO ${literal(join(dir, 'staging.parquet'))} (FORMAT parquet)`);
    const grain = (period: string) => `SELECT region_code, source, ${period} AS period,
        avg(mw) AS avg_mw, min(mw) AS min_mw, max(mw) AS max_mw, sum(mw * 0.5) AS energy_mwh, count(*) AS samples
      FROM (UNPIVOT obs ON ${ECO2MIX_SOURCES.join(', ')} INTO NAME source VALUE mw) GROUP BY ALL`;
    await s.run(`COPY (${grain(`date_trunc('hour', observed_at)`)}) TO ${literal(join(dir, 'hour.parquet'))} (FORMAT parquet)`);
    await s.run(`COPY (${grain(`CAST(timezone('Europe/Paris', observed_at) AS DATE)`)}) TO ${literal(join(dir, 'day.parquet'))} (FORMAT parquet)`);
    const ms = performance.now() - t0;
    const rows = Number(await s.scalar<bigint>(`SELECT count(*) FROM read_parquet(${literal(join(dir, 'hour.parquet'))})`));
    return { ms, rows };
  } finally {
    s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function openBenchPlatform(home: string, warehouse?: string): Promise<Platform> {
  await rm(home, { recursive: true, force: true });
  const env: Record<string, string> = { ECLUSE_HOME: home };
  if (warehouse) env.ECLUSE_WAREHOUSE = warehouse;
  if (MEMORY_LIMIT) env.ECLUSE_DUCKDB_MEMORY_LIMIT = MEMORY_LIMIT;
  const config = loadConfig(env, ROOT);
  return { config, lake: openLake(config), warehouse: await openWarehouse(config, { command: 'bench eco2mix' }) };
}

interface RunFigures {
  ms: number;
  peak: number;
  rows: number;
  stats: number;
  steps: Record<string, number> | null;
}

/** `executeRun(eco2mixPipeline, { inputs: [FILE] })` in process on a new home: what `ecluse run eco2mix --input FILE` will run. */
async function ecluseRun(path: string, home: string, warehouse?: string, keep?: (platform: Platform) => Promise<void>): Promise<RunFigures> {
  const platform = await openBenchPlatform(home, warehouse);
  try {
    const r = await withPeakRss(() => executeRun(platform, eco2mixPipeline, { inputs: [path], trigger: 'cli' }));
    if (r.value.status !== 'succeeded') throw new Error(`run failed: ${r.value.error}`);
    const run = await platform.warehouse.getRun(r.value.run_id);
    const [stats] = await platform.warehouse.query(`SELECT count(*) AS n FROM regional_energy_stats`);
    if (keep) await keep(platform);
    return { ms: r.ms, peak: r.peak, rows: r.value.rows_written, stats: Number(stats?.n ?? 0), steps: run?.steps ?? null };
  } finally {
    await platform.warehouse.close();
    await rm(home, { recursive: true, force: true });
  }
}

/** The day grain as one GROUP BY in PostgreSQL over `regional_observations` (the sources unpivoted by a LATERAL VALUES). */
const PG_DAY_GRAIN = `
  SELECT o.region_code, v.source, (o.observed_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/Paris')::date AS day,
    avg(v.mw) AS avg_mw, min(v.mw) AS min_mw, max(v.mw) AS max_mw, sum(v.mw * 0.5) AS energy_mwh, count(*) AS samples
  FROM regional_observations o
  CROSS JOIN LATERAL (VALUES ${ECO2MIX_SOURCES.map((s) => `('${s}', o.${s})`).join(', ')}) AS v(source, mw)
  WHERE v.mw IS NOT NULL
  GROUP BY 1, 2, 3`;

export async function main(): Promise<void> {
  console.log(`machine: ${machine()}; DuckDB memory_limit ${MEMORY_LIMIT ?? 'not set'}`);
  const path = await ensureInput();
  console.log(`input: ${path.split('/').pop()}, ${mb((await stat(path)).size)}`);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  const alone: { ms: number; rows: number }[] = [];
  const runs: RunFigures[] = [];
  let update: UpdateFigures | undefined;
  for (let i = 0; i < rounds; i++) {
    alone.push(await duckdbAlone(path, join(WORK, 'alone.parquet')));
    // On the last round's home, holding the whole history: the 15-minute updates of a day after it.
    const last = i === rounds - 1;
    runs.push(await ecluseRun(path, join(WORK, `home-${i}`), undefined, last ? async (p) => void (update = await updatesAfterHistory(p)) : undefined));
  }
  const bestAlone = Math.min(...alone.map((a) => a.ms));
  const same = await duckdbAloneSameOutputs(path, join(WORK, 'alone-same'));
  const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  const peak = Math.max(...runs.map((r) => r.peak));
  console.log(
    `DuckDB alone (read_json → day-grain GROUP BY → one Parquet file, ${alone[0]?.rows ?? 0} rows): ${alone.map((a) => fmt(a.ms)).join(', ')}  best ${fmt(bestAlone)}`,
  );
  console.log(
    `ecluse eco2mix run (in process, raw → staging → curated hour + day): ${runs.map((r) => fmt(r.ms)).join(', ')}  best ${fmt(best.ms)}, ` +
      `${best.rows} rows (${Math.round(best.rows / (best.ms / 1000))} rows/s), ${best.stats} regional_energy_stats rows, peak RSS ${mb(peak)}`,
  );
  console.log(`  steps: ${stepsLine(best.steps)}`);
  console.log(
    `DuckDB alone writing the same outputs (staging, hour and day grains as three Parquet files; ${same.rows} hour rows): ${fmt(same.ms)}; ` +
      `ecluse / that: ${(best.ms / same.ms).toFixed(2)}×`,
  );
  console.log(
    `ratio ecluse / DuckDB alone: ${(best.ms / bestAlone).toFixed(2)}× (best of ${rounds}; target ≤ 2×); ` +
      `time ${fmt(best.ms)} (target < 15 s); peak RSS ${mb(peak)} (target < 1024 MB)`,
  );

  if (!PG_URL) {
    console.log('\nPostgreSQL: skipped (set ECLUSE_BENCH_PG=postgres://… to load the rows there and time the day grain as one GROUP BY)');
  } else {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      await admin.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
      const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}schema=${PG_SCHEMA}`;
      const run = await ecluseRun(path, join(WORK, 'home-pg'), url, async () => {
        await admin.query(`SET search_path TO ${PG_SCHEMA}`);
        await admin.query('ANALYZE regional_observations');
        const times: number[] = [];
        let rows = 0;
        for (let i = 0; i < Math.max(rounds, 1); i++) {
          const t0 = performance.now();
          rows = (await admin.query(PG_DAY_GRAIN)).rowCount ?? 0;
          times.push(performance.now() - t0);
        }
        const bestPg = Math.min(...times);
        console.log(
          `\nPostgreSQL day-grain GROUP BY over regional_observations (${rows} rows): ${times.map(fmt).join(', ')}  best ${fmt(bestPg)}, ` +
            `${(bestPg / bestAlone).toFixed(2)}× DuckDB alone (file → Parquet)`,
        );
      });
      console.log(
        `ecluse eco2mix run on the PostgreSQL warehouse (folder lake): ${fmt(run.ms)}, ${run.rows} rows, ${run.stats} stats rows, peak RSS ${mb(run.peak)}`,
      );
      console.log(`  steps: ${stepsLine(run.steps)}`);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
      await admin.end();
    }
  }
  if (update) {
    console.log(
      `\nincremental 15-minute update onto the history (${update.updates} scheduled runs of ${update.day}, one slot of the 12 regions each, ` +
        `fetched from a loopback stand-in of ODRE): p50 ${update.p50_ms} ms, p90 ${update.p90_ms} ms, min ${update.min_ms} ms, max ${update.max_ms} ms ` +
        `(target p50 < 300 ms); ${update.rows_per_update} rows per update; median run's steps: ${stepsLine(update.steps)}`,
    );
  }
}

/** The first two weeks after the history loaded as real-time files, then the 15-minute updates of the next day. */
async function updatesAfterHistory(platform: Platform): Promise<UpdateFigures> {
  const month = join(WORK, 'tr-month.jsonl');
  await writeEco2mix(month, 'jsonl', { regions: 'all', from: `${LAST_YEAR + 1}-01-01`, to: `${LAST_YEAR + 1}-01-14`, dataset: 'tr', futureSlots: 0 });
  const pre = await executeRun(platform, eco2mixPipeline, { inputs: [month], trigger: 'cli' });
  if (pre.status !== 'succeeded') throw new Error(`real-time fortnight failed: ${pre.error}`);
  return measureIncrementalUpdate(platform, `${LAST_YEAR + 1}-01-15`);
}
