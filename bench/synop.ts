// `npm run bench -- synop`: a generated year of SYNOP (62 stations, all 82 fields) as JSONL and as a labels
// CSV, raw → staging → curated, against DuckDB alone on the same file (read + one Parquet write) measured
// in the same run, plus POST /ingest and a naive row-by-row baseline on a 10k slice (like the old system).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { openAsBlob } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/config.js';
import { DuckSession, literal } from '../src/engine/duckdb.js';
import { writeSynop } from '../src/connectors/generators/synop.js';
import { SYNOP_FIELDS } from '../src/connectors/opendatasoft/synop/fields.js';
import { openLake } from '../src/lake/open.js';
import type { Platform } from '../src/pipelines/kit/pipeline.js';
import { executeRun } from '../src/orchestrator/runner.js';
import { synopPipeline } from '../src/pipelines/synop/pipeline.js';
import { ROW_GROUP_ROWS } from '../src/pipelines/kit/monthPartitions.js';
import { openWarehouse } from '../src/warehouse/open.js';
import { machine } from './stations.js';
import { withPeakRss, fmt, mb, stepsLine } from './measure.js';

const ROOT = resolve(import.meta.dirname, '..');
const WORK = join(ROOT, 'bench', '.work', 'synop');
const YEAR = { stations: 62, from: '2024-01-01', to: '2024-12-31', seed: 1 };
// No limit by default, as a user's first run; BENCH_MEMORY_LIMIT=… sets one (the staging Parquet write
// then runs in several COPYs: see docs/BENCHMARKS.md, synop).
const MEMORY_LIMIT = process.env.BENCH_MEMORY_LIMIT;
const TOKEN = 'bench-synop-token';

/** The inputs, generated once and cached. */
async function ensureInputs(): Promise<{ jsonl: string; csv: string }> {
  await mkdir(WORK, { recursive: true });
  const jsonl = join(WORK, 'year.jsonl');
  const csv = join(WORK, 'year-labels.csv');
  for (const [path, format] of [
    [jsonl, 'jsonl'],
    [csv, 'csv-labels'],
  ] as const) {
    if (existsSync(path)) continue;
    const t0 = performance.now();
    const { rows } = await writeSynop(`${path}.part`, format, YEAR);
    await rm(path, { force: true });
    await (await import('node:fs/promises')).rename(`${path}.part`, path);
    console.log(`generated ${rows} observations as ${format} in ${fmt(performance.now() - t0)}`);
  }
  return { jsonl, csv };
}

/** How DuckDB alone reads the bench's file, and what its station and date columns are called there. */
function engineRead(path: string): { read: string; station: string; date: string } {
  return path.endsWith('.csv')
    ? { read: `read_csv(${literal(path)}, delim = ';', header = true, all_varchar = true)`, station: '"ID OMM station"', date: '"Date"' }
    : { read: `read_json(${literal(path)}, format = 'newline_delimited')`, station: 'numer_sta', date: 'date' };
}

/** DuckDB alone: the engine reading the file and writing it once as Parquet, same memory limit. */
async function duckdbAlone(path: string, out: string): Promise<number> {
  const s = await DuckSession.open(':memory:', MEMORY_LIMIT ? { memoryLimit: MEMORY_LIMIT } : {});
  try {
    const { read } = engineRead(path);
    const t0 = performance.now();
    await s.run(`COPY (SELECT * FROM ${read}) TO ${literal(out)} (FORMAT parquet)`);
    return performance.now() - t0;
  } finally {
    s.close();
    await rm(out, { force: true });
  }
}

/**
 * DuckDB alone writing the layout staging has (Parquet by UTC month, sorted by station then time, the
 * kit's row groups): the same read as `duckdbAlone`, one partitioned COPY. What the layout costs the
 * engine by itself, next to the one-file write the target is set against.
 */
