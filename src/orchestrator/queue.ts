import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { isoUtc } from '../engine/duckdb.js';
import { parsePostgresUrl } from '../warehouse/postgresWarehouse.js';
import { processAlive } from '../engine/processes.js';
import { holderIsDead, readRunLock, type LockHolder, type MetaSql } from '../warehouse/runLocks.js';
import type { BackfillResult } from './nextRun.js';
import type { ProgressEvent, RunRequest } from '../pipelines/kit/pipeline.js';

/**
 * Partition runs through a PostgreSQL job queue (pg-boss), for `ecluse worker` processes on any number of
 * machines. The `runs` table stays the source of truth: enqueuing inserts one `queued` row per partition
 * (the job carries its run id), and a worker *claims* that row (queued → running) before it works. From the
 * claim on, the run's fate belongs to the runs table and its lock, not to pg-boss: the job is completed at
 * once, so a job never outlives the few milliseconds between fetch and claim. A worker killed mid-run leaves
 * its run `running` with a dead lock holder; `reapOrphans` (every worker runs it) marks it failed and
 * enqueues the next attempt. A worker killed between fetch and claim leaves an active job whose row is still
 * queued: pg-boss expires it (JOB_EXPIRE_S) and hands it out again.
 */

const QUEUE_NAME = 'ecluse-partition-runs';
/** Fetch → claim takes milliseconds; past this a fetched job is presumed lost with its worker. */
const JOB_EXPIRE_S = 30;

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

/** What a job carries: the queued run it stands for. */
export interface PartitionJob {
  run_id: number;
  pipeline: string;
  partition: string;
  trigger: RunRequest['trigger'];
  attempt: number;
}

export interface QueuedRun {
  run_id: number;
  partition: string;
}

export interface ReapedRun {
  run_id: number;
  pipeline: string;
  partition: string;
  attempt: number;
  requeued: QueuedRun | null;
}

/** The queue's schema: `ecluse_queue`, or `<schema>_queue` beside a warehouse under `?schema=`. */
export function queueSchemaFor(warehouseUrl: string): string {
  const { schema } = parsePostgresUrl(warehouseUrl);
  return schema ? `${schema}_queue` : 'ecluse_queue';
}

export class RunQueue {
  private constructor(
    readonly boss: PgBoss,
    /** Autocommitted statements on the warehouse's schema (queued rows, claims, reaping). */
    private readonly db: pg.Pool,
    readonly schema: string,
  ) {}

  static async open(warehouseUrl: string): Promise<RunQueue> {
    const target = parsePostgresUrl(warehouseUrl);
    const schema = queueSchemaFor(warehouseUrl);
    const boss = new PgBoss({
      connectionString: target.config.connectionString,
      schema,
      max: 3,
      schedule: false,
      supervise: true,
      application_name: 'ecluse-queue',
    });
    boss.on('error', () => {
      // pg-boss retries its own maintenance; a lasting failure surfaces as fetch/insert errors.
    });
    // Two processes installing the schema at once would collide on the catalog: serialise like the warehouse's DDL.
    const db = new pg.Pool({ ...target.config, max: 3 });
    try {
      const guard = await db.connect();
      try {
        await guard.query(`SELECT pg_advisory_lock(hashtext('ecluse-queue-ddl'))`);
        await boss.start();
        if (!(await boss.getQueue(QUEUE_NAME)))
          await boss.createQueue(QUEUE_NAME, { name: QUEUE_NAME, retryLimit: 5, retryDelay: 1, expireInSeconds: JOB_EXPIRE_S });
      } finally {
        await guard.query(`SELECT pg_advisory_unlock(hashtext('ecluse-queue-ddl'))`).catch(() => {});
        guard.release();
      }
    } catch (err) {
      // The guard is back in the pool by now, so ending the pool does not wait for it.
      await boss.stop({ graceful: false, wait: false }).catch(() => {});
      await db.end().catch(() => {});
      throw new Error(`cannot open the run queue (schema ${schema}) on ${target.display}: ${(err as Error).message}`, { cause: err });
    }
    return new RunQueue(boss, db, schema);
  }

