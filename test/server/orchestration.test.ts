import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Orchestrator } from '../../src/orchestrator/orchestrator.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { openPlatform, tempHome } from '../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../helpers/warehouses.js';
import { testPipeline } from '../orchestrator/testPipelines.js';

const TOKEN = 'test-token-orchestration';
const auth = { authorization: `Bearer ${TOKEN}` };

for (const kind of ['duckdb', 'postgres'] as const satisfies readonly WarehouseKind[]) {
  describe(`orchestration API on ${kind}`, { skip: await skipUnless(kind) }, () => {
    let home: string;
    let platform: Platform;
    let app: FastifyInstance;
    let release: () => void = () => {};
    let started: () => void = () => {};
    const daily = testPipeline('daily', async (ctx, req) => {
      if (req.partition === '2024-01-01') throw new Error('no data for new year');
      if (req.partition === '2024-02-01' || req.inputs?.[0] === '/block') {
        started();
        await new Promise<void>((r) => {
          release = r;
          ctx.signal.addEventListener('abort', () => r());
        });
      }
    });

    before(async () => {
      home = await tempHome('ecluse-orchapi-');
      const url = warehouseFor(kind, home);
      platform = await openPlatform(home, url ? { ECLUSE_WAREHOUSE: url } : {});
      const pipelines = new Map([['daily', daily]]);
      app = await buildApp({
        platform,
        pipelines,
        logger: false,
        localToken: TOKEN,
        orchestrator: new Orchestrator(platform, pipelines, { maxAttempts: 2, backoffMs: 1 }),
      });
    });
    after(async () => {
      await app?.close();
      await platform?.warehouse.close();
      await dropSchemas([home]);
    });

    test('POST /pipelines/{name}/runs runs a partition (token required), 409 while it is active', async () => {
      assert.equal((await app.inject({ method: 'POST', url: '/pipelines/daily/runs', payload: { partition: '2024-03-01' } })).statusCode, 401);
      const r = await app.inject({ method: 'POST', url: '/pipelines/daily/runs', headers: auth, payload: { partition: '2024-03-01' } });
      assert.equal(r.statusCode, 200);
      assert.equal(r.json().status, 'succeeded');
      assert.equal(r.json().partition, '2024-03-01');
      const failed = (await app.inject({ method: 'POST', url: '/pipelines/daily/runs', headers: auth, payload: { partition: '2024-01-01' } })).json();
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error, 'no data for new year');
      const attempts = (await app.inject('/runs?pipeline=daily&from=2024-01-01&to=2024-01-01')).json();
      assert.deepEqual(
        attempts.items.map((x: { attempt: number }) => x.attempt),
        [2, 1],
      );
      assert.equal((await app.inject({ method: 'POST', url: '/pipelines/daily/runs', headers: auth, payload: { partition: '2024-02-30' } })).statusCode, 400);
      assert.equal((await app.inject({ method: 'POST', url: '/pipelines/nope/runs', headers: auth, payload: {} })).statusCode, 404);
    });

    test('POST /runs/{id}/cancel stops a running run; 409 once it is over, 404 for no run', async () => {
      const running = new Promise<void>((r) => (started = r));
      const call = app.inject({ method: 'POST', url: '/pipelines/daily/runs', headers: auth, payload: { partition: '2024-02-01' } });
      await running;
      const busy = await app.inject({ method: 'POST', url: '/pipelines/daily/runs', headers: auth, payload: { partition: '2024-02-01' } });
      assert.equal(busy.statusCode, 409);
      assert.match(busy.json().message, /already running/);
      const id = (await app.inject('/runs?pipeline=daily&status=running')).json().items[0].run_id as number;
      assert.equal((await app.inject({ method: 'POST', url: `/runs/${id}/cancel` })).statusCode, 401);
      const c = await app.inject({ method: 'POST', url: `/runs/${id}/cancel`, headers: auth });
      assert.equal(c.statusCode, 200);
      assert.deepEqual(c.json(), { run_id: id, outcome: 'cancelled' });
      const summary = (await call).json();
      assert.equal(summary.status, 'cancelled');
      assert.equal((await app.inject({ method: 'POST', url: `/runs/${id}/cancel`, headers: auth })).statusCode, 409);
      assert.equal((await app.inject({ method: 'POST', url: '/runs/987654/cancel', headers: auth })).statusCode, 404);
      release();
    });

    test('an ad-hoc run (POST /runs) is cancellable too', async () => {
      const running = new Promise<void>((r) => (started = r));
      const call = app.inject({ method: 'POST', url: '/runs', headers: auth, payload: { pipeline: 'daily', inputs: ['/block'] } });
      await running;
      const id = (await app.inject('/runs?pipeline=daily&status=running')).json().items[0].run_id as number;
      assert.equal((await app.inject({ method: 'POST', url: `/runs/${id}/cancel`, headers: auth })).json().outcome, 'cancelled');
      const summary = (await call).json();
      assert.equal(summary.status, 'cancelled');
      assert.equal(summary.partition, `adhoc-${id}`);
    });

    test('a range is a backfill: skipped partitions on a rerun, progress lines in NDJSON', async () => {
      const first = await app.inject({ method: 'POST', url: '/pipelines/daily/runs', headers: auth, payload: { from: '2024-03-01', to: '2024-03-04' } });
      assert.equal(first.statusCode, 200);
      const b = first.json();
      assert.deepEqual([b.partitions, b.skipped, b.succeeded, b.failed], [4, 1, 3, 0]);
      const streamed = await app.inject({
        method: 'POST',
        url: '/pipelines/daily/runs',
        headers: { ...auth, accept: 'application/x-ndjson' },
        payload: { from: '2024-03-01', to: '2024-03-05' },
      });
      const lines = streamed.body
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, { remaining?: number; succeeded?: number; skipped?: number }>);
      assert.deepEqual(
        lines.filter((l) => l.backfill).map((l) => l.backfill?.remaining),
        [1, 0],
      );
      const last = lines.at(-1)?.backfill_summary;
      assert.equal(last?.skipped, 4);
      assert.equal(last?.succeeded, 1);
      assert.equal(
        (await app.inject({ method: 'POST', url: '/pipelines/daily/runs', headers: auth, payload: { from: '2024-03-05', to: '2024-03-01' } })).statusCode,
        400,
      );
      // GET /runs with a day range: partitions 2024-03-01..03 only.
      const ranged = (await app.inject('/runs?pipeline=daily&from=2024-03-01&to=2024-03-03&status=succeeded')).json();
      assert.deepEqual([...new Set(ranged.items.map((r: { partition: string }) => r.partition))].sort(), ['2024-03-01', '2024-03-02', '2024-03-03']);
    });

    test('GET /pipelines shows each effective schedule and the manifest', async () => {
      const items = (await app.inject('/pipelines')).json().items;
      assert.deepEqual(items, [
        {
          name: 'daily',
          description: 'test pipeline',
          schedule: { cron: '0 0 * * *', timezone: 'Europe/Paris', enabled: true, origin: 'pipeline' },
          schedules: [{ feed: null, cron: '0 0 * * *', timezone: 'Europe/Paris', enabled: true, origin: 'pipeline' }],
          feeds: [],
          datasets: [],
          fetches_days: false,
          uploads: [],
          env: [],
        },
      ]);
    });
  });
}
