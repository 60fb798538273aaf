import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { HttpError, type RouteSpec } from '../../../src/pipelines/kit/routeSpec.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { executeRun } from '../../../src/orchestrator/runner.js';
import { stationsPipeline } from '../../../src/pipelines/stations/pipeline.js';
import { stationsRoutes } from '../../../src/pipelines/stations/routes.js';
import { dayResponse } from '../../fixtures/infoclimat.js';
import { openPlatform, tempHome, writeInputs } from '../../helpers/platform.js';

/** The routes as data, called without a server: what any face (HTTP, tests) gets from the pipeline. */

let platform: Platform;
before(async () => {
  const home = await tempHome('ecluse-routes-');
  platform = await openPlatform(home);
});
after(async () => platform?.warehouse.close());

const route = (url: string): RouteSpec => {
  const r = stationsRoutes.find((x) => x.url === url);
  assert.ok(r, url);
  return r;
};

test('the pipeline declares its routes, cacheable where the answer depends only on the data', async () => {
  assert.equal(await stationsPipeline.routes?.(), stationsRoutes);
  assert.deepEqual(
    stationsRoutes.map((r) => [r.method, r.url, r.cacheable ?? false]),
    [
      // The dashboard's Stations table: the pipeline's own SQL, declared here rather than in the server.
      ['GET', '/dashboard/stations', false],
      ['GET', '/stations', false],
      ['GET', '/stations/:id', false],
      ['GET', '/stations/:id/reports', true],
      ['GET', '/stations/:id/document', true],
    ],
  );
});

test('before any run, lists are empty and stations unknown (tables may not exist yet)', async () => {
  const list = await route('/stations').handler({ warehouse: platform.warehouse, params: {}, query: { limit: 10, offset: 0 } });
  assert.deepEqual(list, { items: [], total: 0, limit: 10, offset: 0 });
  await assert.rejects(
    route('/stations/:id').handler({ warehouse: platform.warehouse, params: { id: '07015' }, query: {} }),
    (err: unknown) => err instanceof HttpError && err.status === 404,
  );
});

test('handlers answer plain data and throw HttpError 400 on a bad day', async () => {
  const input = await writeInputs(join(platform.config.home, 'in'), { 'a.json': dayResponse('2024-10-05') });
  assert.equal((await executeRun(platform, stationsPipeline, { inputs: [input], trigger: 'cli' })).status, 'succeeded');
  const reports = route('/stations/:id/reports');
  const day = (await reports.handler({ warehouse: platform.warehouse, params: { id: '00052' }, query: { date: '2024-10-05', limit: 1000, offset: 0 } })) as {
    items: { observed_at: string; temperature_c: number }[];
    total: number;
  };
  assert.deepEqual(
    day.items.map((r) => [r.observed_at, r.temperature_c]),
    [
      ['2024-10-05T00:00:00Z', 6.4],
      ['2024-10-05T00:10:00Z', 6.3],
      ['2024-10-05T00:20:00Z', 6.1],
    ],
  );
  await assert.rejects(
    reports.handler({ warehouse: platform.warehouse, params: { id: '00052' }, query: { date: '2024-10-32', limit: 1000, offset: 0 } }),
    (err: unknown) => err instanceof HttpError && err.status === 400 && /calendar day/.test(err.message),
  );
});
