import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { StreamSupervisor, type StreamSupervisorOptions } from '../../src/orchestrator/streamSupervisor.js';
import type { StreamPipeline } from '../../src/pipelines/kit/streamPipeline.js';
import { registerStreamMetrics } from '../../src/observability/streamMetrics.js';
import { StreamTakenOverError } from '../../src/warehouse/streamTables.js';
import { openPlatform, tempHome } from '../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../helpers/warehouses.js';
import { parseSamples, sampleKey } from '../observability/promText.js';
import { capturingLogger, crashingStream, NUMBERS_SOURCE, NUMBERS_TABLE, NumberLog, numbersStream, stubbornStream, until } from './testStreams.js';

const quiet = pino({ level: 'silent' });
const FAST: StreamSupervisorOptions = { logger: quiet, backoffMs: 20, maxBackoffMs: 200, heartbeatMs: 30, lockPollMs: 30, stopTimeoutMs: 5000 };

/** Each number consumed, with how many times it was written. */
async function consumed(platform: Platform, pipeline = 'numbers'): Promise<Map<number, number>> {
  const rows = await platform.warehouse.query(`SELECT value, count(*) AS n FROM ${NUMBERS_TABLE} WHERE pipeline = $1 GROUP BY value ORDER BY value`, [
    pipeline,
  ]);
  return new Map(rows.map((r) => [Number(r.value), Number(r.n)]));
}

/** Asserts that 0..last were each written exactly once, and nothing else. */
async function assertExactlyOnce(platform: Platform, last: number, pipeline = 'numbers'): Promise<void> {
  const got = await consumed(platform, pipeline);
  const duplicated = [...got].filter(([, n]) => n !== 1).map(([v]) => v);
  assert.deepEqual(duplicated, [], 'numbers written more than once');
  assert.deepEqual(
    [...got.keys()],
    Array.from({ length: last + 1 }, (_, i) => i),
  );
}

async function committedPosition(platform: Platform, pipeline = 'numbers'): Promise<string | undefined> {
  const rows = await platform.warehouse.query(`SELECT position FROM stream_positions WHERE pipeline = $1 AND source = $2`, [pipeline, NUMBERS_SOURCE]);
  return rows[0] ? String(rows[0].position) : undefined;
}

async function statusOf(platform: Platform, pipeline: string): Promise<{ state: string; restarts: number } | undefined> {
  const rows = await platform.warehouse.query(`SELECT state, restarts FROM stream_status WHERE pipeline = $1`, [pipeline]);
  return rows[0] ? { state: String(rows[0].state), restarts: Number(rows[0].restarts) } : undefined;
}

