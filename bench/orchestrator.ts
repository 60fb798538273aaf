import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/config.js';
import { openLake } from '../src/lake/open.js';
import { Orchestrator } from '../src/orchestrator/orchestrator.js';
import type { Pipeline, Platform } from '../src/orchestrator/pipeline.js';
import { executeRun } from '../src/orchestrator/runner.js';
import { openWarehouse } from '../src/warehouse/open.js';

/**
 * `npm run bench -- orchestrator`: scheduler overhead. 1,000 partition runs of a no-op pipeline through
 * the orchestrator (a backfill: lock, attempt record, timeout, release per partition), next to the same
 * number of bare `executeRun` calls (the run record alone: the floor), on the embedded warehouse.
 * `ECLUSE_BENCH_PG=postgres://…` adds a PostgreSQL round (backfill --parallel 4). Target: < 5 s in process.
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
  async reset() {},
};

function dayAfter(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

async function round(label: string, env: Record<string, string>, parallel: number): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'ecluse-bench-orch-'));
  try {
    const config = loadConfig({ ECLUSE_HOME: home, ...env }, home);
    const platform: Platform = { config, lake: openLake(config), warehouse: await openWarehouse(config, { command: 'bench' }) };
    try {
      // The warehouse may be shared (PostgreSQL): start from an empty runs table.
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
      console.log(`  bare executeRun (floor)        ${(bare / 1000).toFixed(2)} s  (${(bare / RUNS).toFixed(2)} ms/run)`);
      console.log(
        `  orchestrator backfill          ${(orchestrated / 1000).toFixed(2)} s  (${(orchestrated / RUNS).toFixed(2)} ms/run, ×${(orchestrated / bare).toFixed(2)} the floor, parallel ${summary.parallel_effective})`,
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

export async function main(): Promise<void> {
  await round('embedded DuckDB', {}, 1);
  const pg = process.env.ECLUSE_BENCH_PG;
  if (pg) await round('PostgreSQL', { ECLUSE_WAREHOUSE: pg }, 4);
}
