import http from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../src/config/config.js';
import { dayBounds } from '../src/time/zones.js';
import { generateStations } from '../src/connectors/generators/stations.js';
import { openLake } from '../src/lake/open.js';
import type { Platform } from '../src/pipelines/kit/pipeline.js';
import { executeRun } from '../src/orchestrator/runner.js';
import { stationsPipeline } from '../src/pipelines/stations/pipeline.js';
import { REPORT_COLUMNS } from '../src/pipelines/stations/schema.js';
import { buildApp } from '../src/server/app.js';
import { openWarehouse } from '../src/warehouse/open.js';

/**
 * `npm run bench -- api [--warehouse postgres://…] [--seconds N]`: the station-day endpoint under 8
 * concurrent keep-alive clients on loopback, next to a bare node:http server returning the same bytes
 * (the floor), both warmed up and measured in the same run, rounds interleaved. The load generator runs in
 * a worker thread so that it does not share the servers' event loop (it still shares the machine's cores).
 * `ECLUSE_BENCH_PG=postgres://…` adds a PostgreSQL round after the embedded one.
 */

const ROOT = resolve(import.meta.dirname, '..');
const WORK = join(ROOT, 'bench', '.work', 'api');
const STATIONS = 20;
const DAYS = 28;
const START = '2024-10-01';
const CLIENTS = 8;

interface LoadJob {
  base: string;
  paths: string[];
  clients: number;
  durationMs: number;
}
interface LoadResult {
  latencies: Float64Array;
  errors: number;
  ms: number;
}

/**
 * The load generator, run in a worker thread: `clients` loops, each with its own keep-alive connection,
 * over the paths in turn, for a fixed time. Plain JavaScript evaluated by the worker (Node 20 does not
 * hand tsx's loader to workers); it posts back the latencies in ms.
 */
const LOAD_WORKER = `
const http = require('node:http');
const { parentPort, workerData: job } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
(async () => {
  const latencies = [];
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + job.durationMs;
  const client = async (k) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let i = k * Math.floor(job.paths.length / job.clients);
    while (performance.now() < end) {
      const path = job.paths[i++ % job.paths.length];
      const t = performance.now();
      const status = await new Promise((res, rej) => {
        http.get(job.base + path, { agent }, (r) => { r.on('data', () => {}); r.on('end', () => res(r.statusCode)); }).on('error', rej);
      });
      latencies.push(performance.now() - t);
      if (status !== 200) errors++;
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: job.clients }, (_, k) => client(k)));
  const buf = Float64Array.from(latencies);
  parentPort.postMessage({ latencies: buf, errors, ms: performance.now() - t0 }, [buf.buffer]);
})();
`;

function loadInWorker(job: LoadJob): Promise<LoadResult> {
  return new Promise((res, rej) => {
    const w = new Worker(LOAD_WORKER, { eval: true, workerData: job });
    w.once('message', (m: LoadResult) => res(m));
    w.once('error', rej);
  });
}

interface Stats {
  n: number;
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}

function stats(results: LoadResult[]): Stats {
  const all = Float64Array.from(results.flatMap((r) => [...r.latencies])).sort();
  const q = (p: number) => all[Math.min(all.length - 1, Math.floor(p * all.length))] ?? NaN;
  const ms = results.reduce((s, r) => s + r.ms, 0);
  return { n: all.length, p50: q(0.5), p99: q(0.99), rps: all.length / (ms / 1000), errors: results.reduce((s, r) => s + r.errors, 0) };
}

const f = (ms: number) => `${ms.toFixed(3)} ms`;

async function openBenchPlatform(warehouse: string | undefined): Promise<Platform> {
  const home = join(WORK, warehouse ? 'home-postgres' : 'home-duckdb');
  const config = loadConfig({ ECLUSE_HOME: home, ...(warehouse ? { ECLUSE_WAREHOUSE: warehouse } : {}) }, ROOT);
  return { config, lake: openLake(config), warehouse: await openWarehouse(config, { command: 'bench api' }) };
}

/** Loads the generated files once per warehouse; later benchmark runs reuse it. */
async function ensureData(platform: Platform, input: string): Promise<void> {
  if ((await platform.warehouse.listRuns({ status: 'succeeded', limit: 1 })).total > 0) return;
  const t0 = performance.now();
  const s = await executeRun(platform, stationsPipeline, { inputs: [input], trigger: 'cli' });
  if (s.status !== 'succeeded') throw new Error(`ingest failed: ${s.error}`);
  console.log(`loaded ${s.rows_written} reports in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function get(url: string): Promise<Buffer> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: HTTP ${r.status}`);
  return Buffer.from(await r.arrayBuffer());
}