async function duckdbAloneLayout(path: string, out: string): Promise<{ ms: number; files: number }> {
  const s = await DuckSession.open(':memory:', MEMORY_LIMIT ? { memoryLimit: MEMORY_LIMIT } : {});
  try {
    const { read, station, date } = engineRead(path);
    await rm(out, { recursive: true, force: true });
    const t0 = performance.now();
    await s.run(
      `COPY (SELECT *, strftime(timezone('UTC', ${date}::TIMESTAMPTZ), '%Y-%m') AS month FROM ${read} ORDER BY month, ${station}, ${date})
       TO ${literal(out)} (FORMAT parquet, PARTITION_BY (month), WRITE_BLOOM_FILTER false, ROW_GROUP_SIZE ${ROW_GROUP_ROWS})`,
    );
    const ms = performance.now() - t0;
    const files = (await readdir(out, { recursive: true })).filter((f) => f.endsWith('.parquet')).length;
    return { ms, files };
  } finally {
    s.close();
    await rm(out, { recursive: true, force: true });
  }
}

async function openBenchPlatform(home: string): Promise<Platform> {
  await rm(home, { recursive: true, force: true });
  const env: Record<string, string> = { ECLUSE_HOME: home, ECLUSE_API_TOKEN: TOKEN };
  if (MEMORY_LIMIT) env.ECLUSE_DUCKDB_MEMORY_LIMIT = MEMORY_LIMIT;
  const config = loadConfig(env, ROOT);
  return { config, lake: openLake(config), warehouse: await openWarehouse(config, { command: 'bench synop' }) };
}

interface RunFigures {
  ms: number;
  /** Parquet files in the lake's staging and curated zones after the run. */
  lakeFiles?: number;
  peak: number;
  rows: number;
  steps: Record<string, number> | null;
}

/** `ecluse run synop --input FILE` in process: the CLI's path (executeRun), process start excluded. */
async function ecluseRun(path: string, home: string): Promise<RunFigures> {
  const platform = await openBenchPlatform(home);
  try {
    const r = await withPeakRss(() => executeRun(platform, synopPipeline, { inputs: [path], trigger: 'cli' }));
    if (r.value.status !== 'succeeded') throw new Error(`run failed: ${r.value.error}`);
    const run = await platform.warehouse.getRun(r.value.run_id);
    const lakeFiles = (await platform.lake.list('staging/')).length + (await platform.lake.list('curated/')).length;
    return { ms: r.ms, peak: r.peak, rows: r.value.rows_written, steps: run?.steps ?? null, lakeFiles };
  } finally {
    await platform.warehouse.close();
    await rm(home, { recursive: true, force: true });
  }
}

/** POST /ingest of the file through the server (multipart, streamed), answered with the run summary. */
async function ingestRun(path: string, home: string): Promise<RunFigures | string> {
  const { buildApp } = await import('../src/server/app.js');
  const platform = await openBenchPlatform(home);
  const app = await buildApp({ platform, logger: { level: 'warn' } });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const form = new FormData();
    form.append('file', await openAsBlob(path), path.split('/').pop());
    const r = await withPeakRss(async () => {
      const res = await fetch(`${base}/ingest`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: form });
      return { status: res.status, body: (await res.json()) as { rows_written?: number; run_id?: number; message?: string } };
    });
    if (r.value.status !== 200) return `HTTP ${r.value.status}: ${r.value.body.message ?? JSON.stringify(r.value.body)}`;
    const run = r.value.body.run_id ? await platform.warehouse.getRun(r.value.body.run_id) : null;
    return { ms: r.ms, peak: r.peak, rows: r.value.body.rows_written ?? 0, steps: run?.steps ?? null };
  } finally {
    await app.close();
    await platform.warehouse.close();
    await rm(home, { recursive: true, force: true });
  }
}

