import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerContext } from '../../src/server/context.js';
import { buildApp } from '../../src/server/app.js';
import { webRoutes } from '../../src/server/routes/web.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { openPlatform, tempHome } from '../helpers/platform.js';

/** The dashboard's server side without a browser: the not-built answer, and the aggregate endpoints on an empty platform. */

test('without web/dist, / answers 503 saying to run npm run build; the API is untouched', async () => {
  const app = Fastify({ logger: false });
  await webRoutes(app, {} as ServerContext, join(await tempHome('ecluse-web-nodist-'), 'dist'));
  const r = await app.inject('/');
  assert.equal(r.statusCode, 503);
  assert.match(r.headers['content-type'] as string, /text\/plain/);
  assert.match(r.body, /npm run build/);
  assert.equal((await app.inject('/assets/x.js')).statusCode, 404);
  await app.close();
});

describe('dashboard endpoints on a platform without runs', () => {
  let platform: Platform;
  let app: FastifyInstance;

  before(async () => {
    platform = await openPlatform(await tempHome('ecluse-web-routes-'));
    app = await buildApp({ platform, logger: false });
  });
  after(async () => {
    await app?.close();
    await platform?.warehouse.close();
  });

  test('GET /dashboard/overview: every pipeline, never run, tables not created, next tick scheduled', async () => {
    const r = await app.inject('/dashboard/overview');
    assert.equal(r.statusCode, 200);
    const body = r.json<{
      pipelines: Array<{
        name: string;
        last_run: unknown;
        recent: unknown[];
        runs_total: number;
        next_run_at: string | null;
        datasets: Array<{ name: string; rows: number | null }>;
      }>;
    }>();
    const stations = body.pipelines.find((p) => p.name === 'stations');
    assert.ok(stations);
    assert.equal(stations.last_run, null);
    assert.deepEqual(stations.recent, []);
    assert.equal(stations.runs_total, 0);
    assert.ok(stations.next_run_at && Date.parse(stations.next_run_at) > Date.now(), 'next run in the future');
    assert.deepEqual(stations.datasets, [
      { name: 'stations', rows: null },
      { name: 'reports', rows: null },
    ]);
  });

  test('GET /dashboard/stations is an empty list; /dashboard/runs/{id} 404 with the message', async () => {
    assert.deepEqual((await app.inject('/dashboard/stations')).json(), { items: [], total: 0, limit: 0, offset: 0 });
    const none = await app.inject('/dashboard/runs/42');
    assert.equal(none.statusCode, 404);
    assert.deepEqual(none.json(), { error: 'not_found', message: 'no run 42' });
  });

  test('GET /lake/zones and /lake/files on an empty lake; a bad zone is a 400', async () => {
    const zones = (await app.inject('/lake/zones')).json<{ items: Array<{ zone: string; objects: number; bytes: number }> }>();
    assert.deepEqual(zones.items, [
      { zone: 'raw', objects: 0, bytes: 0 },
      { zone: 'staging', objects: 0, bytes: 0 },
      { zone: 'curated', objects: 0, bytes: 0 },
    ]);
    assert.deepEqual((await app.inject('/lake/files?zone=curated')).json(), { items: [], total: 0, limit: 100, offset: 0 });
    const bad = await app.inject('/lake/files?zone=elsewhere');
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error, 'bad_request');
  });

  test('the endpoints are documented in OpenAPI with a summary', async () => {
    const doc = (await app.inject('/docs/json')).json<{ paths: Record<string, { get?: { summary?: string } }> }>();
    for (const path of ['/dashboard/overview', '/dashboard/stations', '/dashboard/runs/{id}', '/lake/zones', '/lake/files']) {
      assert.ok(doc.paths[path]?.get?.summary, `${path} has a summary`);
    }
  });
});
