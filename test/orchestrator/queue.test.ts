import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { RunQueue, type Claim } from '../../src/orchestrator/queue.js';
import { openPlatform, tempHome } from '../helpers/platform.js';
import { dropSchemas, PG_BASE, schemaFor, skipUnless, warehouseFor } from '../helpers/warehouses.js';

interface Row {
  run_id: number;
  partition: string;
  status: string;
  pid: number | null;
  error: string | null;
}

async function runs(p: Platform): Promise<Row[]> {
  const rows = await p.warehouse.query(`SELECT run_id, partition, status, pid, error FROM runs WHERE pipeline = 'q' ORDER BY run_id`);
  return (rows as unknown as Row[]).map((r) => ({ ...r, run_id: Number(r.run_id), pid: r.pid === null ? null : Number(r.pid) }));
}

async function lockOf(p: Platform, partition: string): Promise<{ owner: string; run_id: number | null; pid: number } | undefined> {
  const [row] = await p.warehouse.query(`SELECT owner, run_id, pid FROM run_locks WHERE pipeline = 'q' AND partition = $1`, [partition]);
  return row ? { owner: String(row.owner), run_id: row.run_id === null ? null : Number(row.run_id), pid: Number(row.pid) } : undefined;
}

/** A pid of this host that no longer exists. */
async function deadPid(): Promise<number> {
  const gone = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => gone.once('exit', r));
  return gone.pid as number;
}

const TTL = 60_000;

