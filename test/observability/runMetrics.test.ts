import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { RUN_DURATION_BUCKETS, registerRunMetrics } from '../../src/observability/runMetrics.js';
import type { RunCounts } from '../../src/warehouse/metadata.js';
import type { SqlParam, Warehouse } from '../../src/warehouse/warehouse.js';
import { openPlatform, tempHome } from '../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../helpers/warehouses.js';
import { parseSamples, parseTypes, sampleKey, seriesOf } from './promText.js';

const counts = (written: number, rejected = 0, values = 0): RunCounts => ({
  files: 1,
  files_skipped: 0,
  rows_read: written + rejected,
  rows_written: written,
  rows_rejected: rejected,
  values_rejected: values,
});

/** A finished run with a chosen duration and finishing time (the warehouse takes both from the clock). */
async function finishedRun(
  w: Warehouse,
  pipeline: string,
  status: 'succeeded' | 'failed',
  c: RunCounts,
  durationMs: number,
  finishedAt: string,
): Promise<number> {
  const id = await w.startRun(pipeline, `p-${pipeline}`, 'cli');
  await w.transaction(() => w.finishRun(id, status, c, {}, status === 'failed' ? 'boom' : null));
  await w.execute(`UPDATE runs SET duration_ms = $1, finished_at = CAST($2 AS TIMESTAMP) WHERE run_id = $3`, [durationMs, finishedAt, id]);
  return id;
}

