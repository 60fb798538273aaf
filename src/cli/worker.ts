import { setTimeout as delay } from 'node:timers/promises';
import { Orchestrator, PartitionBusyError, ProcessStoppingError } from '../orchestrator/orchestrator.js';
import type { Pipeline, Platform } from '../pipelines/kit/pipeline.js';
import { RunQueue, type PartitionJob } from '../orchestrator/queue.js';
import { RunNotQueuedError } from '../orchestrator/runner.js';
import { startStreams } from '../orchestrator/streamSupervisor.js';
import { isPostgresUrl, openWarehouse } from '../warehouse/open.js';
import { CliError, openPlatform, readConfig } from './platform.js';
import { statusText } from './summary.js';

export interface WorkerOptions {
  /** Runs at a time (each on its own warehouse connection). */
  concurrency: number;
  /** Wait between two fetches of an empty queue. */
  pollMs?: number;
  /** How often to look for runs a dead worker left `running`. */
  reapMs?: number;
  /**
   * Stops the worker: no job is taken, and the runs in progress end at once (no further attempt; the
   * attempt in progress is aborted, recorded failed, and its next attempt queued for another worker).
   */
  signal?: AbortSignal;
  log?: (message: string) => void;
  /** Passed to the orchestrator (tests shorten the lock TTL). */
  lockTtlMs?: number;
}

// A stop ends the wait early and quietly: the loop reads the signal itself.
const sleep = (ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }).catch(() => {});

/**
 * Takes partition runs from the PostgreSQL queue until `signal` aborts: `concurrency` loops, each with its
 * own warehouse, fetch a job, run its partition through `Orchestrator.runPartition` (lock, claim of the
 * queued run, attempts, timeout, cancel polls) and fetch the next. Every `reapMs` it marks runs left
 * `running` by a dead worker failed and queues their next attempt (any worker may do it; one wins each).
 */
export async function runWorker(platform: Platform, pipelines: ReadonlyMap<string, Pipeline>, options: WorkerOptions): Promise<void> {
  const log = options.log ?? (() => {});
  const concurrency = Math.max(1, Math.trunc(options.concurrency));
  const queue = await RunQueue.open(platform.config.warehouse);
  const orchestrator = new Orchestrator(platform, pipelines, { lockTtlMs: options.lockTtlMs });
  const stopRuns = () => orchestrator.stop('the worker was asked to stop');
  if (options.signal?.aborted) stopRuns();
  options.signal?.addEventListener('abort', stopRuns, { once: true });
  const slots: Platform[] = [platform];
  const reaping = { busy: false };
  let reaper: NodeJS.Timeout | undefined;
  try {
    for (let i = 1; i < concurrency; i++) slots.push({ ...platform, warehouse: await openWarehouse(platform.config, { command: 'ecluse worker' }) });
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
    log(`worker pid ${process.pid}: ${concurrency} slot(s) on queue schema ${queue.schema}`);
    await Promise.all(
      slots.map(async (slot) => {
        while (!options.signal?.aborted) {
          let job;
          try {
            job = await queue.fetch();
          } catch (err) {
            log(`fetch: ${(err as Error).message}`);
          }
          if (!job) {
            await sleep(options.pollMs ?? 500, options.signal);
            continue;
          }
          await runJob(queue, orchestrator, slot, pipelines, job.id, job.data, log);
        }
      }),
    );
  } finally {
    options.signal?.removeEventListener('abort', stopRuns);
    if (reaper) clearInterval(reaper);
    await Promise.allSettled(slots.slice(1).map((s) => s.warehouse.close()));
    await queue.close();
  }
}

async function runJob(
  queue: RunQueue,
  orchestrator: Orchestrator,
  slot: Platform,
  pipelines: ReadonlyMap<string, Pipeline>,
  jobId: string,
  job: PartitionJob,
  log: (m: string) => void,
): Promise<void> {
  // Once the run is claimed, the runs table and its lock own its fate: the job is done.
  let completed = false;
  const complete = () => {
    if (!completed) queue.complete(jobId);
    completed = true;
  };
  try {
    const pipeline = pipelines.get(job.pipeline);
    if (!pipeline) {
      await queue.dropQueued(job.run_id, `no pipeline ${job.pipeline} on the worker that took it (pid ${process.pid})`, 'failed');
      return;
    }
    let attempt = job.attempt;
    const s = await orchestrator.runPartition(pipeline, job.partition, job.trigger, {
      platform: slot,
      queuedRunId: job.run_id,
      firstAttempt: job.attempt,
      onAttempt: (_id, n) => {
        attempt = n;
        complete();
      },
    });
    log(`run ${s.run_id} ${s.pipeline} [${s.partition}]: ${statusText(s)}${s.error ? ` (${s.error})` : ''}`);
    if (orchestrator.stopping && s.status === 'failed' && attempt < orchestrator.maxAttempts) {
      // Stopped, not broken: the next attempt goes to another worker (or this one's next start).
      const [next] = await queue.enqueue(s.pipeline, [s.partition], 'recovery', attempt + 1);
      log(`run ${s.run_id} ${s.pipeline} [${s.partition}] stopped with the worker: attempt ${attempt + 1} queued (run ${next?.run_id ?? '?'})`);
    }
  } catch (err) {
    if (err instanceof PartitionBusyError) await queue.dropQueued(job.run_id, err.message, 'cancelled');
    else if (err instanceof ProcessStoppingError) {
      // Stopped before it was claimed: handed back to the queue as it was.
      if (await queue.dropQueued(job.run_id, `${err.message}; queued again`, 'cancelled'))
        await queue.enqueue(job.pipeline, [job.partition], job.trigger, job.attempt);
    } else if (!(err instanceof RunNotQueuedError)) {
      log(`run ${job.run_id} ${job.pipeline} [${job.partition}]: ${(err as Error).message}`);
      await queue.dropQueued(job.run_id, (err as Error).message, 'failed');
    }
  } finally {
    complete();
  }
}

/** `ecluse worker`: takes partition runs from the PostgreSQL job queue until SIGINT or SIGTERM (docs/orchestration.md, _Workers on PostgreSQL_). */
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
