import type { Pipeline, RunContext, RunRequest } from '../../src/orchestrator/pipeline.js';

const ZERO = { files: 0, files_skipped: 0, rows_read: 0, rows_written: 0, rows_rejected: 0, values_rejected: 0 };

/** A pipeline for orchestration tests: each run calls `behaviour`, then commits an empty run in a transaction. */
export function testPipeline(name: string, behaviour: (ctx: RunContext, request: RunRequest, call: number) => Promise<void> = async () => {}): Pipeline & { calls: RunRequest[] } {
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
    async reset() {},
  };
}
