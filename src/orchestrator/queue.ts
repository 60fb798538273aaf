import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { isoUtc } from '../engine/duckdb.js';
import { parsePostgresUrl } from '../warehouse/postgresWarehouse.js';
import { processAlive } from '../engine/processes.js';
import { acquireRunLock, holderIsDead, readRunLock, type LockHolder, type MetaSql, type RunLock } from '../warehouse/runLocks.js';
import type { BackfillResult } from './nextRun.js';
import type { ProgressEvent, RunRequest } from '../pipelines/kit/pipeline.js';

/**
 * Partition runs queued in PostgreSQL for `ecluse worker` processes on any number of machines. The queue is
 * the `runs` table itself: enqueuing inserts one `queued` row per partition, and a worker *claims* the
 * oldest one with `FOR UPDATE SKIP LOCKED` — in one transaction it takes the row, takes the partition's
 * `run_locks` row and turns the run `running` — so two workers never get the same run and a claimed run is
 * never without its lock. From there on, retries, timeout, cancel and dead-run recovery are the ones every
 * run has (`runs` and `run_locks`): a worker killed mid-run leaves its run `running` with a dead lock
 * holder, and `reapOrphans` (every worker runs it) marks it failed and queues the next attempt. There is no
 * second store of jobs to keep in step with `runs`. `enqueue` also sends a NOTIFY, so idle workers
 * listening (`listen`) claim at once rather than at their next poll.
 */

/** The NOTIFY channel of newly queued runs; the payload is the schema of their `runs` table. */
const QUEUED_CHANNEL = 'ecluse_runs_queued';

/** Where runs of day partitions execute on PostgreSQL: `queue` (workers) or `local` (this process). */
export type ExecutionMode = 'queue' | 'local';

/**
 * `ECLUSE_EXECUTION=local` keeps every run in the process of `ecluse up` (no worker needed); `queue` (the
 * default on PostgreSQL for the server) hands day partitions to `ecluse worker` processes. The embedded
 * warehouse always runs locally (one process holds the file).
 */
