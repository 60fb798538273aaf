import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Orchestrator, PartitionBusyError } from '../../src/orchestrator/orchestrator.js';
import type { ProgressEvent } from '../../src/pipelines/kit/pipeline.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { RunQueue } from '../../src/orchestrator/queue.js';
import { Scheduler } from '../../src/orchestrator/scheduler.js';
import { openPlatform, tempHome } from '../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor } from '../helpers/warehouses.js';
import { valueOf, writerPipeline } from './testPipelines.js';

const TABLE = 'wk_results';
const WORK_MS = 400;
const FROM = '2024-03-01';
const TO = '2024-03-30';

interface Worker {
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function startWorker(home: string, url: string, workMs = WORK_MS, pollMs = 100): Worker {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), resolve(import.meta.dirname, 'workerProcess.ts')], {
    env: {
      ...process.env,
      ECLUSE_HOME: home,
      ECLUSE_WAREHOUSE: url,
      WORKER_TABLE: TABLE,
      WORKER_WORK_MS: String(workMs),
      WORKER_CONCURRENCY: '2',
      WORKER_POLL_MS: String(pollMs),
    },
    stdio: 'pipe',
  });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output, exited };
}

interface RunRow {
  run_id: number;
  partition: string;
  status: string;
  attempt: number;
  trigger: string;
  pid: number | null;
  error: string | null;
  started_ms: number;
  finished_ms: number | null;
}

async function runsOf(p: Platform): Promise<RunRow[]> {
  const rows = await p.warehouse.query(
    `SELECT run_id, partition, status, attempt, trigger, pid, error,
       CAST(round(EXTRACT(EPOCH FROM started_at) * 1000) AS BIGINT) AS started_ms,
       CAST(round(EXTRACT(EPOCH FROM finished_at) * 1000) AS BIGINT) AS finished_ms
     FROM runs WHERE pipeline = 'writer' ORDER BY run_id`,
  );
  return rows as unknown as RunRow[];
}

async function tableOf(p: Platform): Promise<string> {
  const rows = await p.warehouse.query(`SELECT partition, value FROM ${TABLE} ORDER BY partition`);
  return JSON.stringify(rows);
}