for (const kind of ['duckdb', 'postgres'] as const satisfies readonly WarehouseKind[]) {
  describe(`stream supervisor on ${kind}`, { skip: await skipUnless(kind) }, () => {
    const homes: string[] = [];
    after(() => dropSchemas(homes));

    async function platformFor(prefix: string): Promise<Platform> {
      const home = await tempHome(`ecluse-stream-${prefix}-`);
      homes.push(home);
      return openPlatform(home, { ECLUSE_WAREHOUSE: warehouseFor(kind, home) });
    }

    test('a second start resumes after the last committed position: nothing lost, nothing twice', async () => {
      const platform = await platformFor('resume');
      try {
        const log = new NumberLog();
        log.append(0, 49);
        const first = new StreamSupervisor(platform, [numbersStream(log)], FAST);
        first.start();
        await until('the first 50 numbers', async () => (await committedPosition(platform)) === '49');
        await first.stop();
        log.append(50, 99);
        const second = new StreamSupervisor(platform, [numbersStream(log)], FAST);
        second.start();
        await until('the next 50 numbers', async () => (await committedPosition(platform)) === '99');
        await second.stop();
        await assertExactlyOnce(platform, 99);
      } finally {
        await platform.warehouse.close();
      }
    });

    test('a crash between writing a batch and committing it loses nothing and repeats nothing', async () => {
      const platform = await platformFor('crash-commit');
      try {
        const log = new NumberLog();
        log.append(0, 40);
        let crashed = 0;
        const stream = numbersStream(log, {
          beforeCommit: (first) => {
            // Twice at the batch holding 21: the first restart must not have committed it either.
            if (first <= 21 && 21 < first + 7 && crashed < 2) {
              crashed++;
              throw new Error('crash between write and commit');
            }
          },
        });
        const captured = capturingLogger();
        const supervisor = new StreamSupervisor(platform, [stream], { ...FAST, logger: captured.logger });
        supervisor.start();
        await until('every number', async () => (await committedPosition(platform)) === '40');
        await supervisor.stop();
        assert.equal(crashed, 2);
        assert.equal(supervisor.restarts.get('numbers'), 2);
        assert.equal((await statusOf(platform, 'numbers'))?.restarts, 2);
        await assertExactlyOnce(platform, 40);
        const crashes = captured.lines.filter((l) => /crashed \(crash between write and commit\)/.test(String(l.msg)));
        assert.equal(crashes.length, 2, 'each crash is logged');
      } finally {
        await platform.warehouse.close();
      }
    });

    test('a crashing stream is started again after a capped exponential backoff, and counted', async () => {
      const platform = await platformFor('backoff');
      try {
        const stream = crashingStream(4);
        const captured = capturingLogger();
        const supervisor = new StreamSupervisor(platform, [stream], { ...FAST, logger: captured.logger, backoffMs: 40, maxBackoffMs: 120 });
        supervisor.start();
        await until('the fifth start', () => stream.starts.length >= 5);
        const gaps = stream.starts.slice(1).map((t, i) => t - stream.starts[i]!);
        // 40, 80, then capped at 120 (timers fire late, never early).
        [40, 80, 120, 120].forEach((min, i) => assert.ok(gaps[i]! >= min - 2, `gap ${i + 1} was ${gaps[i]} ms, expected at least ${min}`));
        assert.ok(gaps[3]! < 120 + 400, `the cap holds: gap 4 was ${gaps[3]} ms`);
        assert.deepEqual(
          captured.lines.filter((l) => l.restart_in_ms !== undefined).map((l) => l.restart_in_ms),
          [40, 80, 120, 120],
        );
        await until('the restart count stored', async () => (await statusOf(platform, 'crashing'))?.restarts === 4);
        const started = Date.now();
        const outcome = await supervisor.stop();
        assert.deepEqual(outcome.abandoned, []);
        assert.ok(Date.now() - started < 1000, 'stop is prompt');
        assert.equal(stream.starts.length, 5, 'a stream stopped on request is not started again');
        assert.equal(supervisor.restarts.get('crashing'), 4);
        assert.equal((await statusOf(platform, 'crashing'))?.state, 'stopped');
      } finally {
        await platform.warehouse.close();
      }
    });

    test('stop() ends the streams promptly, and gives up on one that does not end, saying so', async () => {
      const platform = await platformFor('stop');
      try {
        const log = new NumberLog();
        log.append(0, 9);
        const captured = capturingLogger();
        const supervisor = new StreamSupervisor(platform, [numbersStream(log), stubbornStream(3000)], { ...FAST, logger: captured.logger });
        supervisor.start();
        await until('both streams held', () => supervisor.holding().length === 2);
        await until('the numbers', async () => (await committedPosition(platform)) === '9');
        const started = Date.now();
        const outcome = await supervisor.stop(300);
        const took = Date.now() - started;
        assert.deepEqual(outcome.abandoned, ['stubborn']);
        assert.ok(took >= 290 && took < 2000, `stop waited ${took} ms`);
        assert.ok(captured.lines.some((l) => /gave up waiting for stream\(s\) stubborn after 300 ms/.test(String(l.msg))));
        assert.equal((await statusOf(platform, 'numbers'))?.state, 'stopped');
        assert.equal(supervisor.restarts.get('numbers') ?? 0, 0, 'a stream that ends because it was stopped is not restarted');
        // The stubborn one ends by itself later; let it, so the warehouse closes after it.
        await new Promise((r) => setTimeout(r, 3000));
      } finally {
        await platform.warehouse.close();
      }
    });

    test('lag, up and restarts appear in the Prometheus text', async () => {
      const platform = await platformFor('metrics');
      try {
        const registry = new Registry();
        const errors: unknown[] = [];
        registerStreamMetrics(registry, platform.warehouse, { onError: (err) => errors.push(err) });
        const log = new NumberLog();
        log.append(0, 29);
        // One number per batch, so the lag is seen to fall.
        const supervisor = new StreamSupervisor(platform, [numbersStream(log, { batch: 1 })], FAST);
        supervisor.start();
        await until('the lag stored', async () => (await platform.warehouse.query(`SELECT count(*) AS n FROM stream_lag`))[0]?.n === 1);
        await until('all consumed', async () => (await committedPosition(platform)) === '29');
        const key = (name: string) => sampleKey(name, { pipeline: 'numbers', source: NUMBERS_SOURCE });
        await until('a lag of 0 scraped', async () => parseSamples(await registry.metrics()).get(key('ecluse_stream_lag_messages')) === 0);
        log.append(30, 30);
        const running = parseSamples(await registry.metrics());
        assert.equal(running.get(sampleKey('ecluse_stream_up', { pipeline: 'numbers' })), 1);
        assert.equal(running.get(sampleKey('ecluse_stream_restarts_total', { pipeline: 'numbers' })), 0);
        assert.equal(running.get(key('ecluse_stream_lag_seconds')), 0);
        await supervisor.stop();
        const stopped = parseSamples(await registry.metrics());
        assert.equal(stopped.get(sampleKey('ecluse_stream_up', { pipeline: 'numbers' })), 0);
        assert.deepEqual(errors, []);
      } finally {
        await platform.warehouse.close();
      }
    });

    test('a stream whose holder stopped beating is shown down', async () => {
      const platform = await platformFor('stale');
      try {
        const registry = new Registry();
        let now: number | null = null;
        registerStreamMetrics(registry, platform.warehouse, { now: () => now ?? Date.now() });
        const supervisor = new StreamSupervisor(platform, [crashingStream(0, 'idle')], FAST);
        supervisor.start();
        await until('held', async () => (await statusOf(platform, 'idle'))?.state === 'running');
        await until('up', async () => parseSamples(await registry.metrics()).get(sampleKey('ecluse_stream_up', { pipeline: 'idle' })) === 1);
        // Three heartbeats missed: as a dead process would leave it.
        now = Date.now() + 10 * FAST.heartbeatMs!;
        assert.equal(parseSamples(await registry.metrics()).get(sampleKey('ecluse_stream_up', { pipeline: 'idle' })), 0);
        await supervisor.stop();
      } finally {
        await platform.warehouse.close();
      }
    });

    test('positions are saved only inside the stream transaction', async () => {
      const platform = await platformFor('outside');
      try {
        let problem: unknown = null;
        const stream: StreamPipeline = {
          name: 'outside',
          description: 'saves outside a transaction',
          async start(ctx) {
            try {
              await ctx.positions.save({ a: '1' });
            } catch (err) {
              problem = err;
            }
            await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
          },
        };
        const supervisor = new StreamSupervisor(platform, [stream], FAST);
        supervisor.start();
        await until('the attempt', () => problem !== null);
        await supervisor.stop();
        assert.match((problem as Error).message, /inside ctx\.transaction/);
        assert.equal((await platform.warehouse.query(`SELECT count(*) AS n FROM stream_positions`))[0]?.n, 0);
      } finally {
        await platform.warehouse.close();
      }
    });

    test('two supervisors never run the same stream at once; the second takes over when the first stops', async () => {
      // Two processes on PostgreSQL (each its own platform: connections, locks); on the embedded warehouse,
      // two supervisors of one process on the same warehouse.
      const a = await platformFor('pair');
      const b: Platform = kind === 'postgres' ? await openPlatform(a.config.home, { ECLUSE_WAREHOUSE: a.config.warehouse }) : a;
      try {
        const log = new NumberLog();
        log.append(0, 29);
        let running = 0;
        let most = 0;
        const hooks = {
          onStart: () => {
            running++;
            most = Math.max(most, running);
          },
          onEnd: () => running--,
        };
        const first = new StreamSupervisor(a, [numbersStream(log, hooks)], FAST);
        const second = new StreamSupervisor(b, [numbersStream(log, hooks)], FAST);
        first.start();
        await until('the first holds it', () => first.holding().length === 1);
        second.start();
        await until('the first 30', async () => (await committedPosition(a)) === '29');
        // Several lock polls of the second pass while the first holds the stream.
        await new Promise((r) => setTimeout(r, 10 * FAST.lockPollMs!));
        assert.deepEqual(second.holding(), []);
        await first.stop();
        await until('the second takes over', () => second.holding().length === 1);
        log.append(30, 59);
        await until('the next 30', async () => (await committedPosition(a)) === '59');
        await second.stop();
        assert.equal(most, 1, 'never two instances at once');
        await assertExactlyOnce(a, 59);
      } finally {
        if (b !== a) await b.warehouse.close();
        await a.warehouse.close();
      }
    });
  });
}

