import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Orchestrator } from '../../src/orchestrator/orchestrator.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { openPlatform, tempHome } from '../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../helpers/warehouses.js';
import { testPipeline } from '../orchestrator/testPipelines.js';

for (const kind of ['duckdb', 'postgres'] as const satisfies readonly WarehouseKind[]) {
  describe(`per-run logs on ${kind}`, { skip: await skipUnless(kind) }, () => {
    const homes: string[] = [];
    after(() => dropSchemas(homes));

    async function platform(): Promise<Platform> {
      const home = await tempHome('ecluse-runlogs-');
      homes.push(home);
      const url = warehouseFor(kind, home);
      return openPlatform(home, url ? { ECLUSE_WAREHOUSE: url } : {});
    }

    test('a run’s pino lines are stored with it (a failed attempt’s too) and read back by GET /runs/{id}/logs', async () => {
      const p = await platform();
      const chatty = testPipeline('chatty', async (ctx, req, call) => {
        ctx.log?.info({ station: '07149', rows: 42 }, `fetched ${req.partition}`);
        ctx.log?.debug('below the default level: not stored');
        if (call === 1) {
          ctx.log?.warn('about to fail');
          throw new Error('transient');
        }
      });
      const pipelines = new Map([['chatty', chatty]]);
      const orchestrator = new Orchestrator(p, pipelines, { maxAttempts: 2, backoffMs: 1 });
      const app = await buildApp({ platform: p, pipelines, logger: false, localToken: 't', orchestrator });
      try {
        const s = await orchestrator.runPartition(chatty, '2024-05-01', 'cli');
        assert.equal(s.status, 'succeeded');
        const { items: runs } = await p.warehouse.listRuns({ pipeline: 'chatty' });
        const failed = runs.find((r) => r.attempt === 1);
        assert.equal(failed?.status, 'failed');

        const first = (await app.inject({ url: `/runs/${failed?.run_id}/logs`, headers: { authorization: 'Bearer t' } })).json();
        assert.deepEqual(
          first.items.map((l: { level: string; msg: string }) => `${l.level} ${l.msg}`),
          ['info run started', 'info step work', 'info fetched 2024-05-01', 'warn about to fail', 'error run failed: transient'],
        );
        assert.equal(first.total, 5);
        assert.equal(first.items[2].station, '07149');
        assert.equal(first.items[2].rows, 42);
        assert.equal(first.items[0].attempt, 1);
        assert.match(first.items[0].at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/);

        const second = (await app.inject({ url: `/runs/${s.run_id}/logs?limit=2&offset=1`, headers: { authorization: 'Bearer t' } })).json();
        assert.equal(second.total, 5);
        assert.equal(second.limit, 2);
        assert.equal(second.offset, 1);
        assert.deepEqual(
          second.items.map((l: { msg: string }) => l.msg),
          ['step work', 'fetched 2024-05-01'],
        );
        const all = (await app.inject({ url: `/runs/${s.run_id}/logs`, headers: { authorization: 'Bearer t' } })).json();
        assert.equal(all.items.at(-1).msg, 'run succeeded');
        assert.equal(all.items.find((l: { msg: string }) => l.msg === 'step commit')?.step, 'commit');
        assert.equal(all.total, 5);
        // The steps were recorded with the commit.
        const run = await p.warehouse.getRun(s.run_id);
        assert.deepEqual(Object.keys(run?.steps ?? {}).sort(), ['commit', 'work']);

        const missing = await app.inject({ url: '/runs/999999/logs', headers: { authorization: 'Bearer t' } });
        assert.equal(missing.statusCode, 404);
        assert.equal(missing.json().error, 'not_found');
      } finally {
        await app.close();
        await p.warehouse.close();
      }
    });
  });
}