/** VmRSS of a process, bytes. */
async function rssOf(pid: number): Promise<number> {
  const kb = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** The memory limit the server-process measurement gives DuckDB (the target: < 600 MB RSS with it set). */
const SERVER_MEMORY_LIMIT = process.env.BENCH_SERVER_MEMORY_LIMIT ?? '256MB';

interface ServerFigures {
  idle: number;
  uploadMs: number;
  uploadPeak: number;
  runMs: number;
  runPeak: number;
  status: string;
}

/**
 * POST /ingest to `ecluse up` in its own process (the compiled CLI, as `npx ecluse up` runs it), DuckDB's
 * memory_limit set, schedules off: the server's RSS read from /proc every 20 ms, split at the first
 * progress line (the upload is on disk, the run starts).
 */
async function ingestServerProcess(path: string, home: string): Promise<ServerFigures | string> {
  const cli = join(ROOT, 'dist', 'cli', 'main.js');
  if (!existsSync(cli)) return 'skipped: dist/cli/main.js missing (npm run build)';
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true });
  const configFile = join(home, 'ecluse.config.json');
  await writeFile(configFile, JSON.stringify({ schedules: { stations: { cron: '0 0 * * *', enabled: false }, synop: { cron: '0 1 * * *', enabled: false } } }));
  const child = spawn(process.execPath, [cli, 'up'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ECLUSE_HOME: home,
      ECLUSE_CONFIG: configFile,
      ECLUSE_API_TOKEN: TOKEN,
      ECLUSE_DUCKDB_MEMORY_LIMIT: SERVER_MEMORY_LIMIT,
      PORT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      let out = '';
      const onData = (c: Buffer) => {
        out += c.toString('utf8');
        const m = /ecluse API on (http:\/\/\S+)/.exec(out);
        if (m?.[1]) resolveUrl(m[1]);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`ecluse up exited ${code}: ${out}`)));
    });
    const pid = child.pid as number;
    await new Promise((r) => setTimeout(r, 500));
    const idle = await rssOf(pid);
    let uploading = true;
    let uploadPeak = idle;
    let runPeak = idle;
    const sampler = setInterval(() => {
      void rssOf(pid).then(
        (rss) => {
          if (uploading) uploadPeak = Math.max(uploadPeak, rss);
          else runPeak = Math.max(runPeak, rss);
        },
        () => undefined,
      );
    }, 20);
    const form = new FormData();
    form.append('file', await openAsBlob(path), path.split('/').pop());
    const t0 = performance.now();
    let t1 = t0;
    let last = '';
    try {
      const res = await fetch(`${url}/ingest`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/x-ndjson' }, body: form });
      if (!res.body) return `HTTP ${res.status}`;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        if (uploading) {
          uploading = false;
          t1 = performance.now();
        }
        last += Buffer.from(chunk).toString('utf8');
      }
    } finally {
      clearInterval(sampler);
    }
    const summary = (JSON.parse(last.trim().split('\n').at(-1) ?? '{}') as { summary?: { status?: string; error?: string } }).summary;
    return {
      idle,
      uploadMs: t1 - t0,
      uploadPeak,
      runMs: performance.now() - t1,
      runPeak,
      status: summary?.status === 'succeeded' ? 'succeeded' : `${summary?.status}: ${summary?.error ?? last.slice(-300)}`,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(home, { recursive: true, force: true });
  }
}

/** The old system's way: one INSERT per record (parsed with JSON.parse), on the first `n` lines. */
async function naiveRowByRow(path: string, n: number): Promise<number> {
  const fh = await open(path, 'r');
  const lines: string[] = [];
  try {
    for await (const line of fh.readLines()) {
      lines.push(line);
      if (lines.length === n) break;
    }
  } finally {
    await fh.close();
  }
  const s = await DuckSession.open(':memory:');
  try {
    const names = SYNOP_FIELDS.map((f) => f.name);
    await s.run(`CREATE TABLE obs (${names.map((c) => `"${c}" VARCHAR`).join(', ')})`);
    const sql = `INSERT INTO obs VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`;
    const t0 = performance.now();
    for (const line of lines) {
      const o = JSON.parse(line) as Record<string, unknown>;
      await s.run(
        sql,
        names.map((c) => {
          const v = o[c];
          return v === null || v === undefined ? null : typeof v === 'object' ? JSON.stringify(v) : String(v);
        }),
      );
    }
    return performance.now() - t0;
  } finally {
    s.close();
  }
}

