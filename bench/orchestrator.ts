import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runWorker } from '../src/cli/worker.js';
import { loadConfig } from '../src/config/config.js';
import { openLake } from '../src/lake/open.js';
import { Orchestrator } from '../src/orchestrator/orchestrator.js';
import type { Pipeline, Platform } from '../src/pipelines/kit/pipeline.js';
import { RunQueue } from '../src/orchestrator/queue.js';
import { executeRun } from '../src/orchestrator/runner.js';
import { openWarehouse } from '../src/warehouse/open.js';
import type { Warehouse } from '../src/warehouse/warehouse.js';

/**
 * `npm run bench -- orchestrator`: scheduler overhead. 1,000 partition runs of a no-op pipeline through
 * the orchestrator (a backfill: lock, attempt record, timeout, release per partition), next to the same
 * number of bare `executeRun` calls (the run record alone: the floor) and of the warehouse's run-record
 * statements alone (no runner: the engine's share), on the embedded warehouse.
 * `ECLUSE_BENCH_PG=postgres://…` adds a PostgreSQL round (backfill --parallel 4) and a round through the
 * run queue with 2 worker processes (this file, spawned with ECLUSE_BENCH_WORKER=1). Targets: < 5 s in
 * process, < 20 s through the queue.
 */

const RUNS = 1000;
const ZERO = { files: 0, files_skipped: 0, rows_read: 0, rows_written: 0, rows_rejected: 0, values_rejected: 0 };

const noop: Pipeline = {
  name: 'noop',
  description: 'does nothing, commits an empty run',
  schedule: { cron: '0 0 * * *', timezone: 'Europe/Paris' },
  async run(ctx) {
    await ctx.step('commit', () => ctx.warehouse.transaction(() => ctx.commitRun(ZERO)));
  },
  datasets: [],
  async createTables() {},
};