export function executionMode(warehouseUrl: string, env: NodeJS.ProcessEnv = process.env, fallback: ExecutionMode = 'queue'): ExecutionMode {
  if (!/^postgres(ql)?:\/\//.test(warehouseUrl)) return 'local';
  const v = env.ECLUSE_EXECUTION?.trim().toLowerCase();
  if (v === undefined || v === '') return fallback;
  if (v === 'queue' || v === 'local') return v;
  throw new Error(`ECLUSE_EXECUTION=${env.ECLUSE_EXECUTION}: expected queue or local`);
}

export interface QueuedRun {
  run_id: number;
  partition: string;
}

/** A queued run as a claim finds it. */
export interface QueuedRunRow {
  run_id: number;
  pipeline: string;
  partition: string;
  trigger: RunRequest['trigger'];
  attempt: number;
  /** When it was queued (`started_at` of a queued row). */
  queued_at: string;
}

/**
 * What a claim got. `claimed`: the run is now `running` for this process and `lock` is held (committed
 * together). `busy`: a live holder has the partition's lock; `unknown`: the worker cannot run that
 * pipeline. In those two the run is left `queued` and the claim took nothing: the caller ends it.
 */
export type Claim =
  { kind: 'claimed'; run: QueuedRunRow; lock: RunLock } | { kind: 'busy'; run: QueuedRunRow; holder: LockHolder } | { kind: 'unknown'; run: QueuedRunRow };

export interface ReapedRun {
  run_id: number;
  pipeline: string;
  partition: string;
  attempt: number;
  requeued: QueuedRun | null;
}

const nowSql = (ms = Date.now()) => isoUtc(new Date(ms)).replace('Z', '');

export class RunQueue {
  private constructor(
    /** Autocommitted statements on the warehouse's schema (queued rows, reaping), and claim transactions. */
    private readonly db: pg.Pool,
    private readonly connection: pg.ClientConfig,
    /** The schema of the `runs` table, as PostgreSQL names it (the payload of this queue's NOTIFY). */
    readonly schema: string,
  ) {}

  static async open(warehouseUrl: string): Promise<RunQueue> {
    const target = parsePostgresUrl(warehouseUrl);
    const connection: pg.ClientConfig = { ...target.config, application_name: 'ecluse-queue' };
    const db = new pg.Pool({ ...connection, max: 3 });
    try {
      const { rows } = await db.query<{ schema: string; indexed: string | null }>(`SELECT current_schema() AS schema, to_regclass('runs_queued') AS indexed`);
      const schema = rows[0]?.schema;
      if (schema === undefined) throw new Error('no current schema: is the warehouse created?');
      // Claims look for the oldest queued run: without this index each would scan the whole history. Created
      // only when missing: CREATE INDEX waits for every transaction writing to `runs` (a run's commit).
      if (rows[0]?.indexed === null) {
        const guard = await db.connect();
        try {
          // Two processes creating it at once would collide on the catalog: serialise like the warehouse's DDL.
          await guard.query(`SELECT pg_advisory_lock(hashtext('ecluse-queue-ddl'))`);
          await guard.query(`CREATE INDEX IF NOT EXISTS runs_queued ON runs (run_id) WHERE status = 'queued'`);
        } finally {
          await guard.query(`SELECT pg_advisory_unlock(hashtext('ecluse-queue-ddl'))`).catch(() => {});
          guard.release();
        }
      }
      return new RunQueue(db, connection, schema);
    } catch (err) {
      await db.end().catch(() => {});
      throw new Error(`cannot open the run queue on ${target.display}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Records one `queued` run per partition and wakes the listening workers, in one statement: what a
   * backfill, a trigger or a schedule tick does on PostgreSQL instead of running.
   */
  async enqueue(pipeline: string, partitions: readonly string[], trigger: RunRequest['trigger'], attempt = 1): Promise<QueuedRun[]> {
    if (partitions.length === 0) return [];
    // The NOTIFY is sent at commit, once however many rows (identical notifications of a transaction fold).
    const { rows } = await this.db.query<{ run_id: string | number; partition: string }>(
      `WITH queued AS (
         INSERT INTO runs (run_id, pipeline, partition, status, trigger, attempt, started_at)
         SELECT nextval('runs_seq'), $1, p, 'queued', $2, $3, $4::TIMESTAMP FROM unnest($5::TEXT[]) WITH ORDINALITY AS t(p, i) ORDER BY i
         RETURNING run_id, partition
       )
       SELECT q.run_id, q.partition FROM queued q CROSS JOIN (SELECT pg_notify($6, current_schema())) AS wake ORDER BY q.run_id`,
      [pipeline, trigger, attempt, nowSql(), [...partitions], QUEUED_CHANNEL],
    );
    return rows.map((r) => ({ run_id: Number(r.run_id), partition: r.partition }));
  }

  /**
   * Claims the oldest queued run no other claim is taking (`FOR UPDATE SKIP LOCKED`: a row another
   * transaction holds is passed over, not waited for), or null when there is none. In the same transaction
   * it takes the partition's lock (taking over a dead holder's, whose run still `running` is marked failed)
   * and turns the run `running` for this process: a worker killed after the commit leaves a run whose lock
   * holder is dead, which the reaper recovers; killed before it, it leaves the run queued.
   */
  async claim(options: { lockTtlMs: number; runs?: (pipeline: string) => boolean }): Promise<Claim | null> {
    const client = await this.db.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const claim = await this.claimIn(client, options.lockTtlMs, options.runs ?? (() => true));
        await client.query('COMMIT');
        return claim;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = e as Error;
        });
        throw err;
      }
    } finally {
      // A connection whose ROLLBACK failed may be mid-transaction: not handed to the next claim.
      client.release(broken);
    }
  }

  private async claimIn(client: pg.PoolClient, lockTtlMs: number, runs: (pipeline: string) => boolean): Promise<Claim | null> {
    const { rows } = await client.query<{
      run_id: string | number;
      pipeline: string;
      partition: string;
      trigger: RunRequest['trigger'];
      attempt: number;
      queued_at: string;
    }>(
      `SELECT run_id, pipeline, partition, trigger, attempt, started_at::TEXT AS queued_at FROM runs
       WHERE status = 'queued' ORDER BY run_id LIMIT 1 FOR UPDATE SKIP LOCKED`,
    );
    const row = rows[0];
    if (!row) return null;
    const run: QueuedRunRow = { ...row, run_id: Number(row.run_id), attempt: Number(row.attempt) };
    if (!runs(run.pipeline)) return { kind: 'unknown', run };
    const tx: MetaSql = {
      exec: async (sql, params) => (await client.query(sql, [...params])).rowCount ?? 0,
      rows: async (sql, params) => (await client.query(sql, [...params])).rows as Record<string, unknown>[],
    };
    const lock: RunLock = { pipeline: run.pipeline, partition: run.partition, owner: randomUUID() };
    const now = Date.now();
    const got = await acquireRunLock(tx, lock, lockTtlMs, now);
    if (!got.acquired) return { kind: 'busy', run, holder: got.holder };
    if (got.tookOverFrom) {
      await client.query(
        `UPDATE runs SET status = 'failed', finished_at = $3::TIMESTAMP,
           error = 'the process running it (pid ' || coalesce(pid::VARCHAR, '?') || ' on ' || coalesce(host, '?') || ') stopped before it finished'
         WHERE pipeline = $1 AND partition = $2 AND status = 'running'`,
        [run.pipeline, run.partition, nowSql(now)],
      );
    }
    await client.query(`UPDATE runs SET status = 'running', started_at = $2::TIMESTAMP, pid = $3, host = $4 WHERE run_id = $1`, [
      run.run_id,
      nowSql(now),
      process.pid,
      hostname(),
    ]);
    // Named in the lock from the start, as a renewal would: waiting callers and the reaper see whose it is.
    await client.query(`UPDATE run_locks SET run_id = $4 WHERE pipeline = $1 AND partition = $2 AND owner = $3`, [
      lock.pipeline,
      lock.partition,
      lock.owner,
      run.run_id,
    ]);
    return { kind: 'claimed', run, lock };
  }

  /**
   * Puts a claimed run back as it was, queued since its first queueing, and frees its lock: a worker that
   * is stopping hands back what it claimed but did not start.
   */
  async unclaim(run: QueuedRunRow, lock: RunLock): Promise<boolean> {
    const client = await this.db.connect();
    try {
      await client.query('BEGIN');
      const { rowCount } = await client.query(
        `UPDATE runs SET status = 'queued', started_at = $2::TIMESTAMP, pid = NULL, host = NULL WHERE run_id = $1 AND status = 'running'`,
        [run.run_id, run.queued_at],
      );
      await client.query(`DELETE FROM run_locks WHERE pipeline = $1 AND partition = $2 AND owner = $3`, [lock.pipeline, lock.partition, lock.owner]);
      if (rowCount === 1) await client.query(`SELECT pg_notify($1, current_schema())`, [QUEUED_CHANNEL]);
      await client.query('COMMIT');
      return rowCount === 1;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Calls `onQueued` whenever runs are queued on this warehouse's schema, until the returned stop. A
   * listener whose connection fails says so through `onError` and stays silent: workers still poll, the
   * NOTIFY only spares them the wait.
   */
  async listen(onQueued: () => void, onError: (err: Error) => void = () => {}): Promise<{ stop: () => Promise<void> }> {
    const client = new pg.Client({ ...this.connection, application_name: 'ecluse-queue-listen' });
    client.on('notification', (n) => {
      if (n.channel === QUEUED_CHANNEL && n.payload === this.schema) onQueued();
    });
    client.on('error', onError);
    await client.connect();
    try {
      await client.query(`LISTEN ${QUEUED_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
    return { stop: () => client.end().catch(() => {}) };
  }

  /** Runs waiting for a worker. */
  async depth(): Promise<number> {
    const { rows } = await this.db.query<{ n: string | number }>(`SELECT count(*) AS n FROM runs WHERE status = 'queued'`);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Waits until each queued run's partition has ended: its last run (this one or a later attempt) is no
   * longer queued or running and its lock is free. Reports each partition as it ends.
   */
  async waitFor(
    pipeline: string,
    queued: readonly QueuedRun[],
    onDone: (r: BackfillResult) => void = () => {},
    options: { pollMs?: number; signal?: AbortSignal } = {},
  ): Promise<BackfillResult[]> {
    const pending = new Map(queued.map((q) => [q.partition, q.run_id]));
    const done = new Map<string, BackfillResult>();
    const minId = Math.min(...queued.map((q) => q.run_id));
    while (pending.size > 0 && !options.signal?.aborted) {
      const { rows } = await this.db.query<{
        partition: string;
        run_id: string | number;
        status: string;
        attempt: number;
        error: string | null;
        owner: string | null;
        lrun: string | number | null;
        lpid: number | null;
        lhost: string | null;
        expires_at_ms: string | number | null;
      }>(
        `SELECT DISTINCT ON (r.partition) r.partition, r.run_id, r.status, r.attempt, r.error,
           l.owner, l.run_id AS lrun, l.pid AS lpid, l.host AS lhost, l.expires_at_ms
         FROM runs r LEFT JOIN run_locks l ON l.pipeline = r.pipeline AND l.partition = r.partition
         WHERE r.pipeline = $1 AND r.run_id >= $2 AND r.partition = ANY($3::TEXT[])
         ORDER BY r.partition, r.run_id DESC`,
        [pipeline, minId, [...pending.keys()]],
      );
      const now = Date.now();
      const host = hostname();
      for (const r of rows) {
        if (r.status === 'queued' || r.status === 'running') continue;
        // A worker killed after committing its run but before freeing the lock leaves the row behind: a dead
        // holder's lock keeps nothing from ending (it would only go when it expires, minutes later).
        const holder: LockHolder | null =
          r.owner === null
            ? null
            : { owner: r.owner, run_id: r.lrun === null ? null : Number(r.lrun), pid: r.lpid, host: r.lhost, expires_at_ms: Number(r.expires_at_ms) };
        if (holder !== null && !holderIsDead(holder, now, host)) continue;
        const result: BackfillResult = {
          partition: r.partition,
          status: r.status as BackfillResult['status'],
          run_id: Number(r.run_id),
          attempt: Number(r.attempt),
          error: r.error,
        };
        pending.delete(r.partition);
        done.set(r.partition, result);
        onDone(result);
      }
      if (pending.size > 0) await delay(options.pollMs ?? 200);
    }
    return queued.map((q) => done.get(q.partition)).filter((r): r is BackfillResult => r !== undefined);
  }

  /**
   * Runs of day partitions left `running` by a process that died (lock expired, or its holder a process of
   * this host that is gone; no lock row and started longer ago than a lock lasts): marked failed — the
   * conditional update lets one reaper win each — and, while attempts remain, queued again as the next
   * attempt with trigger `recovery`.
   */
  async reapOrphans(maxAttempts: number, lockTtlMs: number, now = Date.now()): Promise<ReapedRun[]> {
    const { rows } = await this.db.query<{
      run_id: string | number;
      pipeline: string;
      partition: string;
      attempt: number;
      pid: number | null;
      host: string | null;
      started_at: string;
      owner: string | null;
      lpid: number | null;
      lhost: string | null;
      expires_at_ms: string | number | null;
      lrun: string | number | null;
    }>(
      `SELECT r.run_id, r.pipeline, r.partition, r.attempt, r.pid, r.host, r.started_at,
         l.owner, l.pid AS lpid, l.host AS lhost, l.expires_at_ms, l.run_id AS lrun
       FROM runs r LEFT JOIN run_locks l ON l.pipeline = r.pipeline AND l.partition = r.partition
       WHERE r.status = 'running' AND r.partition LIKE '____-__-__'`,
    );
    const host = hostname();
    const dead = rows.filter((r) => {
      if (r.owner !== null) {
        const holder: LockHolder = {
          owner: r.owner,
          run_id: r.lrun === null ? null : Number(r.lrun),
          pid: r.lpid,
          host: r.lhost,
          expires_at_ms: Number(r.expires_at_ms),
        };
        return holderIsDead(holder, now, host);
      }
      if (r.host === host && r.pid !== null && !processAlive(r.pid)) return true;
      return Date.parse(r.started_at) < now - lockTtlMs;
    });
    if (dead.length === 0) return [];
    const { rows: failed } = await this.db.query<{
      run_id: string | number;
      pipeline: string;
      partition: string;
      attempt: number;
      trigger: RunRequest['trigger'];
    }>(
      `UPDATE runs SET status = 'failed', finished_at = $2::TIMESTAMP,
         duration_ms = round(EXTRACT(EPOCH FROM ($2::TIMESTAMP - started_at)) * 1000)::BIGINT,
         error = 'the process running it (pid ' || coalesce(pid::VARCHAR, '?') || ' on ' || coalesce(host, '?') || ') stopped before it finished'
       WHERE run_id = ANY($1::BIGINT[]) AND status = 'running'
       RETURNING run_id, pipeline, partition, attempt, trigger`,
      [dead.map((d) => Number(d.run_id)), nowSql(now)],
    );
    const out: ReapedRun[] = [];
    for (const f of failed) {
      const attempt = Number(f.attempt);
      let requeued: QueuedRun | null = null;
      if (attempt < maxAttempts) [requeued = null] = await this.enqueue(f.pipeline, [f.partition], 'recovery', attempt + 1);
      else {
        // No attempt follows to take the dead holder's lock over: free it, so waiting callers see the end.
        const owner = dead.find((d) => Number(d.run_id) === Number(f.run_id))?.owner ?? null;
        if (owner !== null)
          await this.db.query(`DELETE FROM run_locks WHERE pipeline = $1 AND partition = $2 AND owner = $3`, [f.pipeline, f.partition, owner]);
      }
      out.push({ run_id: Number(f.run_id), pipeline: f.pipeline, partition: f.partition, attempt, requeued });
    }
    return out;
  }

  /**
   * What keeps a partition from being queued again at once: a live holder of its lock (a worker running it),
   * else a run of it still queued. Null when it is free (a dead holder's run is the reaper's business).
   */
  async activeRun(pipeline: string, partition: string, now = Date.now()): Promise<{ state: 'running' | 'queued'; holder: LockHolder } | null> {
    const meta: MetaSql = {
      exec: async (sql, params) => (await this.db.query(sql, [...params])).rowCount ?? 0,
      rows: async (sql, params) => (await this.db.query(sql, [...params])).rows as Record<string, unknown>[],
    };
    const holder = await readRunLock(meta, pipeline, partition);
    if (holder && !holderIsDead(holder, now)) return { state: 'running', holder };
    const { rows } = await this.db.query<{ run_id: string | number }>(
      `SELECT run_id FROM runs WHERE pipeline = $1 AND partition = $2 AND status = 'queued' ORDER BY run_id LIMIT 1`,
      [pipeline, partition],
    );
    const queued = rows[0];
    return queued ? { state: 'queued', holder: { owner: 'queue', run_id: Number(queued.run_id), pid: null, host: null, expires_at_ms: now } } : null;
  }

  /**
   * Follows a queued run for a caller that waits on it (`ecluse trigger`, the API's NDJSON lines): progress
   * events for its status (queued, then running on which worker) and for each step its stored log lines
   * name. Worker processes keep their finer progress to themselves; the run's logs are what crosses machines.
   */
  watch(runId: number, onEvent: (e: ProgressEvent) => void, pollMs = 250): { stop: () => Promise<void> } {
    const stopped = new AbortController();
    let status = '';
    let seq = -1;
    const poll = async () => {
      const { rows } = await this.db.query<{ status: string; pid: number | null; host: string | null }>(
        `SELECT status, pid, host FROM runs WHERE run_id = $1`,
        [runId],
      );
      const run = rows[0];
      if (run && run.status !== status) {
        status = run.status;
        if (status === 'queued') onEvent({ step: 'queued', done: 0, total: 1, item: `run ${runId}` });
        else if (status === 'running') onEvent({ step: 'running', done: 0, total: 1, item: `worker pid ${run.pid ?? '?'} on ${run.host ?? '?'}` });
      }
      const { rows: lines } = await this.db.query<{ seq: number; data: { step?: unknown } | null }>(
        `SELECT seq, data FROM run_logs WHERE run_id = $1 AND seq > $2 ORDER BY seq`,
        [runId, seq],
      );
      for (const l of lines) {
        seq = Math.max(seq, Number(l.seq));
        if (typeof l.data?.step === 'string') onEvent({ step: l.data.step, done: 0, total: 1 });
      }
    };
    const loop = (async () => {
      while (!stopped.signal.aborted) {
        await poll().catch(() => {
          // Informative only: the next poll tries again, and the caller's wait decides the outcome.
        });
        // Stopping wakes it: the caller's answer does not wait for the next poll.
        await delay(pollMs, undefined, { signal: stopped.signal }).catch(() => {});
      }
    })();
    return {
      stop: async () => {
        stopped.abort();
        await loop;
      },
    };
  }

  /**
   * Ends a run without running it (a cancelled or refused queued run), or a claimed run its worker could
   * not go on with: only while it is still in status `from`, so a run someone else took is left alone.
   */
  async endRun(runId: number, reason: string, status: 'cancelled' | 'failed', from: 'queued' | 'running' = 'queued'): Promise<boolean> {
    const { rowCount } = await this.db.query(`UPDATE runs SET status = $3, finished_at = $2::TIMESTAMP, error = $4 WHERE run_id = $1 AND status = $5`, [
      runId,
      nowSql(),
      status,
      reason,
      from,
    ]);
    return rowCount === 1;
  }

  async close(): Promise<void> {
    await this.db.end().catch(() => {});
  }
}
