import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { executeRun } from '../../src/orchestrator/runner.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { stationsPipeline } from '../../src/pipelines/stations/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import type { RunSummary } from '../../src/warehouse/metadata.js';
import { dayResponse, response, synopRow } from '../fixtures/infoclimat.js';
import { parseSamples, parseTypes, sampleKey, seriesOf } from '../observability/promText.js';
import { openPlatform, tempHome, writeInputs } from '../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../helpers/setups.js';

const stations = (labels: Record<string, string> = {}) => ({ pipeline: 'stations', ...labels });

for (const setup of SETUPS)
  describe(`GET /metrics on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    let home: string;
    let platform: Platform;
    let app: FastifyInstance;
    let first: RunSummary;

    before(async () => {
      home = await tempHome('ecluse-metrics-');
      platform = await openPlatform(home, await envOf(home));
      const input = await writeInputs(join(home, 'in'), {
        'a.json': dayResponse('2024-10-05'),
        // One value out of range (set to null) and one report of an unknown station (rejected whole).
        'bad.json': response({ '07015': [synopRow('2024-10-06 00:00:00', 'n/a')], '99999': [synopRow('2024-10-06 00:00:00', '5.0')] }),
      });
      first = await executeRun(platform, stationsPipeline, { inputs: [input], trigger: 'cli' });
      assert.equal(first.status, 'succeeded');
      app = await buildApp({ platform, logger: false });
    });

    after(async () => {
      await app?.close();
      await platform?.warehouse.close();
    });

    async function scrape() {
      const r = await app.inject('/metrics');
      assert.equal(r.statusCode, 200);
      assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      return { text: r.body, samples: parseSamples(r.body) };
    }

    test('a pipeline run shows with its counts and duration', async () => {
      const { samples: s, text } = await scrape();
      const get = (name: string, labels: Record<string, string>) => s.get(sampleKey(name, labels));
      assert.equal(get('ecluse_runs_total', stations({ status: 'succeeded' })), 1);
      assert.equal(get('ecluse_runs_total', stations({ status: 'failed' })), 0);
      assert.equal(get('ecluse_runs_running', stations()), 0);
      assert.ok(first.rows_written > 0 && first.rows_rejected > 0 && first.values_rejected > 0, JSON.stringify(first));
      assert.equal(get('ecluse_rows_written_total', stations()), first.rows_written);
      assert.equal(get('ecluse_rows_rejected_total', stations()), first.rows_rejected);
      assert.equal(get('ecluse_values_rejected_total', stations()), first.values_rejected);
      assert.equal(get('ecluse_run_duration_seconds_count', stations()), 1);
      assert.equal(get('ecluse_run_duration_seconds_sum', stations()), (first.duration_ms ?? NaN) / 1000);
      assert.equal(get('ecluse_run_last_duration_seconds', stations()), (first.duration_ms ?? NaN) / 1000);
      const run = await platform.warehouse.getRun(first.run_id);
      assert.equal(get('ecluse_last_success_timestamp_seconds', stations()), Date.parse(String(run?.finished_at)) / 1000);
      assert.equal(s.get('ecluse_queue_depth'), 0);
      assert.equal(s.get('ecluse_run_metrics_up'), 1);
      assert.equal(parseTypes(text).get('ecluse_run_duration_seconds'), 'histogram');
    });

    test('a run committed after a scrape shows in the next one, whichever process made it', async (t) => {
      // On PostgreSQL, a second platform (its own connections, as another process has) records the run; the
      // embedded DuckDB file has one writer, the server's own.
      const writer = setup.warehouse === 'postgres' ? await openPlatform(home, await envOf(home)) : platform;
      const w = writer.warehouse;
      t.after(async () => {
        if (writer !== platform) await w.close();
      });
      const id = await w.startRun('stations', '2024-10-07', 'schedule');
      let s = (await scrape()).samples;
      assert.equal(s.get(sampleKey('ecluse_runs_running', stations())), 1);
      assert.equal(s.get(sampleKey('ecluse_runs_total', stations({ status: 'running' }))), 1);

      const c = { files: 2, files_skipped: 0, rows_read: 12, rows_written: 10, rows_rejected: 2, values_rejected: 1 };
      await w.transaction(() => w.finishRun(id, 'succeeded', c, {}));
      if (writer !== platform) await w.close();
      s = (await scrape()).samples;
      assert.equal(s.get(sampleKey('ecluse_runs_running', stations())), 0);
      assert.equal(s.get(sampleKey('ecluse_runs_total', stations({ status: 'running' }))), 0);
      assert.equal(s.get(sampleKey('ecluse_runs_total', stations({ status: 'succeeded' }))), 2);
      assert.equal(s.get(sampleKey('ecluse_rows_written_total', stations())), first.rows_written + 10);
      assert.equal(s.get(sampleKey('ecluse_rows_rejected_total', stations())), first.rows_rejected + 2);
      assert.equal(s.get(sampleKey('ecluse_values_rejected_total', stations())), first.values_rejected + 1);
      assert.equal(s.get(sampleKey('ecluse_run_duration_seconds_count', stations())), 2);
    });

    test('HTTP requests are counted by route pattern, never by raw URL', async () => {
      const before = (await scrape()).samples;
      const labels = (route: string, status: string) => ({ method: 'GET', route, status });
      const count = (s: Map<string, number>, route: string, status: string) => s.get(sampleKey('ecluse_http_requests_total', labels(route, status))) ?? 0;
      assert.equal((await app.inject('/stations/07015')).statusCode, 200);
      assert.equal((await app.inject('/stations/00052')).statusCode, 200);
      assert.equal((await app.inject('/stations/NOPE')).statusCode, 404);
      assert.equal((await app.inject('/no/such/route')).statusCode, 404);
      const after = (await scrape()).samples;
      assert.equal(count(after, '/stations/:id', '200') - count(before, '/stations/:id', '200'), 2);
      assert.equal(count(after, '/stations/:id', '404') - count(before, '/stations/:id', '404'), 1);
      assert.equal(count(after, 'unmatched', '404') - count(before, 'unmatched', '404'), 1);
      // The scrapes before this one are requests too.
      assert.ok(count(after, '/metrics', '200') >= 1);
      const histogram = sampleKey('ecluse_http_request_duration_seconds_count', labels('/stations/:id', '200'));
      assert.equal((after.get(histogram) ?? 0) - (before.get(histogram) ?? 0), 2);
      const routes = seriesOf(after, 'ecluse_http_requests_total').join('\n');
      assert.doesNotMatch(routes, /07015|NOPE|no\/such/);
    });

    test('Node process metrics carry the ecluse_ prefix', async () => {
      const { text, samples } = await scrape();
      const types = parseTypes(text);
      assert.equal(types.get('ecluse_process_cpu_user_seconds_total'), 'counter');
      assert.ok((samples.get('ecluse_process_resident_memory_bytes') ?? samples.get('ecluse_nodejs_heap_size_total_bytes') ?? 0) > 0);
      assert.equal(types.get('process_cpu_user_seconds_total'), undefined, 'nothing unprefixed');
    });

    test('each app has its own registry', async () => {
      const other = await buildApp({ platform, logger: false });
      try {
        const s = parseSamples((await other.inject('/metrics')).body);
        assert.deepEqual(seriesOf(s, 'ecluse_http_requests_total'), [], "the first app's requests are not the second's");
        assert.equal(s.get(sampleKey('ecluse_runs_total', stations({ status: 'succeeded' }))), 2);
      } finally {
        await other.close();
      }
    });
  });