function dayAfter(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The warehouse's own statements for a chain of runs, nothing else: per run, one transaction finishing it,
 * storing its three log lines and recording the next run (what a backfill run commits), without the
 * runner, the orchestrator or a pipeline. What the warehouse alone costs per run: the floor of the floor.
 */
async function recordsAlone(warehouse: Warehouse): Promise<number> {
  const day = (i: number) => dayAfter('1980-01-01', i);
  let runId = await warehouse.startRun('noop', day(0), 'cli', 1);
  const t0 = performance.now();
  for (let i = 1; i <= RUNS; i++) {
    const at = new Date().toISOString();
    const lines = ['run started', 'step commit', 'run succeeded'].map((msg, seq) => ({
      run_id: runId,
      seq: seq + 1,
      at,
      level: 'info',
      msg,
      data: { run_id: runId },
    }));
    runId = await warehouse.transaction(async () => {
      await warehouse.finishRun(runId, 'succeeded', ZERO, { commit: 0 });
      await warehouse.writeRunLogs(lines);
      return warehouse.startRun('noop', day(i), 'cli', 1);
    });
  }
  return performance.now() - t0;
}

async function round(label: string, env: Record<string, string>, parallel: number): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'ecluse-bench-orch-'));
  try {
    const config = loadConfig({ ECLUSE_HOME: home, ...env }, home);
    const platform: Platform = { config, lake: openLake(config), warehouse: await openWarehouse(config, { command: 'bench' }) };
    try {
      // The warehouse may be shared (PostgreSQL): start from an empty runs table.
      await platform.warehouse.execute(`DELETE FROM runs WHERE pipeline = 'noop'`);
      const records = await recordsAlone(platform.warehouse);
      // The rounds after start from the same table as before this one.
      await platform.warehouse.execute(`DELETE FROM runs WHERE pipeline = 'noop'`);
      const t0 = performance.now();
      for (let i = 0; i < RUNS; i++) await executeRun(platform, noop, { partition: dayAfter('2000-01-01', i), trigger: 'cli' });
      const bare = performance.now() - t0;

      const orch = new Orchestrator(platform, new Map([['noop', noop]]), {
        maxAttempts: 3,
        openWarehouse: platform.warehouse.kind === 'postgres' ? () => openWarehouse(config) : undefined,
      });
      const t1 = performance.now();
      const summary = await orch.backfill(noop, '2010-01-01', dayAfter('2010-01-01', RUNS - 1), { parallel });
      const orchestrated = performance.now() - t1;
      if (summary.succeeded !== RUNS) throw new Error(`expected ${RUNS} succeeded partitions, got ${summary.succeeded}`);

      const t2 = performance.now();
      const resumed = await orch.backfill(noop, '2010-01-01', dayAfter('2010-01-01', RUNS - 1), { parallel });
      const resume = performance.now() - t2;
      if (resumed.skipped !== RUNS) throw new Error(`a rerun should skip all ${RUNS} partitions, skipped ${resumed.skipped}`);

      console.log(`${label}: ${RUNS} no-op runs`);
      console.log(`  warehouse run records alone    ${(records / 1000).toFixed(2)} s  (${(records / RUNS).toFixed(2)} ms/run: finish, logs, next run, commit)`);
      console.log(`  bare executeRun (floor)        ${(bare / 1000).toFixed(2)} s  (${(bare / RUNS).toFixed(2)} ms/run)`);
      console.log(
        `  orchestrator backfill          ${(orchestrated / 1000).toFixed(2)} s  (${(orchestrated / RUNS).toFixed(2)} ms/run, ×${(orchestrated / bare).toFixed(2)} the floor, ` +
          `×${(orchestrated / records).toFixed(2)} the records alone, parallel ${summary.parallel_effective})`,
      );
      console.log(`  rerun (all skipped: resume)    ${(resume / 1000).toFixed(2)} s`);
    } finally {
      await platform.warehouse.execute(`DELETE FROM runs WHERE pipeline = 'noop'`).catch(() => {});
      await platform.warehouse.close();
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

const WORKER_CONCURRENCY = 4;

/** 1,000 no-op partitions queued, run by 2 `runWorker` processes of WORKER_CONCURRENCY slots each. */
async function queueRound(pg: string): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'ecluse-bench-queue-'));
  const config = loadConfig({ ECLUSE_HOME: home, ECLUSE_WAREHOUSE: pg }, home);
  const platform: Platform = { config, lake: openLake(config), warehouse: await openWarehouse(config, { command: 'bench' }) };
  const queue = await RunQueue.open(pg);
  const workers: ChildProcess[] = [];
  try {
    await platform.warehouse.execute(`DELETE FROM runs WHERE pipeline = 'noop'`);
    const env = { ...process.env, ECLUSE_HOME: home, ECLUSE_WAREHOUSE: pg, ECLUSE_BENCH_WORKER: '1' };
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      workers.push(child);
    }
    // Workers ready: each runs one warm-up partition before the clock starts.
    const orch = new Orchestrator(platform, new Map([['noop', noop]]), { runQueue: queue });
    await orch.backfill(noop, '1990-01-01', '1990-01-04', { force: true });
    const t0 = performance.now();
    const summary = await orch.backfill(noop, '2010-01-01', dayAfter('2010-01-01', RUNS - 1), { force: true });
    const elapsed = performance.now() - t0;
    if (summary.succeeded !== RUNS) throw new Error(`expected ${RUNS} succeeded partitions through the queue, got ${summary.succeeded}`);
    const [split] = await platform.warehouse.query(
      `SELECT count(DISTINCT pid) AS workers, min(n) AS least, max(n) AS most FROM (SELECT pid, count(*) AS n FROM runs WHERE pipeline = 'noop' AND partition >= '2010-01-01' GROUP BY pid) t`,
    );
    console.log(`PostgreSQL run queue: ${RUNS} no-op runs, 2 worker processes × ${WORKER_CONCURRENCY} slots`);
    console.log(
      `  queued backfill, enqueue to last done  ${(elapsed / 1000).toFixed(2)} s  (${(elapsed / RUNS).toFixed(2)} ms/run; split ${String(split?.least)}/${String(split?.most)} between ${String(split?.workers)} workers)`,
    );
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
    await platform.warehouse.execute(`DELETE FROM runs WHERE pipeline = 'noop'`).catch(() => {});
    await queue.close();
    await platform.warehouse.close();
    await rm(home, { recursive: true, force: true });
  }
}

/** A bench worker process: `runWorker` with the no-op pipeline until SIGTERM. */
async function workerMain(): Promise<void> {
  const config = loadConfig(process.env, process.env.ECLUSE_HOME);
  const warehouse = await openWarehouse(config, { command: 'bench worker' });
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  try {
    await runWorker({ config, lake: openLake(config), warehouse }, new Map([['noop', noop]]), {
      concurrency: WORKER_CONCURRENCY,
      pollMs: 50,
      signal: stop.signal,
    });
  } finally {
    await warehouse.close();
  }
}

export async function main(): Promise<void> {
  await round('embedded DuckDB', {}, 1);
  const pg = process.env.ECLUSE_BENCH_PG;
  if (pg) {
    await round('PostgreSQL', { ECLUSE_WAREHOUSE: pg }, 4);
    await queueRound(pg);
  }
}

if (process.env.ECLUSE_BENCH_WORKER === '1') await workerMain();