async function benchWarehouse(label: string, warehouse: string | undefined, input: string, seconds: number): Promise<void> {
  const platform = await openBenchPlatform(warehouse);
  try {
    await ensureData(platform, input);
    const stations = (await platform.warehouse.query('SELECT DISTINCT station_id FROM reports ORDER BY 1')).map((r) => String(r.station_id));
    const days = Array.from({ length: DAYS }, (_, i) => new Date(Date.parse(`${START}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10));
    // Interleaved so that consecutive requests hit different stations and days.
    const pairs = days.flatMap((d) => stations.map((s) => ({ s, d })));
    const paths = pairs.map(({ s, d }) => `/stations/${encodeURIComponent(s)}/reports?date=${d}`);
    console.log(`\n[${label}] ${platform.warehouse.kind} warehouse, ${stations.length} stations × ${days.length} days = ${paths.length} station-day URLs`);

    // Engine side: the bare station-day query through the Warehouse interface, uncached.
    const sql = `SELECT ${REPORT_COLUMNS.join(', ')} FROM reports WHERE station_id = $1 AND observed_at >= $2::TIMESTAMP AND observed_at < $3::TIMESTAMP ORDER BY observed_at LIMIT 1000`;
    const engine: number[] = [];
    let rows = 0;
    for (let round = 0; round < 2; round++) {
      for (const { s, d } of pairs) {
        const b = dayBounds(d, 'Europe/Paris');
        const t = performance.now();
        const r = await platform.warehouse.query(sql, [s, b.from.toISOString().slice(0, 19), b.to.toISOString().slice(0, 19)]);
        if (round === 1) engine.push(performance.now() - t);
        rows += r.length;
      }
    }
    const e = stats([{ latencies: Float64Array.from(engine), errors: 0, ms: engine.reduce((a, b) => a + b, 0) }]);
    console.log(`engine: warehouse.query of the station-day SQL (${Math.round(rows / 2 / pairs.length)} rows avg), uncached: p50 ${f(e.p50)}  p99 ${f(e.p99)}`);

    const app = await buildApp({ platform, logger: { level: 'warn' } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const apiBase = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    // First request per URL: a cache miss (station lookup + query + serialisation), sequential.
    const bodies = new Map<string, Buffer>();
    const misses: number[] = [];
    for (const p of paths) {
      const t = performance.now();
      bodies.set(p, await get(apiBase + p));
      misses.push(performance.now() - t);
    }
    const m = stats([{ latencies: Float64Array.from(misses), errors: 0, ms: misses.reduce((a, b) => a + b, 0) }]);
    const bytes = [...bodies.values()].reduce((n, b) => n + b.length, 0) / bodies.size;
    console.log(`API first request per URL (cache miss), one client: p50 ${f(m.p50)}  p99 ${f(m.p99)}; body ${Math.round(bytes)} bytes avg`);

    const bare = http.createServer((req, res) => {
      const body = bodies.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length }).end(body);
    });
    bare.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const bareBase = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;
    for (const [p, b] of bodies) if (!(await get(apiBase + p)).equals(b) || !(await get(bareBase + p)).equals(b)) throw new Error(`bodies differ for ${p}`);

    const job = (base: string, ms: number): LoadJob => ({ base, paths, clients: CLIENTS, durationMs: ms });
    // Warm-up of both (JIT, sockets), then interleaved measured rounds.
    await loadInWorker(job(bareBase, 1500));
    await loadInWorker(job(apiBase, 1500));
    const rounds = 3;
    const bareRuns: LoadResult[] = [];
    const apiRuns: LoadResult[] = [];
    for (let i = 0; i < rounds; i++) {
      bareRuns.push(await loadInWorker(job(bareBase, (seconds * 1000) / rounds)));
      apiRuns.push(await loadInWorker(job(apiBase, (seconds * 1000) / rounds)));
    }
    const b = stats(bareRuns);
    const a = stats(apiRuns);
    const line = (name: string, s: Stats) =>
      `${name.padEnd(34)} p50 ${f(s.p50)}  p99 ${f(s.p99)}  ${Math.round(s.rps)} req/s  (${s.n} requests${s.errors ? `, ${s.errors} errors` : ''})`;
    console.log(`${CLIENTS} keep-alive clients, ${seconds} s each, ${rounds} interleaved rounds:`);
    console.log(line('bare node:http, same bytes', b));
    console.log(line('ecluse API (cached)', a));
    console.log(
      `ratio API / bare: p50 ${(a.p50 / b.p50).toFixed(2)}× (target ≤ 2×), p99 ${(a.p99 / b.p99).toFixed(2)}× (target ≤ 3×), throughput ${(a.rps / b.rps).toFixed(2)}×`,
    );
    await app.close();
    await new Promise((r) => bare.close(r));
  } finally {
    await platform.warehouse.close();
  }
}

export async function main(args: string[] = process.argv.slice(3)): Promise<void> {
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const seconds = Number(opt('seconds') ?? 15);
  const pg = opt('warehouse') ?? process.env.ECLUSE_BENCH_PG;
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}`);
  const input = join(WORK, 'input');
  if (!existsSync(join(input, `infoclimat-2024-10-${String(DAYS).padStart(2, '0')}.json`))) {
    await mkdir(input, { recursive: true });
    const g = await generateStations({ stations: STATIONS, days: DAYS, start: START, out: input, wunderground: false });
    console.log(`generated ${g.files.length} InfoClimat files, ${g.reports} reports`);
  }
  await benchWarehouse('embedded', undefined, input, seconds);
  if (pg) {
    try {
      await benchWarehouse('postgres', pg, input, seconds);
    } catch (err) {
      console.log(`[postgres] failed: ${(err as Error).message}`);
    }
  }
}