for (const kind of ['duckdb', 'postgres'] as const satisfies readonly WarehouseKind[]) {
  describe(`run metrics on ${kind}`, { skip: await skipUnless(kind) }, () => {
    const homes: string[] = [];
    let platform: Platform;
    let registry: Registry;
    let queries = 0;
    const errors: unknown[] = [];
    const NOW = Date.parse('2026-01-01T12:00:00Z');

    before(async () => {
      const home = await tempHome('ecluse-runmetrics-');
      homes.push(home);
      platform = await openPlatform(home, { ECLUSE_WAREHOUSE: warehouseFor(kind, home) });
      const w = platform.warehouse;
      // Counts the queries of a scrape; every query goes to the real warehouse.
      const counted = {
        query: (sql: string, params?: readonly SqlParam[]) => {
          queries++;
          return w.query(sql, params);
        },
      };
      registry = new Registry();
      registerRunMetrics(registry, counted, { pipelines: () => ['never-ran'], now: () => NOW, onError: (err) => errors.push(err) });
    });

    after(async () => {
      await platform?.warehouse.close().catch(() => {});
      await dropSchemas(homes);
    });

    const scrape = async () => parseSamples(await registry.metrics());

    test('an empty table: known pipelines at 0, no duration yet', async () => {
      const s = await scrape();
      assert.equal(s.get('ecluse_run_metrics_up'), 1);
      for (const status of ['running', 'succeeded', 'failed']) assert.equal(s.get(sampleKey('ecluse_runs_total', { pipeline: 'never-ran', status })), 0);
      assert.equal(s.get(sampleKey('ecluse_rows_written_total', { pipeline: 'never-ran' })), 0);
      assert.equal(s.get(sampleKey('ecluse_run_duration_seconds_count', { pipeline: 'never-ran' })), 0);
      assert.deepEqual(seriesOf(s, 'ecluse_last_success_timestamp_seconds'), [], 'absent before the first success');
      assert.deepEqual(seriesOf(s, 'ecluse_run_last_duration_seconds'), []);
      assert.equal(s.get('ecluse_queue_depth'), 0);
      assert.equal(s.get('ecluse_oldest_pending_age_seconds'), 0);
    });

    test('totals, durations as a histogram, last success and last duration per pipeline', async () => {
      const w = platform.warehouse;
      await finishedRun(w, 'alpha', 'succeeded', counts(10, 2, 3), 800, '2025-12-31 10:00:00');
      await finishedRun(w, 'alpha', 'succeeded', counts(5, 0, 1), 20_000, '2025-12-31 11:00:00');
      await finishedRun(w, 'alpha', 'failed', counts(0), 4000, '2025-12-31 12:00:00');
      await finishedRun(w, 'beta', 'succeeded', counts(7), 90_000, '2025-12-30 00:00:00');
      await w.startRun('beta', 'p-running', 'cli');

      queries = 0;
      const text = await registry.metrics();
      assert.equal(queries, 2, 'one snapshot (two queries) serves every metric of a scrape');
      const s = parseSamples(text);
      const get = (name: string, labels: Record<string, string>) => s.get(sampleKey(name, labels));
      assert.equal(get('ecluse_runs_total', { pipeline: 'alpha', status: 'succeeded' }), 2);
      assert.equal(get('ecluse_runs_total', { pipeline: 'alpha', status: 'failed' }), 1);
      assert.equal(get('ecluse_runs_total', { pipeline: 'alpha', status: 'running' }), 0);
      assert.equal(get('ecluse_runs_total', { pipeline: 'beta', status: 'running' }), 1);
      assert.equal(get('ecluse_runs_running', { pipeline: 'beta' }), 1);
      assert.equal(get('ecluse_runs_running', { pipeline: 'alpha' }), 0);
      assert.equal(get('ecluse_rows_written_total', { pipeline: 'alpha' }), 15);
      assert.equal(get('ecluse_rows_rejected_total', { pipeline: 'alpha' }), 2);
      assert.equal(get('ecluse_values_rejected_total', { pipeline: 'alpha' }), 4);
      assert.equal(get('ecluse_rows_written_total', { pipeline: 'beta' }), 7);

      // alpha: 0.8 s, 4 s (failed runs are timed too), 20 s; the running beta run has no duration yet.
      const bucket = (pipeline: string, le: string) => get('ecluse_run_duration_seconds_bucket', { pipeline, le });
      assert.deepEqual(
        [...RUN_DURATION_BUCKETS.map(String), '+Inf'].map((le) => bucket('alpha', le)),
        [1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3],
      );
      assert.equal(get('ecluse_run_duration_seconds_count', { pipeline: 'alpha' }), 3);
      assert.equal(get('ecluse_run_duration_seconds_sum', { pipeline: 'alpha' }), 24.8);
      assert.equal(get('ecluse_run_duration_seconds_count', { pipeline: 'beta' }), 1);
      assert.equal(bucket('beta', '60'), 0);
      assert.equal(bucket('beta', '120'), 1);

      assert.equal(get('ecluse_last_success_timestamp_seconds', { pipeline: 'alpha' }), Date.parse('2025-12-31T11:00:00Z') / 1000);
      assert.equal(get('ecluse_last_success_timestamp_seconds', { pipeline: 'beta' }), Date.parse('2025-12-30T00:00:00Z') / 1000);
      assert.equal(get('ecluse_run_last_duration_seconds', { pipeline: 'alpha' }), 4, 'the last finished run, failed or not');
      assert.equal(get('ecluse_run_last_duration_seconds', { pipeline: 'beta' }), 90);

      const types = parseTypes(text);
      assert.equal(types.get('ecluse_runs_total'), 'counter');
      assert.equal(types.get('ecluse_run_duration_seconds'), 'histogram');
      assert.equal(types.get('ecluse_runs_running'), 'gauge');
    });

    test('queued runs give the queue depth and the oldest pending age', async () => {
      const w = platform.warehouse;
      for (const [startedAt, pipeline] of [
        ['2026-01-01 11:58:00', 'alpha'],
        ['2026-01-01 11:59:30', 'beta'],
      ] as const) {
        const id = await w.startRun(pipeline, 'p-queued', 'schedule');
        await w.execute(`UPDATE runs SET status = 'queued', started_at = CAST($1 AS TIMESTAMP) WHERE run_id = $2`, [startedAt, id]);
      }
      const s = await scrape();
      assert.equal(s.get('ecluse_queue_depth'), 2);
      assert.equal(s.get('ecluse_oldest_pending_age_seconds'), 120);
      assert.equal(s.get(sampleKey('ecluse_runs_total', { pipeline: 'alpha', status: 'queued' })), 1);
    });

    test('label sets gone from the table are gone from the next scrape', async () => {
      const w = platform.warehouse;
      await finishedRun(w, 'gamma', 'succeeded', counts(1), 100, '2025-12-31 00:00:00');
      assert.equal((await scrape()).get(sampleKey('ecluse_rows_written_total', { pipeline: 'gamma' })), 1);
      await w.execute(`DELETE FROM runs WHERE pipeline = $1`, ['gamma']);
      const s = await scrape();
      for (const name of ['ecluse_runs_total', 'ecluse_rows_written_total', 'ecluse_last_success_timestamp_seconds', 'ecluse_run_duration_seconds_count']) {
        assert.deepEqual(
          seriesOf(s, name).filter((k) => k.includes('"gamma"')),
          [],
          name,
        );
      }
      assert.ok(s.has(sampleKey('ecluse_rows_written_total', { pipeline: 'alpha' })));
    });

    test('an unreadable warehouse: the scrape answers with ecluse_run_metrics_up 0', async () => {
      await platform.warehouse.close();
      const s = await scrape();
      assert.equal(s.get('ecluse_run_metrics_up'), 0);
      assert.deepEqual(seriesOf(s, 'ecluse_runs_total'), []);
      assert.equal(errors.length, 1);
    });
  });
}
