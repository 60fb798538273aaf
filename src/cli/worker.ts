import { Orchestrator, PartitionBusyError } from '../orchestrator/orchestrator.js';
import type { Pipeline, Platform } from '../pipelines/kit/pipeline.js';
import { RunQueue, type QueuedRunRow } from '../orchestrator/queue.js';
import type { RunLock } from '../warehouse/runLocks.js';
import { startStreams } from '../orchestrator/streamSupervisor.js';
import { isPostgresUrl, openWarehouse } from '../warehouse/open.js';
import { CliError, openPlatform, readConfig } from './platform.js';
import { statusText } from './summary.js';

export interface WorkerOptions {
  /** Runs at a time (each on its own warehouse connection). */
  concurrency: number;
  /** Wait between two claims on an empty queue (a NOTIFY of newly queued runs ends it sooner). */
  pollMs?: number;
  /** How often to look for runs a dead worker left `running`. */
  reapMs?: number;
  /**
   * Stops the worker: no run is claimed, and the runs in progress end at once (no further attempt; the
   * attempt in progress is aborted, recorded failed, and its next attempt queued for another worker).
   */
  signal?: AbortSignal;
  log?: (message: string) => void;
  /** Passed to the orchestrator (tests shorten the lock TTL). */
  lockTtlMs?: number;
}

/**
 * Idle slots wait here for queued runs: `wake` (a NOTIFY) ends every wait at once, otherwise each ends after
 * its poll interval or at the stop.
 */
class Wakeup {
  private readonly waiting = new Set<() => void>();
  /** Wakes so far: a loop that was claiming when one came does not wait for the next. */
  wakes = 0;

  wake(): void {
    this.wakes++;
    for (const done of [...this.waiting]) done();
  }

