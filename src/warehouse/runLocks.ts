import { hostname } from 'node:os';
import type { Row } from '../engine/duckdb.js';
import { processAlive } from '../engine/processes.js';

/**
 * One active run per (pipeline, partition), across processes and machines, on any warehouse: a `run_locks`
 * row per held lock. Its holder pushes `expires_at_ms` forward while it works (a heartbeat); a holder that
 * crashed stops doing so, and its lock can be taken over once expired, or at once when the holder is a
 * process of this host that no longer exists. Taking over is a compare-and-swap on the owner, so two
 * contenders cannot both win.
 */

/** Whom a lock is for: `owner` is unique per execution of a partition (it holds across retries). */
export interface RunLock {
  pipeline: string;
  partition: string;
  owner: string;
}

export interface LockHolder {
  owner: string;
  run_id: number | null;
  pid: number | null;
  host: string | null;
  expires_at_ms: number;
}

export type LockResult = { acquired: true; tookOverFrom: LockHolder | null } | { acquired: false; holder: LockHolder };

/** Autocommitted statements outside any run's transaction (`$1` parameters): what each warehouse lends. */
export interface MetaSql {
  exec(sql: string, params: readonly (string | number | null)[]): Promise<number>;
  rows(sql: string, params: readonly (string | number | null)[]): Promise<Row[]>;
}

/** Whether a holder can no longer be working: its lock expired, or its process (on this host) is gone. */
export function holderIsDead(h: LockHolder, now: number, host = hostname()): boolean {
  if (h.expires_at_ms <= now) return true;
  return h.host === host && (h.pid === null || !processAlive(h.pid));
}

/** The lock row of a partition, if any, with its numbers as numbers (drivers hand BIGINT back as text). */
export async function readRunLock(db: MetaSql, pipeline: string, partition: string): Promise<LockHolder | null> {
  const [row] = await db.rows(`SELECT owner, run_id, pid, host, expires_at_ms FROM run_locks WHERE pipeline = $1 AND partition = $2`, [pipeline, partition]);
  if (!row) return null;
  return {
    owner: String(row.owner),
    run_id: row.run_id === null || row.run_id === undefined ? null : Number(row.run_id),
    pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
    host: row.host === null || row.host === undefined ? null : String(row.host),
    expires_at_ms: Number(row.expires_at_ms),
  };
}

export async function acquireRunLock(db: MetaSql, lock: RunLock, ttlMs: number, now = Date.now()): Promise<LockResult> {
  const host = hostname();
  const inserted = await db.exec(
    `INSERT INTO run_locks (pipeline, partition, owner, run_id, pid, host, acquired_at_ms, expires_at_ms)
     VALUES ($1, $2, $3, NULL, $4, $5, $6, $7) ON CONFLICT (pipeline, partition) DO NOTHING`,
    [lock.pipeline, lock.partition, lock.owner, process.pid, host, now, now + ttlMs],
  );
  if (inserted === 1) return { acquired: true, tookOverFrom: null };
  const current = await readRunLock(db, lock.pipeline, lock.partition);
  // Released between our insert and our read: try once more from the start.
  if (!current) return acquireRunLock(db, lock, ttlMs, now);
  if (current.owner === lock.owner) return { acquired: true, tookOverFrom: null };
  if (!holderIsDead(current, now, host)) return { acquired: false, holder: current };
  const taken = await db.exec(
    `UPDATE run_locks SET owner = $3, run_id = NULL, pid = $4, host = $5, acquired_at_ms = $6, expires_at_ms = $7
     WHERE pipeline = $1 AND partition = $2 AND owner = $8`,
    [lock.pipeline, lock.partition, lock.owner, process.pid, host, now, now + ttlMs, current.owner],
  );
  if (taken === 1) return { acquired: true, tookOverFrom: current };
  // Someone else took it over first.
  return acquireRunLock(db, lock, ttlMs, now);
}

/** Pushes the expiry forward (and records the attempt's run); false when the lock is no longer ours. */
export async function renewRunLock(db: MetaSql, lock: RunLock, ttlMs: number, runId: number | null = null, now = Date.now()): Promise<boolean> {
  const n = await db.exec(
    `UPDATE run_locks SET expires_at_ms = $4, run_id = coalesce($5::BIGINT, run_id) WHERE pipeline = $1 AND partition = $2 AND owner = $3`,
    [lock.pipeline, lock.partition, lock.owner, now + ttlMs, runId],
  );
  return n === 1;
}

export async function releaseRunLock(db: MetaSql, lock: RunLock): Promise<void> {
  await db.exec(`DELETE FROM run_locks WHERE pipeline = $1 AND partition = $2 AND owner = $3`, [lock.pipeline, lock.partition, lock.owner]);
}

/**
 * The same locks held in memory, for the embedded warehouse: DuckDB lets one process open the file, so
 * every run of it runs in this process, and a crash takes the locks with it. A table row would cost two
 * writes to the file per run for nothing.
 */
export class MemoryRunLocks {
  private readonly held = new Map<string, LockHolder>();

  private static key(lock: RunLock): string {
    return `${lock.pipeline}\u0000${lock.partition}`;
  }

  acquire(lock: RunLock, ttlMs: number, now = Date.now()): LockResult {
    const key = MemoryRunLocks.key(lock);
    const current = this.held.get(key);
    if (current && current.owner !== lock.owner && current.expires_at_ms > now) return { acquired: false, holder: { ...current } };
    this.held.set(key, { owner: lock.owner, run_id: null, pid: process.pid, host: hostname(), expires_at_ms: now + ttlMs });
    return { acquired: true, tookOverFrom: current && current.owner !== lock.owner ? current : null };
  }

  renew(lock: RunLock, ttlMs: number, runId: number | null = null, now = Date.now()): boolean {
    const current = this.held.get(MemoryRunLocks.key(lock));
    if (!current || current.owner !== lock.owner) return false;
    current.expires_at_ms = now + ttlMs;
    if (runId !== null) current.run_id = runId;
    return true;
  }

  release(lock: RunLock): void {
    const key = MemoryRunLocks.key(lock);
    if (this.held.get(key)?.owner === lock.owner) this.held.delete(key);
  }
}
