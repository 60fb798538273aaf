import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import PQueue from 'p-queue';
import type { RunSummary } from '../warehouse/metadata.js';
import type { LockHolder, LockResult, RunLock } from '../warehouse/runLocks.js';
import type { RunFilter, Warehouse } from '../warehouse/warehouse.js';
import { partitionsBetween } from '../pipelines/kit/feeds.js';
import type { Feed, Pipeline, Platform, ProgressEvent, RunRequest } from '../pipelines/kit/pipeline.js';
import { BackfillChain, type BackfillResult, type ClaimedPartition } from './nextRun.js';
import type { RunQueue } from './queue.js';
import { executeRun, isRetryable, RunCancelledError, RunTimeoutError, summaryOf, type ExecuteOptions, type NextRunStart } from './runner.js';

/** Raised when another live run holds the partition (one active run per pipeline and partition). */
export class PartitionBusyError extends Error {
  override name = 'PartitionBusyError';
  constructor(
    readonly pipeline: string,
    readonly partition: string,
    readonly holder: LockHolder,
    /** Queued for a worker rather than running (the PostgreSQL run queue). */
    readonly queued = false,
  ) {
    super(
      queued
        ? `${pipeline} [${partition}] is already queued (run ${holder.run_id ?? '?'}); try again when it has finished`
        : `${pipeline} [${partition}] is already running` +
            (holder.run_id !== null ? ` (run ${holder.run_id}` : ' (') +
            `, pid ${holder.pid ?? '?'} on ${holder.host ?? '?'}); try again when it has finished`,
    );
  }
}

/**
 * The abort reason of runs ended because their process stops (SIGINT/SIGTERM of `up` or `worker`). Its
 * message is the one the recovery pass looks for: the next start runs such a partition again while
 * attempts remain, as it does for a process that died.
 */
export class ProcessStoppingError extends Error {
  override name = 'ProcessStoppingError';
  constructor(why: string) {
    super(`the process running it (pid ${process.pid} on ${hostname()}) stopped before it finished (${why})`);
  }
}

export interface OrchestratorOptions {
  /** Attempts per partition run (config `retries.max_attempts`). */
  maxAttempts?: number;
  /** Base of the exponential backoff between attempts (config `retries.backoff_ms`). */
  backoffMs?: number;
  /** Time allowed to one attempt; past it the run is aborted at its next step and fails. */
  timeoutMs?: number;
  /** A lock not renewed for this long is free to take over (its holder is presumed dead). */
  lockTtlMs?: number;
  /** How often a running partition renews its lock and looks for a cancel request from another process. */
  pollMs?: number;
  /** Randomness of the jitter (tests pin it). */
  random?: () => number;
  /**
   * Opens another connection to the same warehouse, for runs in parallel (PostgreSQL: one writer client
   * carries one transaction at a time, so each concurrent run gets its own warehouse). Absent: runs one at a time.
   */
  openWarehouse?: () => Promise<Warehouse>;
  /**
   * PostgreSQL run queue (`queued` rows of `runs`): when set, backfills, triggers and schedule ticks are
   * queued for `ecluse worker` processes instead of run here (`runPartition` itself always runs here: it is
   * what a worker calls).
   */
  runQueue?: RunQueue;
}

export interface PartitionRunOptions {
  progress?: (e: ProgressEvent) => void;
  /** First attempt number (a recovery continues the count of the run that died). */
  firstAttempt?: number;
  /** The platform to run on (a parallel slot's own warehouse); default the orchestrator's, one run at a time. */
  platform?: Platform;
  /** Told of each attempt's run as it starts. */
  onAttempt?: (runId: number, attempt: number) => void;
  /**
   * The partition was taken already, its lock held and its run maybe recorded `running`: by the previous
   * run of a backfill (see BackfillChain), or by a worker's claim of a queued run (RunQueue.claim).
   */
  claimed?: ClaimedPartition;
  /** Records the backfill's next run with this partition's commit (see BackfillChain). */
  next?: NextRunStart;
}