describe('ecluse worker processes on PostgreSQL', { skip: await skipUnless('postgres') }, () => {
  const homes: string[] = [];
  const workers: Worker[] = [];
  after(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await dropSchemas(homes);
  });

  async function platform(): Promise<{ home: string; url: string; p: Platform }> {
    const home = await tempHome('ecluse-workers-');
    homes.push(home);
    const url = warehouseFor('postgres', home) as string;
    const p = await openPlatform(home, { ECLUSE_WAREHOUSE: url });
    await p.warehouse.execute(`CREATE TABLE ${TABLE} (partition VARCHAR PRIMARY KEY, value BIGINT NOT NULL)`);
    return { home, url, p };
  }

  test('through the queue: a schedule tick records a queued run; cancelling it ends it before it starts; a worker then runs nothing', async () => {
    const { home, url, p } = await platform();
    const queue = await RunQueue.open(url);
    try {
      const pipeline = writerPipeline('writer', TABLE, 10);
      const orchestrator = new Orchestrator(p, new Map([['writer', pipeline]]), { runQueue: queue });
      const scheduler = new Scheduler(orchestrator);
      assert.equal(await scheduler.tick(pipeline, new Date('2024-06-02T10:00:00Z'), 'schedule'), null, 'a tick only queues');
      const [queued] = (await p.warehouse.listRuns({ pipeline: 'writer', status: 'queued' })).items;
      assert.equal(queued?.partition, '2024-06-01');
      assert.equal(queued?.trigger, 'schedule');
      assert.equal(await queue.depth(), 1);
      assert.equal(await orchestrator.cancel(queued?.run_id as number), 'cancelled');
      assert.equal((await p.warehouse.getRun(queued?.run_id as number))?.status, 'cancelled');

      assert.equal(await queue.depth(), 0, 'a cancelled run is no longer queued');

      // A worker finds nothing to claim: it says it is up, claims for a while, and runs nothing.
      const w = startWorker(home, url);
      workers.push(w);
      const deadline = Date.now() + 30_000;
      while (!w.output.join('').includes('slot(s)')) {
        assert.ok(Date.now() < deadline, `the worker never started: ${w.output.join('')}`);
        await sleep(50);
      }
      await sleep(500);
      w.child.kill('SIGTERM');
      await w.exited;
      const runs = await runsOf(p);
      assert.deepEqual(
        runs.map((r) => r.status),
        ['cancelled'],
      );
      assert.equal((await p.warehouse.query(`SELECT count(*) AS n FROM ${TABLE}`))[0]?.n, 0);
    } finally {
      await queue.close();
      await p.warehouse.close();
    }
  });

  test('an idle worker claims a run as soon as it is queued (NOTIFY), not at its next poll', async () => {
    const { home, url, p } = await platform();
    const queue = await RunQueue.open(url);
    try {
      // Polls a minute apart: only the notification can wake it in time.
      const w = startWorker(home, url, 10, 60_000);
      workers.push(w);
      const deadline = Date.now() + 30_000;
      while (!w.output.join('').includes('slot(s)')) {
        assert.ok(Date.now() < deadline, `the worker never started: ${w.output.join('')}`);
        await sleep(50);
      }
      // Both slots have found the queue empty and wait.
      await sleep(300);
      const [queued] = await queue.enqueue('writer', ['2024-09-01'], 'api');
      const t0 = Date.now();
      while ((await p.warehouse.getRun(queued?.run_id as number))?.status !== 'succeeded') {
        assert.ok(Date.now() - t0 < 10_000, `the worker did not wake: ${w.output.join('')}`);
        await sleep(20);
      }
      w.child.kill('SIGTERM');
      assert.equal(await w.exited, 0, w.output.join(''));
    } finally {
      await queue.close();
      await p.warehouse.close();
    }
  });

  test('a worker asked to stop ends its run in progress at once and queues its next attempt for another worker', async () => {
    const { home, url, p } = await platform();
    const queue = await RunQueue.open(url);
    try {
      await queue.enqueue('writer', ['2024-08-01'], 'schedule');
      // Each run would work 60 s: before, a stop waited for it.
      const w = startWorker(home, url, 60_000);
      workers.push(w);
      const deadline = Date.now() + 30_000;
      while (!(await runsOf(p)).some((r) => r.status === 'running')) {
        assert.ok(Date.now() < deadline, `the worker never started the run: ${w.output.join('')}`);
        await sleep(50);
      }
      const t0 = Date.now();
      w.child.kill('SIGTERM');
      assert.equal(await Promise.race([w.exited, sleep(20_000, undefined, { ref: false }).then(() => 'hung')]), 0, w.output.join(''));
      const stopMs = Date.now() - t0;
      assert.ok(stopMs < 5000, `the worker stopped in ${stopMs} ms`);
      const runs = await runsOf(p);
      assert.deepEqual(
        runs.map((r) => [r.attempt, r.status, r.trigger]),
        [
          [1, 'failed', 'schedule'],
          [2, 'queued', 'recovery'],
        ],
      );
      assert.match(runs[0]?.error ?? '', /^the process running it \(pid \d+ on .+\) stopped before it finished \(the worker was asked to stop\)$/);
      assert.equal((await p.warehouse.query(`SELECT count(*) AS n FROM ${TABLE}`))[0]?.n, 0, 'nothing of it committed');
    } finally {
      await queue.close();
      await p.warehouse.close();
    }
  });

  test('a trigger through the queue: refused while its partition is queued or held, progress lines while a worker runs it', async () => {
    const { home, url, p } = await platform();
    const queue = await RunQueue.open(url);
    try {
      const pipeline = writerPipeline('writer', TABLE, WORK_MS);
      const orchestrator = new Orchestrator(p, new Map([['writer', pipeline]]), { runQueue: queue });
      const events: ProgressEvent[] = [];
      // No worker yet: the run waits in the queue.
      const first = orchestrator.submitPartition(pipeline, '2024-07-01', 'api', { progress: (e) => events.push(e) });
      const deadline = Date.now() + 30_000;
      while ((await p.warehouse.listRuns({ pipeline: 'writer', status: 'queued' })).total === 0) {
        assert.ok(Date.now() < deadline, 'the run was never queued');
        await sleep(20);
      }
      await assert.rejects(orchestrator.submitPartition(pipeline, '2024-07-01', 'api'), (err: unknown) => {
        assert.ok(err instanceof PartitionBusyError && err.queued, String(err));
        assert.match(err.message, /writer \[2024-07-01\] is already queued \(run \d+\)/);
        return true;
      });
      // A live holder of the lock (this process stands in for a worker): refused as running.
      await p.warehouse.acquireRunLock({ pipeline: 'writer', partition: '2024-07-03', owner: 'test-holder' }, 60_000);
      await assert.rejects(orchestrator.submitPartition(pipeline, '2024-07-03', 'api'), (err: unknown) => {
        assert.ok(err instanceof PartitionBusyError && !err.queued, String(err));
        assert.match(err.message, /is already running .*pid \d+/);
        return true;
      });
      await p.warehouse.releaseRunLock({ pipeline: 'writer', partition: '2024-07-03', owner: 'test-holder' });

      const w = startWorker(home, url);
      workers.push(w);
      const summary = await Promise.race([
        first,
        sleep(60_000, undefined, { ref: false }).then(() => assert.fail(`the queued run never ended: ${w.output.join('')}`)),
      ]);
      assert.equal(summary.status, 'succeeded');
      const steps = events.map((e) => e.step);
      assert.equal(steps[0], 'queued', JSON.stringify(events));
      const running = events.find((e) => e.step === 'running');
      assert.match(running?.item ?? '', new RegExp(`worker pid ${w.child.pid} on `), JSON.stringify(events));
      assert.ok(steps.indexOf('running') > steps.indexOf('queued'));
      // Only the one queued run: the refused triggers queued nothing.
      assert.deepEqual(
        (await runsOf(p)).map((r) => [r.partition, r.status]),
        [['2024-07-01', 'succeeded']],
      );
      w.child.kill('SIGTERM');
      await w.exited;
    } finally {
      await queue.close();
      await p.warehouse.close();
    }
  });

  test('waiting on queued runs: a run committed by a worker that died before freeing its lock ends at once', async () => {
    const { url, p } = await platform();
    const queue = await RunQueue.open(url);
    try {
      const [queued] = await queue.enqueue('writer', ['2024-04-01'], 'backfill');
      assert.ok(queued);
      // What a worker killed between its run's commit and the lock's release leaves: a succeeded run, and a
      // lock row, far from expiring, held by a process of this host that is gone.
      const gone = spawn(process.execPath, ['-e', '']);
      await new Promise((r) => gone.once('exit', r));
      await p.warehouse.execute(`UPDATE runs SET status = 'succeeded', finished_at = started_at WHERE run_id = ${queued.run_id}`);
      await p.warehouse.execute(
        `INSERT INTO run_locks (pipeline, partition, owner, run_id, pid, host, acquired_at_ms, expires_at_ms)
         VALUES ('writer', '2024-04-01', 'dead-worker', ${queued.run_id}, ${gone.pid as number}, '${hostname()}', ${Date.now()}, ${Date.now() + 600_000})`,
      );
      const results = await Promise.race([
        queue.waitFor('writer', [queued], undefined, { pollMs: 50 }),
        sleep(10_000, undefined, { ref: false }).then(() => assert.fail('waitFor waited for the lock of a dead worker')),
      ]);
      assert.deepEqual(
        results.map((r) => [r.partition, r.status]),
        [['2024-04-01', 'succeeded']],
      );
    } finally {
      await queue.close();
      await p.warehouse.close();
    }
  });

  test('a 30-day backfill is split between two workers; one killed mid-run, the other finishes its partitions', async () => {
    // The reference: the same backfill in one process.
    const ref = await platform();
    const single = await new Orchestrator(ref.p, new Map([['writer', writerPipeline('writer', TABLE, 5)]])).backfill(
      writerPipeline('writer', TABLE, 5),
      FROM,
      TO,
    );
    assert.equal(single.succeeded, 30);
    const expected = await tableOf(ref.p);
    await ref.p.warehouse.close();

    const { home, url, p } = await platform();
    const queue = await RunQueue.open(url);
    try {
      const a = startWorker(home, url);
      const b = startWorker(home, url);
      workers.push(a, b);
      const pipeline = writerPipeline('writer', TABLE, WORK_MS);
      const orchestrator = new Orchestrator(p, new Map([['writer', pipeline]]), { runQueue: queue });
      const backfill = orchestrator.backfill(pipeline, FROM, TO);

      // Kill A once it has finished some partitions and is in the middle of another.
      const aPid = a.child.pid as number;
      const deadline = Date.now() + 60_000;
      for (;;) {
        assert.ok(Date.now() < deadline, `worker A never got going: ${a.output.join('')}`);
        const runs = await runsOf(p);
        const mine = runs.filter((r) => Number(r.pid) === aPid);
        if (mine.filter((r) => r.status === 'succeeded').length >= 2 && mine.some((r) => r.status === 'running')) break;
        await sleep(50);
      }
      a.child.kill('SIGKILL');
      await a.exited;

      const summary = await Promise.race([
        backfill,
        sleep(90_000, undefined, { ref: false }).then(() => assert.fail(`the backfill did not end; worker B said: ${b.output.join('')}`)),
      ]);
      assert.equal(summary.queued, true);
      assert.equal(summary.succeeded, 30, JSON.stringify(summary.results.filter((r) => r.status !== 'succeeded')));

      const runs = await runsOf(p);
      const bPid = b.child.pid as number;
      const succeeded = runs.filter((r) => r.status === 'succeeded');
      assert.equal(new Set(succeeded.map((r) => r.partition)).size, 30);
      assert.equal(succeeded.length, 30, 'each partition succeeded exactly once');
      // Both took some.
      assert.ok(
        succeeded.some((r) => Number(r.pid) === aPid),
        'worker A ran some partitions',
      );
      assert.ok(
        succeeded.some((r) => Number(r.pid) === bPid),
        'worker B ran some partitions',
      );
      // A's run in progress was marked failed, and its partition done again by B as the next attempt.
      const orphans = runs.filter((r) => r.status === 'failed' && Number(r.pid) === aPid);
      assert.ok(orphans.length >= 1, `a run of the killed worker is marked failed: ${JSON.stringify(runs.filter((r) => r.status !== 'succeeded'))}`);
      for (const o of orphans) {
        assert.match(o.error ?? '', /stopped before it finished/);
        const redo = succeeded.find((r) => r.partition === o.partition);
        assert.ok(
          redo && Number(redo.pid) === bPid && redo.attempt === o.attempt + 1 && redo.trigger === 'recovery',
          `partition ${o.partition} redone by B: ${JSON.stringify(redo)}`,
        );
      }
      assert.equal(runs.filter((r) => r.status === 'queued' || r.status === 'running').length, 0);
      // No partition ran twice at once: the runs of a partition do not overlap in time.
      const byPartition = new Map<string, RunRow[]>();
      for (const r of runs) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
      for (const [partition, rs] of byPartition) {
        const sorted = rs.sort((x, y) => Number(x.started_ms) - Number(y.started_ms));
        for (let i = 1; i < sorted.length; i++) {
          assert.ok(Number(sorted[i - 1]?.finished_ms) <= Number(sorted[i]?.started_ms), `runs of ${partition} overlap: ${JSON.stringify(sorted)}`);
        }
      }
      // The data: identical to the single-process run.
      assert.equal(await tableOf(p), expected);
      assert.equal(JSON.parse(expected).length, 30);
      assert.equal(JSON.parse(expected)[0].value, valueOf(FROM));

      b.child.kill('SIGTERM');
      assert.equal(
        await Promise.race([b.exited, sleep(20_000, undefined, { ref: false }).then(() => 'hung')]),
        0,
        `worker B stops cleanly on SIGTERM: ${b.output.join('')}`,
      );
    } finally {
      await queue.close();
      await p.warehouse.close();
    }
  });
});