  /** Resolves quietly on a stop too: the loop reads the signal itself. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.waiting.add(done);
    });
  }
}

/**
 * Takes partition runs queued in `runs` until `signal` aborts: `concurrency` loops, each with its own
 * warehouse, claim the oldest queued run (row, lock and `running` status in one transaction), run it
 * through `Orchestrator.runPartition` (attempts, backoff, timeout, cancel polls, lock renewals) and claim
 * the next; an empty queue is polled every `pollMs`, and a NOTIFY from `enqueue` wakes the idle loops at
 * once. Every `reapMs` it marks runs left `running` by a dead worker failed and queues their next attempt
 * (any worker may do it; one wins each).
 */
export async function runWorker(platform: Platform, pipelines: ReadonlyMap<string, Pipeline>, options: WorkerOptions): Promise<void> {
  const log = options.log ?? (() => {});
  const concurrency = Math.max(1, Math.trunc(options.concurrency));
  const queue = await RunQueue.open(platform.config.warehouse);
  const orchestrator = new Orchestrator(platform, pipelines, { lockTtlMs: options.lockTtlMs });
  const wakeup = new Wakeup();
  const stopRuns = () => {
    orchestrator.stop('the worker was asked to stop');
    wakeup.wake();
  };
  if (options.signal?.aborted) stopRuns();
  options.signal?.addEventListener('abort', stopRuns, { once: true });
  const slots: Platform[] = [platform];
  const reaping = { busy: false };
  let reaper: NodeJS.Timeout | undefined;
  let listener: { stop: () => Promise<void> } | undefined;
  try {
    for (let i = 1; i < concurrency; i++) slots.push({ ...platform, warehouse: await openWarehouse(platform.config, { command: 'ecluse worker' }) });
    listener = await queue
      .listen(
        () => wakeup.wake(),
        (err) => log(`listen: ${err.message}; claiming every ${options.pollMs ?? 500} ms`),
      )
      .catch((err: unknown) => {
        log(`listen: ${(err as Error).message}; claiming every ${options.pollMs ?? 500} ms`);
        return undefined;
      });
    const reap = async () => {
      if (reaping.busy) return;
      reaping.busy = true;
      try {
        for (const r of await queue.reapOrphans(orchestrator.maxAttempts, orchestrator.lockTtlMs)) {
          log(
            `run ${r.run_id} ${r.pipeline} [${r.partition}] was left running by a dead worker: failed` +
              (r.requeued ? `, attempt ${r.attempt + 1} queued (run ${r.requeued.run_id})` : ', no attempt left'),
          );
        }
      } catch (err) {
        log(`reaper: ${(err as Error).message}`);
      } finally {
        reaping.busy = false;
      }
    };
    await reap();
    reaper = setInterval(() => void reap(), options.reapMs ?? 5000);
    log(`worker pid ${process.pid}: ${concurrency} slot(s) on the runs queued in schema ${queue.schema}`);
    await Promise.all(
      slots.map(async (slot) => {
        while (!options.signal?.aborted) {
          const wakes = wakeup.wakes;
          let ran = false;
          try {
            ran = await claimAndRun(queue, orchestrator, slot, pipelines, options.signal, log);
          } catch (err) {
            log(`claim: ${(err as Error).message}`);
          }
          if (!ran && wakeup.wakes === wakes) await wakeup.wait(options.pollMs ?? 500, options.signal);
        }
      }),
    );
  } finally {
    options.signal?.removeEventListener('abort', stopRuns);
    if (reaper) clearInterval(reaper);
    await listener?.stop();
    await Promise.allSettled(slots.slice(1).map((s) => s.warehouse.close()));
    await queue.close();
  }
}

/** Claims one queued run and runs it; false when the queue had none for this worker. */
async function claimAndRun(
  queue: RunQueue,
  orchestrator: Orchestrator,
  slot: Platform,
  pipelines: ReadonlyMap<string, Pipeline>,
  signal: AbortSignal | undefined,
  log: (m: string) => void,
): Promise<boolean> {
  const claim = await queue.claim({ lockTtlMs: orchestrator.lockTtlMs, runs: (name) => pipelines.has(name) });
  if (claim === null) return false;
  const { run } = claim;
  if (claim.kind === 'unknown') {
    await queue.endRun(run.run_id, `no pipeline ${run.pipeline} on the worker that took it (pid ${process.pid})`, 'failed');
    return true;
  }
  if (claim.kind === 'busy') {
    // Two runs of one partition queued at once: the one that finds the other running ends, naming it.
    await queue.endRun(run.run_id, new PartitionBusyError(run.pipeline, run.partition, claim.holder).message, 'cancelled');
    return true;
  }
  if (signal?.aborted) {
    // Stopping before it started: handed back as it was, for another worker.
    await queue.unclaim(run, claim.lock);
    return true;
  }
  await runClaimed(queue, orchestrator, slot, pipelines.get(run.pipeline) as Pipeline, run, claim.lock, log);
  return true;
}

async function runClaimed(
  queue: RunQueue,
  orchestrator: Orchestrator,
  slot: Platform,
  pipeline: Pipeline,
  run: QueuedRunRow,
  lock: RunLock,
  log: (m: string) => void,
): Promise<void> {
  let attempt = run.attempt;
  try {
    // The claim holds the lock and recorded the run `running`: the same hand-over as a backfill's next run.
    const s = await orchestrator.runPartition(pipeline, run.partition, run.trigger, {
      platform: slot,
      claimed: { partition: run.partition, lock, runId: run.run_id, controller: new AbortController() },
      firstAttempt: run.attempt,
      onAttempt: (_id, n) => {
        attempt = n;
      },
    });
    log(`run ${s.run_id} ${s.pipeline} [${s.partition}]: ${statusText(s)}${s.error ? ` (${s.error})` : ''}`);
    if (orchestrator.stopping && s.status === 'failed' && attempt < orchestrator.maxAttempts) {
      // Stopped, not broken: the next attempt goes to another worker (or this one's next start).
      const [next] = await queue.enqueue(s.pipeline, [s.partition], 'recovery', attempt + 1);
      log(`run ${s.run_id} ${s.pipeline} [${s.partition}] stopped with the worker: attempt ${attempt + 1} queued (run ${next?.run_id ?? '?'})`);
    }
  } catch (err) {
    // The run could not record its own end (the warehouse failed under it): ended here if still ours to end;
    // otherwise the reaper finds it with its lock released.
    log(`run ${run.run_id} ${run.pipeline} [${run.partition}]: ${(err as Error).message}`);
    await queue.endRun(run.run_id, (err as Error).message, 'failed', 'running').catch(() => {});
  }
}

/** `ecluse worker`: takes partition runs queued in PostgreSQL until SIGINT or SIGTERM (docs/orchestration.md, _Workers on PostgreSQL_). */
export async function workerCommand(opts: { concurrency: number }): Promise<void> {
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new CliError(`--concurrency ${opts.concurrency}: expected a positive integer`, 2);
  const config = readConfig();
  if (!isPostgresUrl(config.warehouse))
    throw new CliError('ecluse worker needs a PostgreSQL warehouse (ECLUSE_WAREHOUSE=postgres://…): the embedded one runs its pipelines in `ecluse up`', 2);
  const { PIPELINES } = await import('../pipelines/index.js');
  const platform = await openPlatform('worker', config);
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    console.error('ecluse worker: stopping; runs in progress end now and their next attempt is queued (again to quit now)');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const streams = await startStreams(platform);
  try {
    await runWorker(platform, PIPELINES, { concurrency: opts.concurrency, signal: stop.signal, log: (m) => console.log(`${new Date().toISOString()} ${m}`) });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await streams.stop();
    await platform.warehouse.close();
  }
}