export async function main(): Promise<void> {
  console.log(`machine: ${machine()}; DuckDB memory_limit ${MEMORY_LIMIT ?? 'not set'}`);
  const { jsonl, csv } = await ensureInputs();
  const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
  for (const [label, path] of [
    ['JSONL', jsonl],
    ['CSV (labels)', csv],
  ] as const) {
    const size = (await stat(path)).size;
    console.log(`\n[${label}] ${path.split('/').pop()}, ${mb(size)}`);
    const alone: number[] = [];
    const layout: { ms: number; files: number }[] = [];
    const runs: RunFigures[] = [];
    for (let i = 0; i < rounds; i++) {
      alone.push(await duckdbAlone(path, join(WORK, 'alone.parquet')));
      layout.push(await duckdbAloneLayout(path, join(WORK, 'alone-layout')));
      runs.push(await ecluseRun(path, join(WORK, `home-${i}`)));
    }
    const bestAlone = Math.min(...alone);
    const bestLayout = Math.min(...layout.map((l) => l.ms));
    const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
    console.log(`DuckDB alone (read → one Parquet file): ${alone.map(fmt).join(', ')}  best ${fmt(bestAlone)}`);
    console.log(
      `DuckDB alone (read → staging layout, by month, ${layout[0]?.files ?? 0} files): ${layout.map((l) => fmt(l.ms)).join(', ')}  ` +
        `best ${fmt(bestLayout)}, ${(bestLayout / bestAlone).toFixed(2)}× the one-file write`,
    );
    console.log(
      `ecluse run synop (in process, raw → staging → curated): ${runs.map((r) => fmt(r.ms)).join(', ')}  best ${fmt(best.ms)}, ` +
        `${best.rows} rows (${Math.round(best.rows / (best.ms / 1000))} rows/s), peak RSS ${mb(Math.max(...runs.map((r) => r.peak)))}, ${best.lakeFiles ?? 0} staging + curated files`,
    );
    console.log(`  steps: ${stepsLine(best.steps)}`);
    console.log(
      `ratio ecluse / DuckDB alone: ${(best.ms / bestAlone).toFixed(2)}× (best of ${rounds}; target ≤ 3×, goal 2×); ` +
        `/ DuckDB alone writing the staging layout: ${(best.ms / bestLayout).toFixed(2)}×`,
    );
    if (label === 'JSONL') {
      const ingest = await ingestRun(path, join(WORK, 'home-ingest'));
      if (typeof ingest === 'string') console.log(`POST /ingest: ${ingest}`);
      else {
        console.log(
          `POST /ingest (upload + run, same process): ${fmt(ingest.ms)}, ${ingest.rows} rows (${Math.round(ingest.rows / (ingest.ms / 1000))} rows/s), ` +
            `peak RSS ${mb(ingest.peak)}, ratio ${(ingest.ms / bestAlone).toFixed(2)}×`,
        );
      }
      const server = await ingestServerProcess(path, join(WORK, 'home-server'));
      if (typeof server === 'string') console.log(`POST /ingest to an ecluse up process: ${server}`);
      else {
        console.log(
          `POST /ingest to an ecluse up process (memory_limit ${SERVER_MEMORY_LIMIT}): ${server.status}; server RSS ${mb(server.idle)} idle, ` +
            `peak ${mb(server.uploadPeak)} during the upload (${fmt(server.uploadMs)}; target < 300 MB), ` +
            `peak ${mb(Math.max(server.uploadPeak, server.runPeak))} including the run (${fmt(server.runMs)}; target < 600 MB)`,
        );
      }
      const slice = 10_000;
      const naive = await naiveRowByRow(path, slice);
      const naiveRate = slice / (naive / 1000);
      console.log(
        `naive baseline (JSON.parse + one INSERT per row, ${slice} rows): ${fmt(naive)}, ${Math.round(naiveRate)} rows/s ` +
          `→ a year would take ~${fmt((best.rows / naiveRate) * 1000)} (${(best.rows / naiveRate / (best.ms / 1000)).toFixed(0)}× ecluse)`,
      );
    }
  }
}
