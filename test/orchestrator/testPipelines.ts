import { setTimeout as sleep } from 'node:timers/promises';
import type { Pipeline, RunContext, RunRequest } from '../../src/pipelines/kit/pipeline.js';

const ZERO = { files: 0, files_skipped: 0, rows_read: 0, rows_written: 0, rows_rejected: 0, values_rejected: 0 };

/** A pipeline for orchestration tests: each run calls `behaviour`, then commits an empty run in a transaction. */
export function testPipeline(
  name: string,
  behaviour: (ctx: RunContext, request: RunRequest, call: number) => Promise<void> = async () => {},
): Pipeline & { calls: RunRequest[] } {
  const calls: RunRequest[] = [];
  return {
    name,
    description: 'test pipeline',
    schedule: { cron: '0 0 * * *', timezone: 'Europe/Paris' },
    calls,
    async run(ctx, request) {
      calls.push(request);
      await ctx.step('work', () => behaviour(ctx, request, calls.length));
      await ctx.step('commit', () => ctx.warehouse.transaction(() => ctx.commitRun({ ...ZERO, rows_read: 1 })));
    },
    datasets: [],
    async createTables() {},
  };
}

/** The value a `writer` pipeline stores for a partition (deterministic: any process computes the same). */
export function valueOf(partition: string): number {
  let h = 0;
  for (const c of partition) h = (h * 31 + c.charCodeAt(0)) % 1_000_003;
  return h;
}

/**
 * A pipeline whose runs take `workMs` (stoppable by the run's signal), then write one row per partition to
 * `table` (created by the test) in the transaction that commits the run: what the worker tests compare.
 */
export function writerPipeline(name: string, table: string, workMs: number): Pipeline {
  return {
    name,
    description: 'sleeps, then writes its partition',
    schedule: { cron: '0 0 * * *', timezone: 'Europe/Paris' },
    async run(ctx, request) {
      const partition = request.partition ?? 'none';
      await ctx.step('work', () => sleep(workMs, undefined, { signal: ctx.signal }));
      await ctx.step('commit', () =>
        ctx.warehouse.transaction(async () => {
          await ctx.warehouse.execute(`DELETE FROM ${table} WHERE partition = $1`, [partition]);
          await ctx.warehouse.execute(`INSERT INTO ${table} (partition, value) VALUES ($1, $2)`, [partition, valueOf(partition)]);
          await ctx.commitRun({ ...ZERO, rows_written: 1 });
        }),
      );
    },
    datasets: [],
    async createTables() {},
  };
}