export interface BackfillProgress {
  total: number;
  skipped: number;
  done: number;
  failed: number;
  remaining: number;
  /** Estimated milliseconds left, from the mean time of the partitions run so far (null before the first). */
  eta_ms: number | null;
  partition?: string;
}

export interface BackfillSummary {
  pipeline: string;
  from: string;
  to: string;
  partitions: number;
  skipped: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  busy: number;
  /** Runs at a time, as asked and as possible (1 on the embedded warehouse, which has one writer). */
  parallel: number;
  parallel_effective: number;
  duration_ms: number;
  interrupted: boolean;
  /** The partitions went through the PostgreSQL queue to `ecluse worker` processes. */
  queued?: boolean;
  results: BackfillResult[];
}

export interface BackfillOptions {
  parallel?: number;
  /** Runs partitions that already succeeded too (without it, rerunning a backfill resumes it). */
  force?: boolean;
  trigger?: RunRequest['trigger'];
  onProgress?: (p: BackfillProgress) => void;
  /** Stops taking new partitions (Ctrl-C); runs in progress finish. */
  signal?: AbortSignal;
  /** The feed whose partitions cover the range (`--dataset`); default the pipeline's first, or the days. */
  feed?: Feed;
}

export type CancelOutcome = 'cancelled' | 'requested' | 'not_running' | 'not_found';

interface Execution {
  controller: AbortController;
}

const DEFAULT_TIMEOUT_MS = 6 * 3_600_000;

/**
 * Jobs on the orchestrator's own warehouse, one at a time in arrival order: the embedded warehouse has one
 * write connection, and two runs interleaving their transactions on it would mix their data.
 */
export class WriterQueue extends PQueue {
  constructor() {
    super({ concurrency: 1 });
  }

  /** Jobs waiting or running at this moment: what a newcomer waits behind. */
  get length(): number {
    return this.size + this.pending;
  }
}

/**
 * Runs pipelines by partition, in this process: a lock per (pipeline, partition), attempts with
 * exponential backoff and jitter, a timeout per attempt, cancellation, and backfills of day ranges with
 * bounded concurrency. The scheduler, the API and the CLI all run partitions through it; `ecluse worker`
 * processes run the partitions they claim from the PostgreSQL run queue through `runPartition` too.
 */
export class Orchestrator {
  /** Runs on the orchestrator's own platform, one at a time (its warehouse has one write connection). */
  readonly queue = new WriterQueue();
  private readonly active = new Map<number, Execution>();
  /** Every partition run and one-off job in progress here, from before its first attempt to its end. */
  private readonly executions = new Set<Execution>();
  private stopReason: ProcessStoppingError | null = null;
  readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  readonly lockTtlMs: number;
  private readonly pollMs: number;
  private readonly random: () => number;

  constructor(
    readonly platform: Platform,
    readonly pipelines: ReadonlyMap<string, Pipeline>,
    private readonly options: OrchestratorOptions = {},
  ) {
    this.maxAttempts = options.maxAttempts ?? platform.config.retries.max_attempts;
    this.backoffMs = options.backoffMs ?? platform.config.retries.backoff_ms;
    this.timeoutMs = options.timeoutMs ?? platform.config.retries.timeout_ms ?? DEFAULT_TIMEOUT_MS;
    this.lockTtlMs = options.lockTtlMs ?? 60_000;
    this.pollMs = options.pollMs ?? Math.min(1000, Math.floor(this.lockTtlMs / 3));
    this.random = options.random ?? Math.random;
  }

  pipeline(name: string): Pipeline | undefined {
    return this.pipelines.get(name);
  }

  /** Delay before attempt `attempt + 1`: base × 2^(attempt-1), jittered to between half and all of it. */
  backoff(attempt: number): number {
    const full = this.backoffMs * 2 ** (attempt - 1);
    return Math.round(full / 2 + (full / 2) * this.random());
  }

