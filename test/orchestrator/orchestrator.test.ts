import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Orchestrator, PartitionBusyError, ProcessStoppingError, WriterQueue } from '../../src/orchestrator/orchestrator.js';
import type { Pipeline, Platform } from '../../src/pipelines/kit/pipeline.js';
import { openPlatform, tempHome } from '../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../helpers/warehouses.js';
import { testPipeline } from './testPipelines.js';

/** A pid that surely belongs to no process: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

test('the writer queue runs one job at a time in arrival order, counts waiting and running jobs, drains what joins meanwhile', async () => {
  const q = new WriterQueue();
  const order: string[] = [];
  let running = 0;
  let most = 0;
  const job = (name: string, ms: number) => async () => {
    most = Math.max(most, ++running);
    await sleep(ms);
    order.push(name);
    running--;
    return name;
  };
  const a = q.add(job('a', 30));
  const b = q.add(job('b', 1));
  const failed = assert.rejects(
    q.add(async () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(q.length, 3);
  const drained = q.onIdle();
  // Queued after the drain began: waited for too.
  const c = q.add(job('c', 1));
  await drained;
  await failed;
  assert.deepEqual(order, ['a', 'b', 'c']);
  assert.deepEqual(await Promise.all([a, b, c]), ['a', 'b', 'c']);
  assert.equal(most, 1);
  assert.equal(q.length, 0);
});

for (const kind of ['duckdb', 'postgres'] as const satisfies readonly WarehouseKind[]) {
  describe(`orchestrator on ${kind}`, { skip: await skipUnless(kind) }, () => {
    const homes: string[] = [];
    after(() => dropSchemas(homes));

    async function platform(): Promise<Platform> {
      const home = await tempHome('ecluse-orch-');
      homes.push(home);
      const url = warehouseFor(kind, home);
      return openPlatform(home, url ? { ECLUSE_WAREHOUSE: url } : {});
    }

    async function attempts(p: Platform, pipeline: string, partition: string) {
      const { items } = await p.warehouse.listRuns({ pipeline, from: partition, to: partition });
      return items.sort((a, b) => a.run_id - b.run_id);
    }

    test('a failing run is retried with backoff, then succeeds; each attempt is a numbered run', async () => {
      const p = await platform();
      try {
        const flaky = testPipeline('flaky', async (_ctx, _req, call) => {
          if (call < 3) throw new Error(`transient failure ${call}`);
        });
        const orch = new Orchestrator(p, new Map([['flaky', flaky]]), { maxAttempts: 3, backoffMs: 20, random: () => 1 });
        const t0 = Date.now();
        const s = await orch.runPartition(flaky, '2024-10-01', 'cli');
        assert.equal(s.status, 'succeeded');
        assert.ok(Date.now() - t0 >= 20 + 40, 'backoff waits 20 then 40 ms');
        const runs = await attempts(p, 'flaky', '2024-10-01');
        assert.deepEqual(
          runs.map((r) => [r.attempt, r.status]),
          [
            [1, 'failed'],
            [2, 'failed'],
            [3, 'succeeded'],
          ],
        );
        assert.equal(runs[0]?.error, 'transient failure 1');
        assert.ok(runs.every((r) => r.finished_at !== null && r.started_at));
      } finally {
        await p.warehouse.close();
      }
    });

    test('retries exhausted: the partition ends failed with the last error', async () => {
      const p = await platform();
      try {
        const broken = testPipeline('broken', async () => {
          throw new Error('source unreachable');
        });
        const orch = new Orchestrator(p, new Map([['broken', broken]]), { maxAttempts: 2, backoffMs: 1 });
        const s = await orch.runPartition(broken, '2024-10-02', 'cli');
        assert.equal(s.status, 'failed');
        assert.equal(s.error, 'source unreachable');
        assert.equal(broken.calls.length, 2);
        assert.deepEqual(
          (await attempts(p, 'broken', '2024-10-02')).map((r) => r.attempt),
          [1, 2],
        );

        // An error that says another attempt cannot help (a missing configuration) is not retried.
        const misconfigured = testPipeline('misconfigured', async () => {
          throw Object.assign(new Error('nothing to read'), { retryable: false });
        });
        const once = await new Orchestrator(p, new Map(), { maxAttempts: 3, backoffMs: 1 }).runPartition(misconfigured, '2024-10-02', 'cli');
        assert.equal(once.status, 'failed');
        assert.equal(misconfigured.calls.length, 1);
      } finally {
        await p.warehouse.close();
      }
    });

    test('a run past its timeout is aborted at its next step and fails; nothing commits', async () => {
      const p = await platform();
      try {
        const slow = testPipeline('slow', () => sleep(200));
        const orch = new Orchestrator(p, new Map([['slow', slow]]), { maxAttempts: 1, timeoutMs: 50 });
        const s = await orch.runPartition(slow, '2024-10-03', 'cli');
        assert.equal(s.status, 'failed');
        assert.match(s.error ?? '', /timed out after 50 ms/);
        assert.equal(s.rows_read, 0);
      } finally {
        await p.warehouse.close();
      }
    });

    test('cancel stops a running run (no retry), in process and by a request recorded in runs', async () => {
      const p = await platform();
      try {
        let started!: () => void;
        const running = new Promise<void>((r) => (started = r));
        const long = testPipeline('long', async (ctx) => {
          started();
          // Waits like a fetch that honours the signal.
          await sleep(5000, undefined, { signal: ctx.signal }).catch(() => {});
        });
        const orch = new Orchestrator(p, new Map([['long', long]]), { maxAttempts: 3, backoffMs: 1 });
        const run = orch.runPartition(long, '2024-10-04', 'cli');
        await running;
        const id = (await attempts(p, 'long', '2024-10-04'))[0]!.run_id;
        assert.equal(await orch.cancel(id), 'cancelled');
        const s = await run;
        assert.equal(s.status, 'cancelled');
        assert.equal(long.calls.length, 1, 'a cancelled run is not retried');
        assert.equal(await orch.cancel(id), 'not_running');
        assert.equal(await orch.cancel(999_999), 'not_found');

        // Another process's request: recorded in runs, seen by the running process at its next poll.
        const polled = new Orchestrator(p, new Map([['long', long]]), { maxAttempts: 1, pollMs: 20 });
        let started2!: () => void;
        const running2 = new Promise<void>((r) => (started2 = r));
        const long2 = testPipeline('long', async (ctx) => {
          started2();
          await sleep(5000, undefined, { signal: ctx.signal }).catch(() => {});
        });
        const run2 = polled.runPartition(long2, '2024-10-05', 'cli');
        await running2;
        const id2 = (await attempts(p, 'long', '2024-10-05'))[0]!.run_id;
        assert.equal(await p.warehouse.requestCancel(id2), true);
        const s2 = await run2;
        assert.equal(s2.status, 'cancelled');
        assert.match(s2.error ?? '', /cancelled on request/);
      } finally {
        await p.warehouse.close();
      }
    });

    test('a stop ends retries at once: a backoff wait is cut short, an attempt in progress is aborted, none starts after', async () => {
      const p = await platform();
      try {
        // Fails fast (a portal that cannot be reached), with a long backoff before the next attempt.
        let failed!: () => void;
        const firstFailed = new Promise<void>((r) => (failed = r));
        const offline = testPipeline('offline', async () => {
          setImmediate(failed);
          throw new Error('fetch failed: getaddrinfo ENOTFOUND portal.invalid');
        });
        const orch = new Orchestrator(p, new Map([['offline', offline]]), { maxAttempts: 3, backoffMs: 10_000, random: () => 1 });
        const run = orch.runPartition(offline, '2024-10-06', 'catch-up');
        await firstFailed;
        await sleep(50);
        const t0 = Date.now();
        orch.stop('stop requested: SIGTERM');
        const s = await run;
        const waited = Date.now() - t0;
        assert.ok(waited < 1000, `the backoff wait ended with the stop: ${waited} ms`);
        assert.equal(offline.calls.length, 1, 'no attempt after the stop');
        assert.deepEqual(
          (await attempts(p, 'offline', '2024-10-06')).map((r) => [r.attempt, r.status]),
          [[1, 'failed']],
        );
        assert.equal(s.status, 'failed');

        // An attempt in progress (a fetch that honours the signal) is aborted, recorded failed as stopped.
        let started!: () => void;
        const running = new Promise<void>((r) => (started = r));
        const slow = testPipeline('slow', async (ctx) => {
          started();
          await sleep(30_000, undefined, { signal: ctx.signal });
        });
        const orch2 = new Orchestrator(p, new Map([['slow', slow]]), { maxAttempts: 3, backoffMs: 1 });
        const run2 = orch2.runPartition(slow, '2024-10-07', 'schedule');
        await running;
        const t1 = Date.now();
        orch2.stop('stop requested: SIGTERM');
        const s2 = await run2;
        assert.ok(Date.now() - t1 < 1000, `the attempt in progress was aborted: ${Date.now() - t1} ms`);
        assert.equal(s2.status, 'failed');
        assert.match(s2.error ?? '', /^the process running it \(pid \d+ on .+\) stopped before it finished \(stop requested: SIGTERM\)$/);
        assert.equal(slow.calls.length, 1, 'not retried');
        // After the stop nothing starts, and nothing is recorded.
        await assert.rejects(orch2.runPartition(slow, '2024-10-08', 'schedule'), ProcessStoppingError);
        await assert.rejects(
          orch2.runOnce(() => Promise.reject(new Error('must not run'))),
          ProcessStoppingError,
        );
        assert.equal((await attempts(p, 'slow', '2024-10-08')).length, 0);
        assert.equal(slow.calls.length, 1);
        // The next start runs the stopped partition again, continuing its attempts.
        const next = new Orchestrator(p, new Map([['slow', testPipeline('slow')]]), { maxAttempts: 3 });
        const recovered = await next.recoverInterrupted();
        assert.deepEqual(
          recovered.map((r) => [r.partition, r.status]),
          [['2024-10-07', 'succeeded']],
        );
        assert.deepEqual(
          (await attempts(p, 'slow', '2024-10-07')).map((r) => [r.attempt, r.status, r.trigger]),
          [
            [1, 'failed', 'schedule'],
            [2, 'succeeded', 'recovery'],
          ],
        );
      } finally {
        await p.warehouse.close();
      }
    });

    test('one active run per (pipeline, partition); a lock of a dead process or an expired one is taken over', async () => {
      let p = await platform();
      try {
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        let entered!: () => void;
        const inside = new Promise<void>((r) => (entered = r));
        const held = testPipeline('locked', async () => {
          entered();
          await gate;
        });
        const orch = new Orchestrator(p, new Map([['locked', held]]), { maxAttempts: 1 });
        const first = orch.runPartition(held, '2024-10-06', 'cli');
        await inside;
        const other = new Orchestrator(p, new Map([['locked', held]]), { maxAttempts: 1 });
        await assert.rejects(other.runPartition(held, '2024-10-06', 'cli'), PartitionBusyError);
        release();
        assert.equal((await first).status, 'succeeded');

        const free = testPipeline('locked');
        // A holder that stopped renewing its lock (a hung or crashed process): taken over once it expired.
        await p.warehouse.acquireRunLock({ pipeline: 'locked', partition: '2024-10-09', owner: 'stalled' }, 1);
        await sleep(5);
        assert.equal((await orch.runPartition(free, '2024-10-09', 'cli')).status, 'succeeded');
        // A live holder (renewing): not taken over.
        await p.warehouse.acquireRunLock({ pipeline: 'locked', partition: '2024-10-10', owner: 'live' }, 3_600_000);
        await assert.rejects(orch.runPartition(free, '2024-10-10', 'cli'), /already running/);
        if (kind === 'duckdb') {
          // The embedded warehouse keeps its locks in the one process that may open the file: they go with it.
          await p.warehouse.close();
          p = await openPlatform(p.config.home);
          assert.equal((await new Orchestrator(p, new Map()).runPartition(free, '2024-10-10', 'cli')).status, 'succeeded');
          return;
        }
        // PostgreSQL, a crashed holder on this host: its pid is gone, its lock is taken over at once.
        await p.warehouse.execute(
          `INSERT INTO run_locks (pipeline, partition, owner, run_id, pid, host, acquired_at_ms, expires_at_ms) VALUES ($1, $2, 'crashed', 7, $3, $4, $5, $6)`,
          ['locked', '2024-10-07', deadPid(), hostname(), Date.now(), Date.now() + 3_600_000],
        );
        // A holder on another machine, within its expiry: its pid means nothing here, it is not taken over.
        await p.warehouse.execute(
          `INSERT INTO run_locks (pipeline, partition, owner, run_id, pid, host, acquired_at_ms, expires_at_ms) VALUES ($1, $2, 'elsewhere', 8, 1, 'another-host', $3, $4)`,
          ['locked', '2024-10-08', Date.now(), Date.now() + 3_600_000],
        );
        assert.equal((await orch.runPartition(free, '2024-10-07', 'cli')).status, 'succeeded');
        await assert.rejects(orch.runPartition(free, '2024-10-08', 'cli'), /already running \(run 8, pid 1 on another-host\)/);
        const left = await p.warehouse.query(`SELECT partition FROM run_locks ORDER BY partition`);
        assert.deepEqual(left, [{ partition: '2024-10-08' }, { partition: '2024-10-10' }], 'finished runs release their locks');
      } finally {
        await p.warehouse.close();
      }
    });

    test('a run another machine left running (its lock expired) is failed and retried, continuing its attempts', async () => {
      const p = await platform();
      try {
        const id = await p.warehouse.startRun('orphan', '2024-10-20', 'schedule');
        // Started two minutes ago on a machine that has since gone silent (no lock row renewed).
        await p.warehouse.execute(`UPDATE runs SET host = 'another-host', started_at = started_at - INTERVAL '2 minutes' WHERE run_id = $1`, [id]);
        const live = await p.warehouse.startRun('orphan', '2024-10-21', 'schedule');
        const orphan = testPipeline('orphan');
        const orch = new Orchestrator(p, new Map([['orphan', orphan]]), { maxAttempts: 3 });
        const recovered = await orch.recoverInterrupted();
        if (kind === 'duckdb') {
          // One process per DuckDB file: a run left running by another process was failed when the file was opened.
          assert.deepEqual(recovered, []);
          return;
        }
        assert.deepEqual(
          recovered.map((s) => [s.partition, s.status]),
          [['2024-10-20', 'succeeded']],
        );
        const runs = await attempts(p, 'orphan', '2024-10-20');
        assert.deepEqual(
          runs.map((r) => [r.attempt, r.status, r.trigger]),
          [
            [1, 'failed', 'schedule'],
            [2, 'succeeded', 'recovery'],
          ],
        );
        assert.match(runs[0]?.error ?? '', /pid \d+ on another-host\) stopped before it finished \(its lock expired\)/);
        assert.equal((await p.warehouse.getRun(live))?.status, 'running', 'a run started within the lock time is left alone');
      } finally {
        await p.warehouse.close();
      }
    });

    test('a backfill records each next run with the commit of the one before: running before it works, one record per attempt', async () => {
      const p = await platform();
      try {
        const wh = p.warehouse;
        // Which run records are written inside a transaction (committed with the previous run's data).
        let inTransaction = 0;
        const starts: boolean[] = [];
        const transaction = wh.transaction.bind(wh);
        const startRun = wh.startRun.bind(wh);
        wh.transaction = async (fn) => {
          inTransaction++;
          try {
            return await transaction(fn);
          } finally {
            inTransaction--;
          }
        };
        wh.startRun = (...args) => {
          starts.push(inTransaction > 0);
          return startRun(...args);
        };
        const seen: string[] = [];
        const daily = testPipeline('chained', async (ctx) => {
          // Read on another connection: only what is committed, i.e. what a crash would leave behind.
          const [row] = await wh.query(`SELECT status FROM runs WHERE run_id = $1`, [ctx.runId]);
          seen.push(String(row?.status));
        });
        const orch = new Orchestrator(p, new Map([['chained', daily]]), { maxAttempts: 1 });
        const summary = await orch.backfill(daily, '2024-11-01', '2024-11-04');
        assert.equal(summary.succeeded, 4);
        assert.deepEqual(seen, ['running', 'running', 'running', 'running'], 'each run is committed `running` before its pipeline works');
        assert.deepEqual(starts, [false, true, true, true], 'runs after the first are recorded in the transaction of the one before');
        const runs = (await wh.listRuns({ pipeline: 'chained' })).items;
        assert.deepEqual(runs.map((r) => [r.partition, r.attempt, r.trigger, r.status]).sort(), [
          ['2024-11-01', 1, 'backfill', 'succeeded'],
          ['2024-11-02', 1, 'backfill', 'succeeded'],
          ['2024-11-03', 1, 'backfill', 'succeeded'],
          ['2024-11-04', 1, 'backfill', 'succeeded'],
        ]);
        assert.deepEqual(summary.results.map((r) => r.run_id).sort(), runs.map((r) => r.run_id).sort());
      } finally {
        await p.warehouse.close();
      }
    });

    test('a parallel backfill runs every day once, each recorded once, none left running', async () => {
      const p = await platform();
      try {
        const daily = testPipeline('parallel', () => sleep(Math.floor(Math.random() * 5)));
        const orch = new Orchestrator(p, new Map([['parallel', daily]]), {
          maxAttempts: 1,
          openWarehouse: kind === 'postgres' ? async () => (await openPlatform(p.config.home, { ECLUSE_WAREHOUSE: p.config.warehouse })).warehouse : undefined,
        });
        const summary = await orch.backfill(daily, '2024-12-01', '2024-12-31', { parallel: 4 });
        assert.deepEqual([summary.succeeded, summary.busy, summary.failed], [31, 0, 0]);
        const days = daily.calls.map((c) => c.partition).sort();
        assert.deepEqual(days, [...new Set(days)]);
        assert.equal(days.length, 31);
        const runs = (await p.warehouse.listRuns({ pipeline: 'parallel' })).items;
        assert.equal(runs.length, 31);
        assert.ok(runs.every((r) => r.status === 'succeeded' && r.attempt === 1));
      } finally {
        await p.warehouse.close();
      }
    });

    test('a backfill run whose transaction rolls back, or that fails after its commit, leaves one record of the next day', async () => {
      const p = await platform();
      try {
        const ZERO = { files: 0, files_skipped: 0, rows_read: 0, rows_written: 0, rows_rejected: 0, values_rejected: 0 };
        const calls = new Map<string, number>();
        const tricky: Pipeline = {
          name: 'tricky',
          description: 'fails its first attempt after its commitRun, inside or outside the transaction',
          schedule: { cron: '0 0 * * *', timezone: 'Europe/Paris' },
          async run(ctx, req) {
            const day = req.partition ?? '';
            const first = !calls.has(day);
            calls.set(day, (calls.get(day) ?? 0) + 1);
            await ctx.step('commit', async () => {
              await ctx.warehouse.transaction(async () => {
                await ctx.commitRun(ZERO);
                if (day === '2024-11-10' && first) throw new Error('rolled back after commitRun');
              });
              if (day === '2024-11-12' && first) throw new Error('failed after its commit');
            });
          },
          datasets: [],
          async createTables() {},
        };
        const orch = new Orchestrator(p, new Map([['tricky', tricky]]), { maxAttempts: 2, backoffMs: 1 });
        const summary = await orch.backfill(tricky, '2024-11-10', '2024-11-13');
        assert.equal(summary.succeeded, 4);
        const runs = (await p.warehouse.listRuns({ pipeline: 'tricky' })).items.sort((a, b) => a.run_id - b.run_id);
        const byDay = (d: string) => runs.filter((r) => r.partition === d).map((r) => [r.attempt, r.status]);
        assert.deepEqual(byDay('2024-11-10'), [
          [1, 'failed'],
          [2, 'succeeded'],
        ]);
        assert.deepEqual(byDay('2024-11-11'), [[1, 'succeeded']], 'the day after a rolled-back run is recorded once');
        assert.deepEqual(byDay('2024-11-12'), [
          [1, 'failed'],
          [2, 'succeeded'],
        ]);
        assert.deepEqual(byDay('2024-11-13'), [[1, 'succeeded']], 'the day after a run that failed past its commit is recorded once');
        assert.equal((await p.warehouse.listRuns({ status: 'running' })).total, 0);
      } finally {
        await p.warehouse.close();
      }
    });

    test('between two backfill runs: a cancel stops the next one before it works, a stop ends the backfill after it', async () => {
      const p = await platform();
      try {
        const outcomes: string[] = [];
        const daily = testPipeline('between', async () => {});
        const canceller: Pipeline = {
          ...daily,
          async run(ctx, req) {
            await daily.run(ctx, req);
            if (req.partition !== '2024-11-20') return;
            // Committed: the next day is already recorded `running`, with this run's commit.
            const rows = await ctx.warehouse.query(`SELECT run_id, partition FROM runs WHERE pipeline = 'between' AND status = 'running' AND run_id <> $1`, [
              ctx.runId,
            ]);
            for (const r of rows) outcomes.push(`${String(r.partition)} ${await orch.cancel(Number(r.run_id))}`);
          },
        };
        const orch = new Orchestrator(p, new Map([['between', canceller]]), { maxAttempts: 3, backoffMs: 1 });
        const cancelled = await orch.backfill(canceller, '2024-11-20', '2024-11-22');
        assert.deepEqual(outcomes, ['2024-11-21 cancelled']);
        assert.deepEqual(
          cancelled.results.map((r) => [r.partition, r.status, r.attempt]),
          [
            ['2024-11-20', 'succeeded', 1],
            ['2024-11-21', 'cancelled', 1],
            ['2024-11-22', 'succeeded', 1],
          ],
        );
        assert.deepEqual(
          daily.calls.map((c) => c.partition),
          ['2024-11-20', '2024-11-22'],
          'the cancelled run never reached its pipeline',
        );

        const stop = new AbortController();
        daily.calls.length = 0;
        const stopped = await orch.backfill(canceller, '2024-11-25', '2024-11-28', {
          signal: stop.signal,
          onProgress: (e) => {
            if (e.partition === '2024-11-25') stop.abort();
          },
        });
        assert.equal(stopped.interrupted, true);
        // The day taken with the first one's commit was already recorded running: it runs to its end.
        assert.deepEqual(
          stopped.results.map((r) => [r.partition, r.status]),
          [
            ['2024-11-25', 'succeeded'],
            ['2024-11-26', 'succeeded'],
          ],
        );
        assert.equal((await p.warehouse.listRuns({ status: 'running' })).total, 0, 'no run is left running');
      } finally {
        await p.warehouse.close();
      }
    });

    test('a backfill runs daily partitions; rerunning it resumes (skips succeeded ones) unless forced', async () => {
      const p = await platform();
      try {
        let failOn: string | null = '2024-10-12';
        const daily = testPipeline('daily', async (_ctx, req) => {
          if (req.partition === failOn) throw new Error(`no data for ${req.partition}`);
        });
        const wh = p.warehouse;
        const orch = new Orchestrator(p, new Map([['daily', daily]]), {
          maxAttempts: 1,
          openWarehouse: kind === 'postgres' ? async () => (await openPlatform(p.config.home, { ECLUSE_WAREHOUSE: p.config.warehouse })).warehouse : undefined,
        });
        const seen: number[] = [];
        const first = await orch.backfill(daily, '2024-10-10', '2024-10-14', { parallel: 3, onProgress: (e) => seen.push(e.remaining) });
        assert.equal(first.partitions, 5);
        assert.equal(first.succeeded, 4);
        assert.equal(first.failed, 1);
        assert.equal(first.parallel_effective, kind === 'postgres' ? 3 : 1);
        assert.deepEqual(seen, [5, 4, 3, 2, 1, 0]);
        assert.deepEqual(daily.calls.map((c) => c.partition).sort(), ['2024-10-10', '2024-10-11', '2024-10-12', '2024-10-13', '2024-10-14']);

        failOn = null;
        daily.calls.length = 0;
        const second = await orch.backfill(daily, '2024-10-10', '2024-10-14');
        assert.equal(second.skipped, 4);
        assert.equal(second.succeeded, 1);
        assert.deepEqual(
          daily.calls.map((c) => c.partition),
          ['2024-10-12'],
        );

        daily.calls.length = 0;
        const forced = await orch.backfill(daily, '2024-10-13', '2024-10-14', { force: true });
        assert.equal(forced.succeeded, 2);
        assert.equal(daily.calls.length, 2);
        assert.equal((await wh.listRuns({ pipeline: 'daily' })).total, 5 + 1 + 2);
      } finally {
        await p.warehouse.close();
      }
    });
  });
}