describe('stream take-over on postgres', { skip: await skipUnless('postgres') }, () => {
  const homes: string[] = [];
  after(() => dropSchemas(homes));

  test('a holder whose stream was taken over cannot commit its batch', async () => {
    const home = await tempHome('ecluse-stream-fence-');
    homes.push(home);
    const platform = await openPlatform(home, { ECLUSE_WAREHOUSE: warehouseFor('postgres', home) });
    try {
      const log = new NumberLog();
      log.append(0, 13);
      let problem: unknown = null;
      const stream = numbersStream(log);
      // Commits the first batch, then finds the stream taken over before its second commit.
      let batches = 0;
      const fenced: StreamPipeline = {
        ...stream,
        async start(ctx) {
          const save = ctx.positions.save.bind(ctx.positions);
          ctx.positions.save = async (positions) => {
            if (++batches === 2) await platform.warehouse.query(`UPDATE stream_status SET owner = 'another process' WHERE pipeline = 'numbers'`);
            try {
              await save(positions);
            } catch (err) {
              problem = err;
              throw err;
            }
          };
          return stream.start(ctx);
        },
      };
      const supervisor = new StreamSupervisor(platform, [fenced], { ...FAST, backoffMs: 10_000 });
      supervisor.start();
      await until('the refused commit', () => problem !== null);
      await supervisor.stop();
      assert.ok(problem instanceof StreamTakenOverError, String(problem));
      assert.equal(await committedPosition(platform), '6');
      await assertExactlyOnce(platform, 6);
    } finally {
      await platform.warehouse.close();
    }
  });
});
