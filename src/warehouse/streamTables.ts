import { hostname } from 'node:os';
import type { Warehouse } from './warehouse.js';

/**
 * The warehouse side of stream pipelines (tables in metadata.ts): committed positions, written in the
 * stream's own transaction with its data, and the status rows its supervisor keeps (state, restarts,
 * heartbeat, lag), read at scrape time by the metrics so streams of any process show.
 */

/** Raised inside a stream's transaction when another process has taken the stream over: it must not commit. */
export class StreamTakenOverError extends Error {
  override name = 'StreamTakenOverError';
}

/** The committed positions of a stream pipeline, by source key. */
export async function readStreamPositions(warehouse: Pick<Warehouse, 'query'>, pipeline: string): Promise<Map<string, string>> {
  const rows = await warehouse.query(`SELECT source, position FROM stream_positions WHERE pipeline = $1 ORDER BY source`, [pipeline]);
  return new Map(rows.map((r) => [String(r.source), String(r.position)]));
}

/**
 * Writes positions on the stream's connection, inside its open transaction, after checking that this
 * process still holds the stream (`owner`). On PostgreSQL the status row is read `FOR SHARE`: a process
 * taking the stream over rewrites its owner, and so waits for this transaction to end before it reads the
 * positions; if it came first, this transaction sees another owner and throws (its data rolls back). The
 * embedded warehouse has one process, whose supervisor never runs a stream twice: nothing to check.
 */
export async function writeStreamPositions(
  warehouse: Pick<Warehouse, 'execute' | 'kind'>,
  pipeline: string,
  owner: string,
  positions: ReadonlyMap<string, string>,
  now = new Date(),
): Promise<void> {
  if (warehouse.kind === 'postgres') {
    const held = await warehouse.execute(`SELECT 1 FROM stream_status WHERE pipeline = $1 AND owner = $2 FOR SHARE`, [pipeline, owner]);
    if (held !== 1) throw new StreamTakenOverError(`stream ${pipeline} was taken over by another process: this batch is not committed`);
  }
  const at = now.toISOString().replace('Z', '');
  for (const [source, position] of positions) {
    await warehouse.execute(
      `INSERT INTO stream_positions (pipeline, source, position, updated_at) VALUES ($1, $2, $3, CAST($4 AS TIMESTAMP))
       ON CONFLICT (pipeline, source) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at`,
      [pipeline, source, position, at],
    );
  }
}

export type StreamState = 'running' | 'restarting' | 'stopped';

/** Autocommitted writes of the supervisor (a warehouse connection no stream transaction uses). */
export type StatusWriter = Pick<Warehouse, 'execute'>;

/**
 * Marks the stream held by `owner` from now (its restart count kept): the row a stream transaction checks
 * before it commits. On PostgreSQL this waits for a transaction of the previous holder that read the row.
 */
export async function claimStream(db: StatusWriter, pipeline: string, owner: string, ttlMs: number, now = Date.now()): Promise<void> {
  await db.execute(
    `INSERT INTO stream_status (pipeline, owner, state, restarts, error, pid, host, started_at_ms, heartbeat_at_ms, expires_at_ms)
     VALUES ($1, $2, 'running', 0, NULL, $3, $4, $5, $5, $6)
     ON CONFLICT (pipeline) DO UPDATE SET owner = EXCLUDED.owner, state = EXCLUDED.state, error = NULL, pid = EXCLUDED.pid,
       host = EXCLUDED.host, started_at_ms = EXCLUDED.started_at_ms, heartbeat_at_ms = EXCLUDED.heartbeat_at_ms,
       expires_at_ms = EXCLUDED.expires_at_ms`,
    [pipeline, owner, process.pid, hostname(), now, now + ttlMs],
  );
}

/** The holder's heartbeat, with its state; false when the row is no longer its own. */
export async function beatStream(db: StatusWriter, pipeline: string, owner: string, state: StreamState, ttlMs: number, now = Date.now()): Promise<boolean> {
  const n = await db.execute(`UPDATE stream_status SET state = $3, heartbeat_at_ms = $4, expires_at_ms = $5 WHERE pipeline = $1 AND owner = $2`, [
    pipeline,
    owner,
    state,
    now,
    now + ttlMs,
  ]);
  return n === 1;
}

/** Counts a restart (the pipeline threw, or ended without being asked to) and says why. */
export async function countRestart(db: StatusWriter, pipeline: string, owner: string, error: string, now = Date.now()): Promise<void> {
  await db.execute(
    `UPDATE stream_status SET restarts = restarts + 1, state = 'restarting', error = $3, heartbeat_at_ms = $4 WHERE pipeline = $1 AND owner = $2`,
    [pipeline, owner, error, now],
  );
}

/** The holder stopped the stream on purpose (its process stops): up 0 at once, not after the row expires. */
export async function markStopped(db: StatusWriter, pipeline: string, owner: string, now = Date.now()): Promise<void> {
  await db.execute(`UPDATE stream_status SET state = 'stopped', heartbeat_at_ms = $3, expires_at_ms = $3 WHERE pipeline = $1 AND owner = $2`, [
    pipeline,
    owner,
    now,
  ]);
}

export interface StreamLag {
  messagesBehind: number;
  secondsBehind: number;
}

/** Stores the lag last reported for each source. */
export async function writeStreamLag(db: StatusWriter, pipeline: string, lag: ReadonlyMap<string, StreamLag>, now = Date.now()): Promise<void> {
  for (const [source, l] of lag) {
    await db.execute(
      `INSERT INTO stream_lag (pipeline, source, messages_behind, seconds_behind, reported_at_ms) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (pipeline, source) DO UPDATE SET messages_behind = EXCLUDED.messages_behind, seconds_behind = EXCLUDED.seconds_behind,
         reported_at_ms = EXCLUDED.reported_at_ms`,
      [pipeline, source, Math.round(l.messagesBehind), l.secondsBehind, now],
    );
  }
}

export interface StreamStatusRow {
  pipeline: string;
  owner: string;
  state: StreamState;
  restarts: number;
  error: string | null;
  pid: number | null;
  host: string | null;
  heartbeat_at_ms: number;
  expires_at_ms: number;
}

export async function readStreamStatus(warehouse: Pick<Warehouse, 'query'>): Promise<StreamStatusRow[]> {
  const rows = await warehouse.query(
    `SELECT pipeline, owner, state, restarts, error, pid, host, heartbeat_at_ms, expires_at_ms FROM stream_status ORDER BY pipeline`,
  );
  return rows.map((r) => ({
    pipeline: String(r.pipeline),
    owner: String(r.owner),
    state: String(r.state) as StreamState,
    restarts: Number(r.restarts),
    error: r.error === null || r.error === undefined ? null : String(r.error),
    pid: r.pid === null || r.pid === undefined ? null : Number(r.pid),
    host: r.host === null || r.host === undefined ? null : String(r.host),
    heartbeat_at_ms: Number(r.heartbeat_at_ms),
    expires_at_ms: Number(r.expires_at_ms),
  }));
}

export async function readStreamLag(warehouse: Pick<Warehouse, 'query'>): Promise<(StreamLag & { pipeline: string; source: string })[]> {
  const rows = await warehouse.query(`SELECT pipeline, source, messages_behind, seconds_behind FROM stream_lag ORDER BY pipeline, source`);
  return rows.map((r) => ({
    pipeline: String(r.pipeline),
    source: String(r.source),
    messagesBehind: Number(r.messages_behind),
    secondsBehind: Number(r.seconds_behind),
  }));
}