  /**
   * Runs one partition to its end: holds the partition's lock, tries up to `maxAttempts` times (each
   * attempt is a run of its own in `runs`, numbered), and answers with the last attempt's summary.
   * Throws PartitionBusyError when a live run holds the partition.
   */
  async runPartition(pipeline: Pipeline, partition: string, trigger: RunRequest['trigger'], options: PartitionRunOptions = {}): Promise<RunSummary> {
    // A partition a backfill's previous run already claimed goes on, to record its end.
    if (this.stopReason && !options.claimed) throw this.stopReason;
    const platform = options.platform ?? this.platform;
    const { warehouse } = platform;
    const claimedLock = options.claimed?.partition === partition ? options.claimed.lock : null;
    const claimed = claimedLock ? options.claimed : undefined;
    const lock: RunLock = claimedLock ?? { pipeline: pipeline.name, partition, owner: randomUUID() };
    const got: LockResult = claimedLock ? { acquired: true, tookOverFrom: null } : await warehouse.acquireRunLock(lock, this.lockTtlMs);
    if (!got.acquired) throw new PartitionBusyError(pipeline.name, partition, got.holder);
    if (got.tookOverFrom) {
      // Its holder died: a run of it still `running` is an orphan (only on a takeover: it costs a statement).
      const orphans = () =>
        warehouse.execute(
          `UPDATE runs SET status = 'failed', finished_at = $3::TIMESTAMP,
             error = 'the process running it (pid ' || coalesce(CAST(pid AS VARCHAR), '?') || ' on ' || coalesce(host, '?') || ') stopped before it finished'
           WHERE pipeline = $1 AND partition = $2 AND status = 'running'`,
          [pipeline.name, partition, new Date().toISOString().replace('Z', '')],
        );
      await (options.platform ? orphans() : this.queue.add(orphans)).catch(() => {
        // Informative: the recovery pass (or a reaper) marks it later.
      });
    }
    const exec = this.track({ controller: claimed?.controller ?? new AbortController() });
    const runIds: number[] = claimed?.runId != null ? [claimed.runId] : [];
    let current: number | undefined;
    let polling = false;
    const poll = setInterval(() => {
      if (polling) return;
      polling = true;
      void (async () => {
        if (!(await warehouse.renewRunLock(lock, this.lockTtlMs, current))) {
          exec.controller.abort(new Error(`lost the lock of ${pipeline.name} [${partition}] (not renewed in time; another process took it over)`));
        } else if (current !== undefined && (await warehouse.cancelRequested(current))) {
          exec.controller.abort(new RunCancelledError(`run ${current} cancelled on request`));
        }
      })()
        .catch(() => {
          // A failed poll is retried at the next one; the lock lasts several polls.
        })
        .finally(() => {
          polling = false;
        });
    }, this.pollMs);
    poll.unref();
    try {
      let summary: RunSummary | undefined;
      const first = options.firstAttempt ?? 1;
      // Attempts are numbered across a recovery: at most maxAttempts in all, at least one more.
      const last = Math.max(first, this.maxAttempts);
      for (let attempt = first; attempt <= last; attempt++) {
        const timeout = new AbortController();
        const timer = setTimeout(() => timeout.abort(new RunTimeoutError(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
        timer.unref();
        const signal = AbortSignal.any([exec.controller.signal, timeout.signal]);
        let retryable = true;
        // Waiting for the writer may outlast a stop or cancel: then no attempt starts (one already recorded
        // `running` by a backfill's previous run still goes through executeRun, which records its end).
        const recorded = attempt === first && claimed?.runId != null;
        const job = () =>
          exec.controller.signal.aborted && !recorded
            ? Promise.resolve(null)
            : executeRun(platform, pipeline, { partition, trigger }, options.progress, {
                signal,
                attempt,
                startedRunId: attempt === first && claimed?.runId != null ? claimed.runId : undefined,
                next: options.next,
                onStart: (id) => {
                  current = id;
                  runIds.push(id);
                  this.active.set(id, exec);
                  options.onAttempt?.(id, attempt);
                },
                onFailure: (err) => {
                  retryable = isRetryable(err);
                },
              });
        let result: RunSummary | null;
        try {
          result = options.platform ? await job() : await this.queue.add(job);
        } finally {
          clearTimeout(timer);
        }
        if (result === null) break;
        summary = result;
        if (summary.status !== 'failed' || !retryable || exec.controller.signal.aborted || attempt >= last) break;
        try {
          await delay(this.backoff(attempt), undefined, { signal: exec.controller.signal });
        } catch {
          // Cancelled or stopped during the backoff: no further attempt.
          break;
        }
      }
      if (!summary) throw exec.controller.signal.aborted ? (exec.controller.signal.reason as Error) : new Error('no attempt was made (maxAttempts < 1)');
      return summary;
    } finally {
      this.executions.delete(exec);
      clearInterval(poll);
      for (const id of runIds) this.active.delete(id);
      await warehouse.releaseRunLock(lock).catch(() => {
        // Left to expire: the next run takes it over after lockTtlMs.
      });
    }
  }

  /** Whether partition runs go through the PostgreSQL queue to workers (otherwise they run here). */
  get viaQueue(): boolean {
    return this.options.runQueue !== undefined;
  }

  /** Queues a partition run for the workers without waiting (a schedule tick); its run id. */
  async enqueuePartition(pipeline: Pipeline, partition: string, trigger: RunRequest['trigger']): Promise<number> {
    const runQueue = this.options.runQueue;
    if (!runQueue) throw new Error('enqueuePartition needs the PostgreSQL run queue (ECLUSE_EXECUTION=queue)');
    const [q] = await runQueue.enqueue(pipeline.name, [partition], trigger);
    return (q as { run_id: number }).run_id;
  }

  /**
   * Runs one partition where this orchestrator sends them: here (`runPartition`), or through the queue to a
   * worker, waiting for its end. The API and `ecluse trigger` go through it.
   */
  async submitPartition(pipeline: Pipeline, partition: string, trigger: RunRequest['trigger'], options: PartitionRunOptions = {}): Promise<RunSummary> {
    const runQueue = this.options.runQueue;
    if (!runQueue) return this.runPartition(pipeline, partition, trigger, options);
    // Answered at once like a local run (409 from the API), rather than queued to be cancelled by the worker.
    const active = await runQueue.activeRun(pipeline.name, partition);
    if (active) throw new PartitionBusyError(pipeline.name, partition, active.holder, active.state === 'queued');
    const queued = await runQueue.enqueue(pipeline.name, [partition], trigger);
    const watcher = options.progress && queued[0] ? runQueue.watch(queued[0].run_id, options.progress) : undefined;
    let result: BackfillResult | undefined;
    try {
      [result] = await runQueue.waitFor(pipeline.name, queued);
    } finally {
      await watcher?.stop();
    }
    const run = result?.run_id != null ? await this.platform.warehouse.getRun(result.run_id) : null;
    if (!run) throw new Error(`queued run ${queued[0]?.run_id ?? '?'} of ${pipeline.name} [${partition}] vanished from the runs table`);
    return summaryOf(run);
  }

  /**
   * Runs a job that is not a partition run (an ad-hoc `--input` run, a rebuild: never locked, not retried)
   * on the orchestrator's queue, cancellable like the others.
   */
  async runOnce(job: (options: ExecuteOptions) => Promise<RunSummary>): Promise<RunSummary> {
    const exec = this.track({ controller: new AbortController() });
    return this.queue.add(async () => {
      // Stopped while it waited for the writer: nothing was recorded, nothing starts.
      if (exec.controller.signal.aborted) {
        this.executions.delete(exec);
        throw exec.controller.signal.reason as Error;
      }
      let id: number | undefined;
      try {
        return await job({
          signal: exec.controller.signal,
          onStart: (runId) => {
            id = runId;
            this.active.set(runId, exec);
          },
        });
      } finally {
        this.executions.delete(exec);
        if (id !== undefined) this.active.delete(id);
      }
    });
  }

  /** Registers a run in progress; one that begins while the process stops is aborted at once. */
  private track(exec: Execution): Execution {
    this.executions.add(exec);
    if (this.stopReason) exec.controller.abort(this.stopReason);
    return exec;
  }

  /** Whether `stop` was called: runs end, none starts. */
  get stopping(): boolean {
    return this.stopReason !== null;
  }

  /**
   * The process is stopping: every run of this orchestrator ends now rather than after its attempts. The
   * attempt in progress is aborted through its signal (a fetch stops, the run fails at its next step or at
   * its commit, recorded `failed` with a ProcessStoppingError, which the next start recovers), a backoff
   * wait is cut short, and no further attempt or queued job starts. Wait for them with `drain()`.
   */
  stop(why: string): void {
    if (this.stopReason) return;
    this.stopReason = new ProcessStoppingError(why);
    for (const exec of this.executions) exec.controller.abort(this.stopReason);
  }

  /**
   * Cancels a run: at once when this process runs it (it stops at its next step, or during its backoff);
   * otherwise the request is recorded in `runs`, and the process running it (PostgreSQL) sees it at its next poll.
   */
  async cancel(runId: number): Promise<CancelOutcome> {
    const exec = this.active.get(runId);
    if (exec) {
      exec.controller.abort(new RunCancelledError(`run ${runId} cancelled on request`));
      return 'cancelled';
    }
    const run = await this.platform.warehouse.getRun(runId);
    if (!run) return 'not_found';
    let status = run.status;
    if (status === 'queued') {
      // Not started: ended here, and no worker claims it any more. Queued on the orchestrator's writer so
      // the statement never lands in a local run's transaction.
      const n = await this.queue.add(() =>
        this.platform.warehouse.execute(
          `UPDATE runs SET status = 'cancelled', finished_at = $2::TIMESTAMP, error = 'cancelled on request before it started' WHERE run_id = $1 AND status = 'queued'`,
          [runId, new Date().toISOString().replace('Z', '')],
        ),
      );
      if (n === 1) return 'cancelled';
      // A worker claimed it meanwhile: cancelled as a running run.
      status = (await this.platform.warehouse.getRun(runId))?.status ?? status;
    }
    if (status !== 'running') return 'not_running';
    return (await this.platform.warehouse.requestCancel(runId)) ? 'requested' : 'not_running';
  }

  /**
   * Partitions of a pipeline that have a succeeded run between two days. A run that left files for a
   * later run (`files_deferred`: landing files still being written) does not make its partition done.
   */
  async succeededPartitions(pipeline: string, from: string, to: string): Promise<Set<string>> {
    return this.succeeded({ pipeline, status: 'succeeded', from, to });
  }

  private async succeeded(filter: RunFilter, among?: ReadonlySet<string>): Promise<Set<string>> {
    const done = new Set<string>();
    for (let offset = 0; ; offset += 10_000) {
      const { items } = await this.platform.warehouse.listRuns({ ...filter, limit: 10_000, offset });
      for (const r of items) if (!r.files_deferred && (among === undefined || among.has(r.partition))) done.add(r.partition);
      if (items.length < 10_000) return done;
    }
  }

  /**
   * Runs every day from `from` to `to` as a partition (or the feed's partitions that cover them), `parallel`
   * at a time where the warehouse allows it.
   * Partitions already succeeded are skipped unless `force`: rerunning an interrupted backfill resumes it.
   */
  async backfill(pipeline: Pipeline, from: string, to: string, options: BackfillOptions = {}): Promise<BackfillSummary> {
    const t0 = Date.now();
    const feed = options.feed ?? pipeline.feeds?.[0];
    const days = partitionsBetween(feed, from, to);
    // A feed's partitions need not be days (eco2mix's consolidated months), which a range of days would miss.
    const done = options.force
      ? new Set<string>()
      : feed
        ? await this.succeeded({ pipeline: pipeline.name, status: 'succeeded' }, new Set(days))
        : await this.succeededPartitions(pipeline.name, from, to);
    const todo = days.filter((d) => !done.has(d));
    const parallel = Math.max(1, Math.trunc(options.parallel ?? 1));
    const runQueue = this.options.runQueue;
    const canParallel = this.platform.warehouse.kind === 'postgres' && this.options.openWarehouse !== undefined;
    // Through the queue, the workers' concurrency decides.
    const effective = runQueue ? parallel : canParallel ? Math.min(parallel, Math.max(1, todo.length)) : 1;
    const results = new Map<string, BackfillResult>(
      days.filter((d) => done.has(d)).map((d) => [d, { partition: d, status: 'skipped', run_id: null, attempt: null, error: null }]),
    );
    const progress: BackfillProgress = { total: days.length, skipped: days.length - todo.length, done: 0, failed: 0, remaining: todo.length, eta_ms: null };
    const started = Date.now();
    const report = (partition?: string) => {
      const finished = progress.done + progress.failed;
      progress.eta_ms = finished > 0 ? Math.round((((Date.now() - started) / finished) * progress.remaining) / effective) : null;
      options.onProgress?.({ ...progress, partition });
    };
    report();

    const slots: Platform[] = [];
    if (runQueue) {
      const queued = await runQueue.enqueue(pipeline.name, todo, options.trigger ?? 'backfill');
      await runQueue.waitFor(
        pipeline.name,
        queued,
        (result) => {
          results.set(result.partition, result);
          progress.remaining--;
          if (result.status === 'succeeded') progress.done++;
          else progress.failed++;
          report(result.partition);
        },
        { signal: options.signal },
      );
    } else {
      try {
        // Slot 0 uses the orchestrator's own warehouse; the others open their own connection.
        slots.push(this.platform);
        if (canParallel && this.options.openWarehouse) {
          for (let i = 1; i < effective; i++) slots.push({ ...this.platform, warehouse: await this.options.openWarehouse() });
        }
        let next = 0;
        const days = { peek: () => todo[next], take: () => todo[next++] };
        const trigger = options.trigger ?? 'backfill';
        await Promise.all(
          slots.map(async (slot, i) => {
            let claimed: ClaimedPartition | undefined;
            // A day already taken by the previous run (its row may say `running`) is run even once stopped.
            while (claimed || (next < todo.length && !options.signal?.aborted && !this.stopping)) {
              const day = claimed?.partition ?? (days.take() as string);
              const chain = new BackfillChain(
                slot.warehouse,
                pipeline.name,
                trigger,
                days,
                this.lockTtlMs,
                () => options.signal?.aborted === true,
                // Found by a cancel before it starts; runPartition takes it over from there.
                (c) => {
                  if (c.runId !== null) this.active.set(c.runId, { controller: c.controller });
                },
                (runId) => this.active.delete(runId),
              );
              const result = await this.backfillOne(pipeline, day, trigger, i === 0 ? undefined : slot, claimed, chain);
              claimed = await chain.take();
              results.set(day, result);
              progress.remaining--;
              if (result.status === 'succeeded') progress.done++;
              else progress.failed++;
              report(day);
            }
          }),
        );
      } finally {
        await Promise.allSettled(slots.slice(1).map((s) => s.warehouse.close()));
      }
    }
    const ordered = days.map((d) => results.get(d)).filter((r): r is BackfillResult => r !== undefined);
    const count = (s: BackfillResult['status']) => ordered.filter((r) => r.status === s).length;
    return {
      pipeline: pipeline.name,
      from,
      to,
      partitions: days.length,
      skipped: count('skipped'),
      succeeded: count('succeeded'),
      failed: count('failed'),
      cancelled: count('cancelled'),
      busy: count('busy'),
      parallel,
      parallel_effective: effective,
      duration_ms: Date.now() - t0,
      interrupted: ordered.length < days.length,
      ...(runQueue ? { queued: true } : {}),
      results: ordered,
    };
  }

  private async backfillOne(
    pipeline: Pipeline,
    day: string,
    trigger: RunRequest['trigger'],
    platform: Platform | undefined,
    claimed: ClaimedPartition | undefined,
    next: NextRunStart,
  ): Promise<BackfillResult> {
    try {
      let attempt: number | null = null;
      const s = await this.runPartition(pipeline, day, trigger, { platform, claimed, next, onAttempt: (_id, n) => (attempt = n) });
      return { partition: day, status: s.status, run_id: s.run_id, attempt, error: s.error ?? null };
    } catch (err) {
      if (err instanceof PartitionBusyError) return { partition: day, status: 'busy', run_id: err.holder.run_id, attempt: null, error: err.message };
      return { partition: day, status: 'failed', run_id: null, attempt: null, error: (err as Error).message };
    }
  }

  /**
   * Partitions whose last run was left `running` by a process that died (the warehouse marked it failed
   * when opened) are run again, continuing the attempt count, while attempts remain.
   */
  async recoverInterrupted(): Promise<RunSummary[]> {
    if (this.options.runQueue) {
      // Workers run them: mark the orphans failed and queue their next attempts.
      await this.options.runQueue.reapOrphans(this.maxAttempts, this.lockTtlMs);
      return [];
    }
    await this.failOrphans();
    const rows = await this.platform.warehouse.query(
      `SELECT r.pipeline, r.partition, r.attempt FROM runs r
       WHERE r.status = 'failed' AND r.error LIKE 'the process running it %' AND r.partition LIKE '____-__-__'
         AND NOT EXISTS (SELECT 1 FROM runs n WHERE n.pipeline = r.pipeline AND n.partition = r.partition AND n.run_id > r.run_id)
       ORDER BY r.run_id`,
    );
    const out: RunSummary[] = [];
    for (const r of rows as { pipeline: string; partition: string; attempt: number }[]) {
      if (this.stopping) break;
      const p = this.pipelines.get(r.pipeline);
      if (!p || Number(r.attempt) >= this.maxAttempts) continue;
      try {
        out.push(await this.runPartition(p, r.partition, 'recovery', { firstAttempt: Number(r.attempt) + 1 }));
      } catch (err) {
        if (!(err instanceof PartitionBusyError) && !(err instanceof ProcessStoppingError)) throw err;
      }
    }
    return out;
  }

  /**
   * On PostgreSQL, a partition run of another machine that died stays `running` (the warehouse only judges
   * its own host's processes): one whose lock is gone or expired, started longer ago than a lock lasts,
   * has no live holder and is marked failed like the others. Queued: the statement must not land in a run's
   * transaction on the shared writer connection.
   */
  private async failOrphans(): Promise<void> {
    const { warehouse } = this.platform;
    if (warehouse.kind !== 'postgres') return;
    const now = Date.now();
    await this.queue.add(() =>
      warehouse.execute(
        `UPDATE runs SET status = 'failed', finished_at = $3::TIMESTAMP,
           error = 'the process running it (pid ' || coalesce(pid::VARCHAR, '?') || ' on ' || coalesce(host, '?') || ') stopped before it finished (its lock expired)'
         WHERE status = 'running' AND partition LIKE '____-__-__' AND started_at < $1::TIMESTAMP
           AND NOT EXISTS (SELECT 1 FROM run_locks l WHERE l.pipeline = runs.pipeline AND l.partition = runs.partition AND l.expires_at_ms > $2)`,
        [new Date(now - this.lockTtlMs).toISOString().replace('Z', ''), now, new Date(now).toISOString().replace('Z', '')],
      ),
    );
  }

  /** Waits for every run queued on the orchestrator's own warehouse. */
  async drain(): Promise<void> {
    await this.queue.onIdle();
  }
}