  /**
   * Records one `queued` run per partition (one statement) and its job (one insert): what a backfill, a
   * trigger or a schedule tick does on PostgreSQL instead of running.
   */
  async enqueue(pipeline: string, partitions: readonly string[], trigger: RunRequest['trigger'], attempt = 1): Promise<QueuedRun[]> {
    if (partitions.length === 0) return [];
    const { rows } = await this.db.query<{ run_id: string | number; partition: string }>(
      `INSERT INTO runs (run_id, pipeline, partition, status, trigger, attempt, started_at)
       SELECT nextval('runs_seq'), $1, p, 'queued', $2, $3, $4::TIMESTAMP FROM unnest($5::TEXT[]) WITH ORDINALITY AS t(p, i) ORDER BY i
       RETURNING run_id, partition`,
      [pipeline, trigger, attempt, isoUtc(new Date()).replace('Z', ''), [...partitions]],
    );
    const queued = rows.map((r) => ({ run_id: Number(r.run_id), partition: r.partition }));
    try {
      await this.boss.insert(
        queued.map((q) => ({ name: QUEUE_NAME, data: { run_id: q.run_id, pipeline, partition: q.partition, trigger, attempt } satisfies PartitionJob })),
      );
    } catch (err) {
      await this.db
        .query(`UPDATE runs SET status = 'failed', finished_at = $2::TIMESTAMP, error = $3 WHERE run_id = ANY($1::BIGINT[]) AND status = 'queued'`, [
          queued.map((q) => q.run_id),
          isoUtc(new Date()).replace('Z', ''),
          `could not be queued: ${(err as Error).message}`,
        ])
        .catch(() => {});
      throw err;
    }
    return queued;
  }

  /** The next job, or null when the queue is empty. */
  async fetch(): Promise<PgBoss.Job<PartitionJob> | null> {
    const [job] = await this.boss.fetch<PartitionJob>(QUEUE_NAME, { batchSize: 1 });
    return job ?? null;
  }

  /**
   * Marks a job done, in batches (one statement for the jobs of the last 200 ms): once its run is claimed a
   * job carries nothing more, and one lost with its worker before the batch went out is only re-delivered
   * after JOB_EXPIRE_S to find its run no longer queued.
   */
  complete(jobId: string): void {
    this.toComplete.push(jobId);
    this.completer ??= setTimeout(() => void this.flushCompletions(), 200);
  }

  private toComplete: string[] = [];
  private completer: NodeJS.Timeout | undefined;

  private async flushCompletions(): Promise<void> {
    this.completer = undefined;
    const ids = this.toComplete.splice(0);
    if (ids.length > 0) await this.boss.complete(QUEUE_NAME, ids).catch(() => {});
  }

  /** Jobs not yet taken (queue depth as pg-boss sees it). */
  async depth(): Promise<number> {
    return this.boss.getQueueSize(QUEUE_NAME);
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
      [dead.map((d) => Number(d.run_id)), isoUtc(new Date(now)).replace('Z', '')],
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

  /** Ends a run that is still queued without running it (its job, if fetched later, finds it no longer queued). */
  async dropQueued(runId: number, reason: string, status: 'cancelled' | 'failed'): Promise<boolean> {
    const { rowCount } = await this.db.query(`UPDATE runs SET status = $3, finished_at = $2::TIMESTAMP, error = $4 WHERE run_id = $1 AND status = 'queued'`, [
      runId,
      isoUtc(new Date()).replace('Z', ''),
      status,
      reason,
    ]);
    return rowCount === 1;
  }

  async close(): Promise<void> {
    if (this.completer) clearTimeout(this.completer);
    await this.flushCompletions();
    await this.boss.stop({ graceful: false, wait: true }).catch(() => {});
    await this.db.end().catch(() => {});
  }
}
