import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { executeRun } from '../../src/orchestrator/runner.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { stationsPipeline } from '../../src/pipelines/stations/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { response, synopRow, dayResponse } from '../fixtures/infoclimat.js';
import { openPlatform, tempHome, writeInputs } from '../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../helpers/setups.js';
import { startS3rver } from '../helpers/s3.js';

const TOKEN = 'test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

interface List<T = Record<string, unknown>> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

for (const setup of SETUPS)
  describe(`API on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    let home: string;
    /** Files of API runs: outside the home, which is never an input (docs/security.md). */
    let drop: string;
    let platform: Platform;
    let app: FastifyInstance;

    before(async () => {
      home = await tempHome('ecluse-server-');
      drop = await tempHome('ecluse-server-drop-');
      platform = await openPlatform(home, await envOf(home));
      // 2024-10-27 is the 25-hour day in Paris: it runs from 2024-10-26T22:00Z to 2024-10-27T23:00Z.
      const input = await writeInputs(join(home, 'in'), {
        'a.json': dayResponse('2024-10-05'),
        'dst.json': response({
          '07015': [
            synopRow('2024-10-26 21:00:00', '9.1'),
            synopRow('2024-10-26 22:00:00', '9.0'),
            synopRow('2024-10-27 22:30:00', '8.2'),
            synopRow('2024-10-27 23:00:00', '8.0'),
          ],
        }),
        'bad.json': response({ '07015': [synopRow('2024-10-06 00:00:00', 'n/a')] }),
      });
      const summary = await executeRun(platform, stationsPipeline, { inputs: [input], trigger: 'cli' });
      assert.equal(summary.status, 'succeeded');
      app = await buildApp({ platform, logger: false, localToken: TOKEN });
    });

    after(async () => {
      await app?.close();
      await platform?.warehouse.close();
    });

    test('GET /health reports each dependency', async () => {
      const r = await app.inject('/health');
      assert.equal(r.statusCode, 200);
      const body = r.json();
      assert.equal(body.status, 'ok');
      assert.deepEqual({ kind: body.warehouse.kind, ok: body.warehouse.ok }, { kind: setup.warehouse, ok: true });
      assert.equal(typeof body.warehouse.ms, 'number');
      assert.deepEqual({ kind: body.lake.kind, ok: body.lake.ok }, { kind: setup.lake, ok: true });
      assert.deepEqual(body.engine, { kind: 'duckdb', memory_limit: platform.config.duckdbMemoryLimit ?? null });
    });

    test('stations: list, one, unknown', async () => {
      const list = (await app.inject('/stations')).json<List>();
      assert.deepEqual(
        list.items.map((s) => s.id),
        ['00052', '07015', 'IICHTE19', 'ILAMAD25'],
      );
      assert.deepEqual([list.total, list.limit, list.offset], [4, 1000, 0]);
      const paged = (await app.inject('/stations?limit=1&offset=1')).json<List>();
      assert.deepEqual([paged.items.map((s) => s.id), paged.total], [['07015'], 4]);
      const one = await app.inject('/stations/07015');
      assert.equal(one.statusCode, 200);
      assert.equal(one.json().name, 'Lille-Lesquin');
      assert.equal(one.json().timezone, 'Europe/Paris');
      const none = await app.inject('/stations/NOPE');
      assert.equal(none.statusCode, 404);
      assert.deepEqual(none.json(), { error: 'not_found', message: 'no station "NOPE"' });
    });

    test('reports of a day in the station time zone, DST day of 25 hours included', async () => {
      const day = (await app.inject('/stations/07015/reports?date=2024-10-27')).json<List>();
      assert.deepEqual(
        day.items.map((r) => r.observed_at),
        ['2024-10-26T22:00:00Z', '2024-10-27T22:30:00Z'],
      );
      assert.equal(day.total, 2);
      const utc = (await app.inject('/stations/07015/reports?date=2024-10-27&tz=UTC')).json<List>();
      assert.deepEqual(
        utc.items.map((r) => r.observed_at),
        ['2024-10-27T22:30:00Z', '2024-10-27T23:00:00Z'],
      );
      const oct5 = (await app.inject('/stations/07015/reports?date=2024-10-05')).json<List>();
      assert.equal(oct5.total, 3);
      assert.equal(oct5.items[0]?.temperature_c, 7.6);
      assert.equal(oct5.items[0]?.station_id, '07015');
      assert.match(String(oct5.items[0]?.raw_file), /^raw\/stations\//);
    });

    test('reports by instant range: from inclusive, to exclusive; paging', async () => {
      const r = (await app.inject('/stations/07015/reports?from=2024-10-05T00:00:00Z&to=2024-10-05T02:00:00Z')).json<List>();
      assert.deepEqual(
        r.items.map((x) => x.observed_at),
        ['2024-10-05T00:00:00Z', '2024-10-05T01:00:00Z'],
      );
      const offset = (await app.inject('/stations/07015/reports?from=2024-10-05T02:00:00%2B02:00&to=2024-10-05T03:00:00%2B02:00')).json<List>();
      assert.deepEqual(
        offset.items.map((x) => x.observed_at),
        ['2024-10-05T00:00:00Z'],
      );
      const open = (await app.inject('/stations/07015/reports?from=2024-10-26T00:00:00Z&limit=2&offset=1')).json<List>();
      assert.deepEqual(
        open.items.map((x) => x.observed_at),
        ['2024-10-26T22:00:00Z', '2024-10-27T22:30:00Z'],
      );
      assert.deepEqual([open.total, open.limit, open.offset], [4, 2, 1]);
    });

    test('max_points downsamples to the min and max of each time bucket', async () => {
      const all = (await app.inject('/stations/07015/reports?from=2024-10-05T00:00:00Z&to=2024-10-28T00:00:00Z')).json<List>();
      assert.equal(all.total, 8);
      const same = (await app.inject('/stations/07015/reports?from=2024-10-05T00:00:00Z&to=2024-10-28T00:00:00Z&max_points=8')).json<List>();
      assert.deepEqual(same.items, all.items, 'a window within max_points is returned whole');
      const r = (await app.inject('/stations/07015/reports?from=2024-10-05T00:00:00Z&to=2024-10-28T00:00:00Z&max_points=4')).json<List>();
      // Two buckets of 11.5 days: October 5–6 (4 reports) and October 26–27 (4 reports).
      assert.deepEqual(
        r.items.map((x) => x.observed_at),
        ['2024-10-05T00:00:00Z', '2024-10-06T00:00:00Z', '2024-10-26T21:00:00Z', '2024-10-27T23:00:00Z'],
      );
      assert.deepEqual(
        r.items.slice(2).map((x) => x.temperature_c),
        [8.0, 9.1],
      );
      assert.equal(r.total, 4);
      const open = await app.inject('/stations/07015/reports?from=2024-10-05T00:00:00Z&max_points=2');
      assert.equal(open.statusCode, 400);
      assert.match(open.json().message, /bounded window/);
    });

    test('an empty day is 200 with no items', async () => {
      const r = await app.inject('/stations/00052/reports?date=2030-01-01');
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), { items: [], total: 0, limit: 1000, offset: 0 });
    });

    test('bad requests are 400 with a message', async () => {
      for (const [url, message] of [
        ['/stations/07015/reports?date=2024-02-30', /calendar day/],
        ['/stations/07015/reports?date=05/10/2024', /calendar day/],
        ['/stations/07015/reports?date=2024-10-05&tz=Mars/Olympus', /unknown time zone/],
        ['/stations/07015/reports?from=yesterday', /ISO 8601 instant/],
        ['/stations/07015/reports?from=2024-10-05T00:00:00', /ISO 8601 instant/],
        ['/stations/07015/reports?from=2024-10-06T00:00:00Z&to=2024-10-05T00:00:00Z', /not be after/],
        ['/stations/07015/reports?date=2024-10-05&from=2024-10-05T00:00:00Z', /either date or from/],
        ['/stations/07015/reports', /give date/],
        ['/stations/07015/reports?date=2024-10-05&limit=10001', /limit/],
        ['/stations/07015/reports?date=2024-10-05&limit=0', /limit/],
        ['/stations/07015/document', /date/],
      ] as const) {
        const r = await app.inject(url);
        assert.equal(r.statusCode, 400, url);
        const body = r.json();
        assert.equal(body.error, 'bad_request', url);
        assert.match(body.message, message, url);
      }
      const unknown = await app.inject('/stations/NOPE/reports?date=2024-10-05');
      assert.equal(unknown.statusCode, 404);
    });

    test('the day document embeds the station and its reports', async () => {
      const r = await app.inject('/stations/07015/document?date=2024-10-05');
      assert.equal(r.statusCode, 200);
      const doc = r.json();
      assert.equal(doc.id, '07015');
      assert.equal(doc.name, 'Lille-Lesquin');
      assert.equal(doc.date, '2024-10-05');
      assert.equal(doc.reports.length, 3);
      assert.equal(doc.reports[0].observed_at, '2024-10-05T00:00:00Z');
      assert.equal('station_id' in doc.reports[0], false);
    });

    test('runs, one run, rejects, pipelines', async () => {
      const runs = (await app.inject('/runs')).json<List<{ run_id: number; status: string }>>();
      assert.ok(runs.total >= 1);
      const id = runs.items.at(-1)?.run_id;
      const one = await app.inject(`/runs/${id}`);
      assert.equal(one.statusCode, 200);
      assert.deepEqual(Object.keys(one.json()).sort(), [
        'duration_ms',
        'error',
        'files',
        'files_deferred',
        'files_skipped',
        'partition',
        'pipeline',
        'rows_read',
        'rows_rejected',
        'rows_written',
        'run_id',
        'status',
        'values_rejected',
        'warnings',
      ]);
      assert.equal((await app.inject('/runs/99999')).statusCode, 404);
      assert.equal((await app.inject('/runs/abc')).statusCode, 400);
      const rejects = (await app.inject({ url: `/rejects?run=${id}`, headers: auth })).json<List>();
      assert.equal(rejects.total, 1);
      assert.deepEqual([rejects.items[0]?.field, rejects.items[0]?.value], ['temperature', 'n/a']);
      const pipelines = (await app.inject('/pipelines')).json<List>();
      // Every shipped pipeline is listed (synop and later ones too); stations with its own schedule.
      assert.deepEqual(
        pipelines.items.filter((p) => p.name === 'stations').map((p) => [p.name, (p.schedule as { cron: string }).cron]),
        [['stations', '0 0 * * *']],
      );
      assert.equal(pipelines.total, pipelines.items.length);
    });

    test('write endpoints need a valid token', async () => {
      const none = await app.inject({ method: 'POST', url: '/sql', payload: { sql: 'select 1 as x' } });
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error, 'unauthorized');
      const bad = await app.inject({ method: 'POST', url: '/sql', payload: { sql: 'select 1 as x' }, headers: { authorization: 'Bearer wrong' } });
      assert.equal(bad.statusCode, 401);
      const good = await app.inject({ method: 'POST', url: '/sql', payload: { sql: 'select 1 as x, 9007199254740993::BIGINT as big' }, headers: auth });
      assert.equal(good.statusCode, 200);
      assert.deepEqual(good.json().rows, [{ x: 1, big: '9007199254740993' }]);
      const wrongSql = await app.inject({ method: 'POST', url: '/sql', payload: { sql: 'selec 1' }, headers: auth });
      assert.equal(wrongSql.statusCode, 400);
      assert.match(wrongSql.json().message, /syntax/i);
      for (const url of ['/runs', '/pipelines/stations/rebuild']) {
        assert.equal((await app.inject({ method: 'POST', url, payload: { pipeline: 'stations' } })).statusCode, 401, url);
      }
    });

    test('without any token configured, writes are refused and the message says how to set one', async () => {
      const bare = await buildApp({ platform: { ...platform, config: { ...platform.config, apiToken: undefined } }, logger: false });
      try {
        const r = await bare.inject({ method: 'POST', url: '/sql', payload: { sql: 'select 1' }, headers: auth });
        assert.equal(r.statusCode, 401);
        assert.match(r.json().message, /ECLUSE_API_TOKEN/);
      } finally {
        await bare.close();
      }
      const configured = await buildApp({ platform: { ...platform, config: { ...platform.config, apiToken: 'from-config' } }, logger: false });
      try {
        const r = await configured.inject({ method: 'POST', url: '/sql', payload: { sql: 'select 1 as x' }, headers: { authorization: 'Bearer from-config' } });
        assert.equal(r.statusCode, 200);
      } finally {
        await configured.close();
      }
    });

    test('POST /runs checks its body', async () => {
      const unknown = await app.inject({ method: 'POST', url: '/runs', payload: { pipeline: 'nope' }, headers: auth });
      assert.equal(unknown.statusCode, 404);
      assert.match(unknown.json().message, /unknown pipeline "nope"/);
      const relative = await app.inject({ method: 'POST', url: '/runs', payload: { pipeline: 'stations', inputs: ['in/a.json'] }, headers: auth });
      assert.equal(relative.statusCode, 400);
      assert.match(relative.json().message, /absolute/);
    });

    test('a committed run invalidates cached station-day answers', async () => {
      const url = '/stations/00052/reports?date=2024-10-05';
      const first = await app.inject(url);
      assert.equal(first.headers['x-cache'], 'miss');
      const second = await app.inject(url);
      assert.equal(second.headers['x-cache'], 'hit');
      assert.equal(second.body, first.body);
      const input = await writeInputs(join(drop, 'more'), {
        'late.json': response({ '00052': [{ ...synopRow('2024-10-05 12:00:00', '15.5'), id_station: '00052' }] }),
      });
      const run = await app.inject({ method: 'POST', url: '/runs', payload: { pipeline: 'stations', inputs: [input] }, headers: auth });
      assert.equal(run.statusCode, 200);
      assert.equal(run.json().rows_written, 1);
      const third = await app.inject(url);
      assert.equal(third.headers['x-cache'], 'miss');
      assert.notEqual(third.body, first.body);
      assert.equal(third.json().total, first.json().total + 1);
    });

    test('SQL sent through /admin/sql also invalidates cached answers', async () => {
      const url = '/stations/07015/reports?date=2024-10-05';
      const before = (await app.inject(url)).json<List>();
      assert.equal((await app.inject(url)).headers['x-cache'], 'hit');
      const r = await app.inject({
        method: 'POST',
        url: '/admin/sql',
        payload: { sql: "UPDATE reports SET temperature_c = 99 WHERE station_id = '07015' AND observed_at = '2024-10-05 00:00:00'" },
        headers: auth,
      });
      assert.equal(r.statusCode, 200, r.body);
      const after = await app.inject(url);
      assert.equal(after.headers['x-cache'], 'miss');
      assert.equal(after.json<List>().items[0]?.temperature_c, 99);
      assert.notEqual(before.items[0]?.temperature_c, 99);
    });

    test('runs are queued one at a time, and NDJSON streams progress then the summary', async () => {
      const dirs = await Promise.all(['q1', 'q2'].map((d, i) => writeInputs(join(drop, d), { [`${d}.json`]: dayResponse(`2024-11-0${i + 1}`) })));
      const [a, b] = await Promise.all(
        dirs.map((dir) =>
          app.inject({ method: 'POST', url: '/runs', payload: { pipeline: 'stations', inputs: [dir] }, headers: { ...auth, accept: 'application/x-ndjson' } }),
        ),
      );
      const lines = [a, b].map((r) =>
        r!.body
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Record<string, { run_id: number; status: string }>),
      );
      for (const ls of lines) {
        assert.ok(ls.some((l) => 'progress' in l));
        assert.equal(ls.at(-1)?.summary?.status, 'succeeded');
      }
      // One waited in the queue, and said so (which one: the request whose inputs were checked last).
      assert.equal(lines.filter((ls) => ls.some((l) => 'queued' in l)).length, 1);
      const ids = lines.map((ls) => ls.at(-1)!.summary!.run_id);
      const rows = await platform.warehouse.query('SELECT run_id, started_at, finished_at FROM runs WHERE run_id IN ($1, $2) ORDER BY run_id', ids);
      assert.ok(String(rows[1]?.started_at) >= String(rows[0]?.finished_at), JSON.stringify(rows));
    });

    test('OpenAPI document and Swagger UI at /docs', async () => {
      const ui = await app.inject('/docs/');
      assert.equal(ui.statusCode, 200);
      assert.match(ui.headers['content-type'] as string, /html/);
      const spec = (await app.inject('/docs/json')).json();
      for (const path of [
        '/health',
        '/stations',
        '/stations/{id}',
        '/stations/{id}/reports',
        '/stations/{id}/document',
        '/runs',
        '/runs/{id}',
        '/rejects',
        '/pipelines',
        '/sql',
        '/admin/sql',
      ]) {
        assert.ok(spec.paths[path], path);
      }
      assert.deepEqual(spec.paths['/sql'].post.security, [{ bearer: [] }]);
      assert.deepEqual(spec.paths['/admin/sql'].post.security, [{ bearer: [] }]);
      const unknown = await app.inject('/nowhere');
      assert.deepEqual(unknown.json(), { error: 'not_found', message: 'no route GET /nowhere' });
    });
  });

test('GET /health is 503 naming the dependency that does not answer', async () => {
  const home = await tempHome('ecluse-server-');
  // An S3 lake whose endpoint nothing listens on (port 9, discard).
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'x',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'x',
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
  });
  const platform = await openPlatform(home, { ECLUSE_LAKE: 's3://nowhere/lake', ECLUSE_S3_ENDPOINT: 'http://127.0.0.1:9' });
  const app = await buildApp({ platform, logger: false });
  try {
    const r = await app.inject('/health');
    assert.equal(r.statusCode, 503);
    const body = r.json();
    assert.equal(body.status, 'degraded');
    assert.equal(body.warehouse.ok, true);
    assert.deepEqual([body.lake.kind, body.lake.ok], ['s3', false]);
    assert.equal(typeof body.lake.error, 'string');
  } finally {
    await app.close();
    await platform.warehouse.close();
  }
});

test('GET /health is 503 when the S3 server answers but the lake bucket does not exist', async () => {
  const home = await tempHome('ecluse-server-');
  const s3 = await startS3rver();
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: 'us-east-1' });
  const platform = await openPlatform(home, { ECLUSE_LAKE: 's3://no-such-bucket/lake', ECLUSE_S3_ENDPOINT: s3.endpoint });
  const app = await buildApp({ platform, logger: false });
  try {
    const r = await app.inject('/health');
    assert.equal(r.statusCode, 503);
    assert.match(r.json().lake.error, /NoSuchBucket/);
  } finally {
    await app.close();
    await platform.warehouse.close();
    await s3.close();
  }
});
