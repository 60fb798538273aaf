/**
 * One writer of the rewards tables at a time. A scheduled run, the notifier's refresh after activity changes
 * and an approval write the same tables, from different connections and maybe processes: on DuckDB two
 * writers conflict (one fails), and on any warehouse a refresh that read older activities must not commit
 * after one that read newer ones. The lock is a run lock of its own (`rewards` / `~tables`): a row of
 * `run_locks` on a server warehouse, shared by every process; in memory on the embedded one, whose file
 * one process opens.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { RunLock } from '../../warehouse/runLocks.js';
import type { Warehouse } from '../../warehouse/warehouse.js';

/** A holder renews its lock this often; one that stopped renewing (crashed elsewhere) is taken over after TTL_MS. */
const TTL_MS = 60_000;
const RENEW_MS = 20_000;
const POLL_MS = 100;

export async function withRewardsWriteLock<T>(warehouse: Warehouse, fn: () => Promise<T>, opts: { signal?: AbortSignal; log?: Logger } = {}): Promise<T> {
  const lock: RunLock = { pipeline: 'rewards', partition: '~tables', owner: randomUUID() };
  let told = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    const got = await warehouse.acquireRunLock(lock, TTL_MS);
    if (got.acquired) break;
    if (!told) opts.log?.info({ holder: got.holder }, 'the rewards tables are being written (a run, a refresh or an approval): waiting for it to finish');
    told = true;
    await sleep(POLL_MS, undefined, opts.signal ? { signal: opts.signal } : {});
  }
  // Geocoding a thousand addresses on a first refresh outlasts the TTL: the lock is renewed while it works.
  const renewal = setInterval(() => void warehouse.renewRunLock(lock, TTL_MS).catch(() => {}), RENEW_MS);
  renewal.unref();
  try {
    return await fn();
  } finally {
    clearInterval(renewal);
    await warehouse.releaseRunLock(lock);
  }
}