describe('the run queue on `runs` (PostgreSQL)', { skip: await skipUnless('postgres') }, () => {
  const homes: string[] = [];
  after(() => dropSchemas(homes));

  async function setUp(): Promise<{ home: string; url: string; p: Platform; queue: RunQueue; close: () => Promise<void> }> {
    const home = await tempHome('ecluse-queue-');
    homes.push(home);
    const url = warehouseFor('postgres', home) as string;
    const p = await openPlatform(home, { ECLUSE_WAREHOUSE: url });
    const queue = await RunQueue.open(url);
    return {
      home,
      url,
      p,
      queue,
      close: async () => {
        await queue.close();
        await p.warehouse.close();
      },
    };
  }

  test('claimers racing on one queued run: exactly one gets it, with its lock, in the same commit', async () => {
    const { url, p, queue, close } = await setUp();
    // A second process's queue: its own pool, its own connections.
    const other = await RunQueue.open(url);
    try {
      const [queued] = await queue.enqueue('q', ['2024-05-01'], 'backfill');
      const claims = await Promise.all([
        ...Array.from({ length: 6 }, () => queue.claim({ lockTtlMs: TTL })),
        ...Array.from({ length: 6 }, () => other.claim({ lockTtlMs: TTL })),
      ]);
      const won = claims.filter((c): c is Extract<Claim, { kind: 'claimed' }> => c?.kind === 'claimed');
      assert.equal(won.length, 1, JSON.stringify(claims));
      assert.equal(claims.filter((c) => c === null).length, 11, 'the others found nothing to claim');
      const [w] = won;
      assert.equal(w?.run.run_id, queued?.run_id);
      assert.deepEqual(
        (await runs(p)).map((r) => [r.status, r.pid]),
        [['running', process.pid]],
      );
      assert.deepEqual(await lockOf(p, '2024-05-01'), { owner: w?.lock.owner, run_id: queued?.run_id, pid: process.pid });
      assert.equal(await queue.depth(), 0);
    } finally {
      await other.close();
      await close();
    }
  });

  test('many claimers draining a queue: every run is claimed exactly once, oldest first', async () => {
    const { url, p, queue, close } = await setUp();
    const other = await RunQueue.open(url);
    try {
      const days = Array.from({ length: 16 }, (_, i) => `2024-06-${String(i + 1).padStart(2, '0')}`);
      const queued = await queue.enqueue('q', days, 'backfill');
      assert.deepEqual(
        queued.map((q) => q.partition),
        days,
      );
      const got: number[] = [];
      await Promise.all(
        [queue, queue, other, other].map(async (q) => {
          for (;;) {
            const c = await q.claim({ lockTtlMs: TTL });
            if (c === null) return;
            assert.equal(c.kind, 'claimed');
            got.push(c.run.run_id);
          }
        }),
      );
      assert.deepEqual(
        [...got].sort((a, b) => a - b),
        queued.map((q) => q.run_id),
      );
      assert.ok(
        (await runs(p)).every((r) => r.status === 'running'),
        'all claimed',
      );
    } finally {
      await other.close();
      await close();
    }
  });

  test('a claim passes over a queued run another transaction holds, without waiting for it', async () => {
    const { p, queue, close } = await setUp();
    const holder = new pg.Client({ connectionString: PG_BASE, options: `-c search_path=${schemaFor(homes.at(-1) as string)}` });
    await holder.connect();
    try {
      const [first, second] = await queue.enqueue('q', ['2024-07-01', '2024-07-02'], 'backfill');
      await holder.query('BEGIN');
      await holder.query(`SELECT run_id FROM runs WHERE run_id = $1 FOR UPDATE`, [first?.run_id]);
      const claim = await Promise.race([queue.claim({ lockTtlMs: TTL }), sleep(5000, 'blocked' as const, { ref: false })]);
      assert.ok(claim !== 'blocked', 'the claim waited for the held row');
      assert.equal(claim?.kind === 'claimed' ? claim.run.run_id : null, second?.run_id);
      assert.equal(await queue.claim({ lockTtlMs: TTL }), null, 'the held row is not claimable while held');
      await holder.query('ROLLBACK');
      const next = await queue.claim({ lockTtlMs: TTL });
      assert.equal(next?.kind === 'claimed' ? next.run.run_id : null, first?.run_id, 'claimable once released');
      assert.deepEqual(
        (await runs(p)).map((r) => r.status),
        ['running', 'running'],
      );
    } finally {
      await holder.end();
      await close();
    }
  });

  test('a claim leaves queued (and takes nothing) a run whose partition a live holder has, or whose pipeline the worker lacks', async () => {
    const { p, queue, close } = await setUp();
    try {
      await p.warehouse.acquireRunLock({ pipeline: 'q', partition: '2024-08-01', owner: 'live-holder' }, TTL);
      const [busy] = await queue.enqueue('q', ['2024-08-01'], 'api');
      const claim = await queue.claim({ lockTtlMs: TTL });
      assert.equal(claim?.kind, 'busy');
      assert.equal(claim?.kind === 'busy' ? claim.holder.owner : null, 'live-holder');
      assert.equal((await lockOf(p, '2024-08-01'))?.owner, 'live-holder', 'the holder keeps its lock');
      assert.equal(await queue.endRun(busy?.run_id as number, 'busy', 'cancelled'), true, 'still queued: the caller ends it');

      await queue.enqueue('q', ['2024-08-02'], 'api');
      const unknown = await queue.claim({ lockTtlMs: TTL, runs: (name) => name !== 'q' });
      assert.equal(unknown?.kind, 'unknown');
      assert.equal(await lockOf(p, '2024-08-02'), undefined, 'no lock taken');
      assert.deepEqual(
        (await runs(p)).map((r) => [r.partition, r.status]),
        [
          ['2024-08-01', 'cancelled'],
          ['2024-08-02', 'queued'],
        ],
      );
    } finally {
      await close();
    }
  });

  test('a claim takes over the lock of a dead holder and fails the run it left running', async () => {
    const { p, queue, close } = await setUp();
    try {
      const pid = await deadPid();
      const orphan = await p.warehouse.startRun('q', '2024-09-01', 'schedule', 1);
      await p.warehouse.execute(`UPDATE runs SET pid = $2 WHERE run_id = $1`, [orphan, pid]);
      await p.warehouse.execute(
        `INSERT INTO run_locks (pipeline, partition, owner, run_id, pid, host, acquired_at_ms, expires_at_ms) VALUES ('q', '2024-09-01', 'dead', $1, $2, $3, $4, $5)`,
        [orphan, pid, hostname(), Date.now(), Date.now() + TTL],
      );
      const [queued] = await queue.enqueue('q', ['2024-09-01'], 'recovery', 2);
      const claim = await queue.claim({ lockTtlMs: TTL });
      assert.equal(claim?.kind, 'claimed');
      assert.equal(claim?.run.attempt, 2);
      const rows = await runs(p);
      assert.deepEqual(
        rows.map((r) => [r.run_id, r.status]),
        [
          [orphan, 'failed'],
          [queued?.run_id, 'running'],
        ],
      );
      assert.match(rows[0]?.error ?? '', new RegExp(`^the process running it \\(pid ${pid} on .+\\) stopped before it finished$`));
      assert.equal((await lockOf(p, '2024-09-01'))?.owner, claim?.kind === 'claimed' ? claim.lock.owner : '?');
    } finally {
      await close();
    }
  });

  test('unclaim hands a claimed run back as it was queued, its lock freed', async () => {
    const { p, queue, close } = await setUp();
    try {
      const [queued] = await queue.enqueue('q', ['2024-10-01'], 'schedule');
      assert.ok(queued);
      const [before] = await p.warehouse.query(`SELECT started_at::TEXT AS t FROM runs WHERE run_id = $1`, [queued.run_id]);
      await sleep(20);
      const claim = await queue.claim({ lockTtlMs: TTL });
      assert.ok(claim?.kind === 'claimed');
      assert.equal(await queue.unclaim(claim.run, claim.lock), true);
      const [row] = await p.warehouse.query(`SELECT status, pid, host, started_at::TEXT AS t FROM runs WHERE run_id = $1`, [queued.run_id]);
      assert.deepEqual(row, { status: 'queued', pid: null, host: null, t: before?.t });
      assert.equal(await lockOf(p, '2024-10-01'), undefined);
      const again = await queue.claim({ lockTtlMs: TTL });
      assert.equal(again?.kind === 'claimed' ? again.run.run_id : null, queued?.run_id, 'claimable again');
    } finally {
      await close();
    }
  });

  test('enqueue wakes the listeners of its schema only', async () => {
    const a = await setUp();
    const b = await setUp();
    let woken = 0;
    let elsewhere = 0;
    const listening = await a.queue.listen(() => woken++);
    const other = await b.queue.listen(() => elsewhere++);
    try {
      await a.queue.enqueue('q', ['2024-11-01', '2024-11-02'], 'backfill');
      const deadline = Date.now() + 5000;
      while (woken === 0) {
        assert.ok(Date.now() < deadline, 'no notification');
        await sleep(10);
      }
      await sleep(200);
      assert.equal(woken, 1, 'one notification for one enqueue');
      assert.equal(elsewhere, 0, 'a listener of another schema is not woken');
    } finally {
      await listening.stop();
      await other.stop();
      await a.close();
      await b.close();
    }
  });

  test('a warehouse with the queue schema of an earlier version (pg-boss) keeps working, and that schema is left alone', async () => {
    const home = await tempHome('ecluse-queue-');
    homes.push(home);
    const url = warehouseFor('postgres', home) as string;
    const old = `${schemaFor(home)}_queue`;
    const c = new pg.Client({ connectionString: PG_BASE });
    await c.connect();
    try {
      await c.query(`CREATE SCHEMA "${old}"; CREATE TABLE "${old}".job (id UUID PRIMARY KEY, name TEXT NOT NULL, data JSONB)`);
      await c.query(`INSERT INTO "${old}".job VALUES ('00000000-0000-0000-0000-000000000001', 'ecluse-partition-runs', '{"run_id": 1}')`);
      const p = await openPlatform(home, { ECLUSE_WAREHOUSE: url });
      const queue = await RunQueue.open(url);
      try {
        const [queued] = await queue.enqueue('q', ['2024-12-01'], 'api');
        const claim = await queue.claim({ lockTtlMs: TTL });
        assert.equal(claim?.kind === 'claimed' ? claim.run.run_id : null, queued?.run_id);
      } finally {
        await queue.close();
        await p.warehouse.close();
      }
      const { rows } = await c.query(`SELECT count(*)::INT AS n FROM "${old}".job`);
      assert.equal(rows[0]?.n, 1, 'the old schema and its rows are untouched');
    } finally {
      await c.query(`DROP SCHEMA IF EXISTS "${old}" CASCADE`).catch(() => {});
      await c.end();
    }
  });
});
