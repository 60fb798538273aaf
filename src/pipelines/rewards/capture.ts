/**
 * The `rewards-capture` stream: every change to the company's `activities`, published on the broker's
 * `sport.activities` as a Debezium-like event. From PostgreSQL by logical replication (a slot acknowledged
 * only once the broker stored the events); from the embedded company database by tailing the change log
 * `insertActivities` writes in the same transaction as the rows (`activity_changes`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { ChangeReader, type ChangeEvent } from '../../cdc/reader.js';
import { brokerSink } from '../../cdc/sink.js';
import { SlotLostError, slotStatus } from '../../cdc/slot.js';
import { slotLagSource } from '../../observability/streamMetrics.js';
import type { Json } from '../../stream/broker.js';
import type { Config } from '../../config/config.js';
import type { StreamContext, StreamPipeline } from '../kit/streamPipeline.js';
import { acquireRewardsBroker, SPORT_ACTIVITIES_TOPIC, type RewardsBrokerLease } from './broker.js';
import { openCompanyDb } from './companyDb.js';
import { rewardsConfig } from './settings.js';

/** The position of the embedded capture: the last `activity_changes.seq` published. */
export const ACTIVITY_CHANGES_SOURCE = 'activity_changes';

export interface RewardsCaptureOptions {
  /** The topic published to; `sport.activities` (tests give one of their own on a shared NATS). */
  topic?: string;
  /**
   * The replication slot, and the publication, in the company database: `ecluse_rewards`. Slot names are
   * unique per PostgreSQL server, so two ecluse installations whose company databases share one need two.
   */
  slot?: string;
  publication?: string;
  /** The embedded capture's pause between looks at the change log when it found nothing new; 200 ms. */
  pollMs?: number;
  /** Most changes of the log published per batch (one position commit); 1,000. */
  batchSize?: number;
  /**
   * How long a hole in the log's sequence is waited for before it is stepped over; 30 s. A number is taken
   * when the row is written and the row is seen at commit, so a later number can show first while a
   * transaction holding an earlier one is still open; a hole that stays is a transaction rolled back.
   */
  gapWaitMs?: number;
  /** How often the lag is measured and reported; 5 s. */
  lagIntervalMs?: number;
  /** Without a company database, how often to look whether the embedded one has been created; 10 s. */
  idleCheckMs?: number;
  /** The broker, by default the process's rewards broker (shared with the notifier). */
  acquireBroker?: (config: Config) => Promise<RewardsBrokerLease>;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
const pause = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => {});

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Rejects when `signal` aborts; never resolves. `dispose` removes its listener: a stream crashing again and
 * again keeps one signal across its starts, and must not pile listeners on it.
 */
function aborted(signal: AbortSignal): { promise: Promise<void>; dispose: () => void } {
  let listener = () => {};
  const promise = new Promise<void>((_, reject) => {
    listener = () => reject(signal.reason);
    if (signal.aborted) listener();
    else signal.addEventListener('abort', listener, { once: true });
  });
  return { promise, dispose: () => signal.removeEventListener('abort', listener) };
}

/**
 * `max_slot_wal_keep_size` of the server: -1 (the default) lets a slot whose reader is gone keep WAL
 * without bound, until the disk is full and the whole server stops; a limit instead sacrifices the slot
 * (it is invalidated: SlotLostError) and keeps the server. Warned about, not changed: it is the DBA's call.
 */
async function checkWalRetention(url: string, ctx: StreamContext, slot: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const keep = (await client.query<{ max_slot_wal_keep_size: string }>('SHOW max_slot_wal_keep_size')).rows[0]?.max_slot_wal_keep_size;
    if (keep === '-1') {
      ctx.log.warn(
        { slot, max_slot_wal_keep_size: keep },
        `max_slot_wal_keep_size is -1 (unbounded): if the rewards capture stops for long, replication slot "${slot}" keeps every WAL segment written since, without bound, until the server's disk is full. Set a limit, e.g. ALTER SYSTEM SET max_slot_wal_keep_size = '1GB'; SELECT pg_reload_conf(); (past it the slot is lost and the capture stops saying how to recover)`,
      );
    } else {
      ctx.log.info({ slot, max_slot_wal_keep_size: keep }, `replication slot "${slot}" may fall ${keep} behind before PostgreSQL drops the WAL it needs`);
    }
  } finally {
    await client.end();
  }
}

async function capturePostgres(
  ctx: StreamContext,
  url: string,
  broker: RewardsBrokerLease['broker'],
  o: Required<Omit<RewardsCaptureOptions, 'acquireBroker'>>,
) {
  // The tables are the company database's own (migrations): created here too, as the capture may start
  // before anything was imported, and the slot needs `activities` to exist.
  const company = await openCompanyDb(url, ctx.warehouse);
  await company.close();
  await checkWalRetention(url, ctx, o.slot);
  // A lost slot (SlotLostError, from the start or from a status) fails the stream, and every restart fails
  // the same way: the changes between the slot's position and the WAL kept are gone, and nothing here can
  // get them back. The operator drops the slot (SELECT pg_drop_replication_slot('ecluse_rewards')) — the
  // next start creates it at the current position — and runs `ecluse run rewards` to resync the warehouse
  // copy from the tables; activities of the lost window get no Slack message.
  const reader = await ChangeReader.start({
    url,
    publication: o.publication,
    slot: o.slot,
    tables: ['activities'],
    sink: brokerSink(broker, () => o.topic),
  });
  ctx.log.info({ slot: o.slot, topic: o.topic }, `capturing changes of activities from ${company.location} onto ${o.topic}`);
  // The lag is read on a pool of the capture's own rather than through reader.status(): an idle connection
  // killed by a server restart is an 'error' event on its pool, which must have a listener (the reader's has none).
  const lagPool = new pg.Pool({ connectionString: url, max: 1 });
  lagPool.on('error', () => {});
  // Ends the lag loop when the capture ends, on the signal or on the reader's failure.
  const ended = new AbortController();
  const loopSignal = AbortSignal.any([ctx.signal, ended.signal]);
  const lagLoop = (async () => {
    while (!loopSignal.aborted) {
      try {
        const status = await slotStatus(lagPool, o.slot);
        if (status.walStatus === 'lost') throw new SlotLostError(o.slot);
        ctx.reportLag(slotLagSource(o.slot), status.lagBytes, 0);
      } catch (err) {
        if (err instanceof SlotLostError) throw err;
        // The server restarting: the reader fails on its own, and the stream restarts.
        ctx.log.debug({ err }, `slot lag not measured: ${messageOf(err)}`);
      }
      await pause(o.lagIntervalMs, loopSignal);
    }
  })();
  const stop = aborted(ctx.signal);
  try {
    await Promise.race([reader.done.then(() => Promise.reject(new Error('the change reader stopped'))), lagLoop, stop.promise]);
  } catch (err) {
    if (!ctx.signal.aborted) throw err;
  } finally {
    stop.dispose();
    ended.abort();
    await reader.stop().catch((err: unknown) => ctx.log.warn({ err }, `stopping the change reader: ${messageOf(err)}`));
    await lagLoop.catch(() => {});
    await lagPool.end().catch(() => {});
  }
}

/** Whether the embedded company tables exist in the warehouse (rewards in use without a company database). */
async function changeLogExists(ctx: StreamContext): Promise<boolean> {
  const rows = await ctx.warehouse.query(
    `SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'activity_changes' AND table_schema = current_schema()`,
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

/**
 * Waits while rewards is not in use here (no company database configured, no embedded tables), creating
 * nothing in the warehouse, and resolves once an import or a declared activity has created the tables: true,
 * or false when the stream was stopped first.
 */
export async function untilRewardsInUse(ctx: StreamContext, database: string | undefined, checkMs: number): Promise<boolean> {
  let said = false;
  while (!database && !ctx.signal.aborted && !(await changeLogExists(ctx))) {
    if (!said) ctx.log.debug('no company database and no activity_changes table: rewards is not in use, the stream waits');
    said = true;
    await pause(checkMs, ctx.signal);
  }
  return !ctx.signal.aborted;
}

function jsonColumn(value: unknown): Record<string, Json> | null {
  if (value === null || value === undefined) return null;
  return (typeof value === 'string' ? JSON.parse(value) : value) as Record<string, Json>;
}

/** A row of `activity_changes` as the event logical replication would have given. */
function changeEvent(row: Record<string, unknown>): ChangeEvent {
  const seq = String(row.seq);
  return {
    id: `changes:${seq}`,
    op: String(row.op) as ChangeEvent['op'],
    before: jsonColumn(row.before),
    after: jsonColumn(row.after),
    source: { lsn: seq, schema: 'embedded', table: 'activities' },
    ts_ms: Number(row.ts_ms),
  };
}

async function captureEmbedded(ctx: StreamContext, broker: RewardsBrokerLease['broker'], o: Required<Omit<RewardsCaptureOptions, 'acquireBroker'>>) {
  const sink = brokerSink(broker, () => o.topic);
  const committed = (await ctx.positions.read()).get(ACTIVITY_CHANGES_SOURCE);
  let position = committed === undefined ? 0 : Number(committed);
  ctx.log.info({ topic: o.topic, position }, `publishing the embedded company database's activity changes onto ${o.topic}`);
  /** The first missing seq waited for, and since when. */
  let gap: { seq: number; since: number } | null = null;
  let lagAt = 0;
  while (!ctx.signal.aborted) {
    if (Date.now() - lagAt >= o.lagIntervalMs) {
      lagAt = Date.now();
      const [lag] = await ctx.warehouse.query(`SELECT count(*) AS n, min(ts_ms) AS oldest FROM activity_changes WHERE seq > $1`, [position]);
      const behind = Number(lag?.n ?? 0);
      ctx.reportLag(ACTIVITY_CHANGES_SOURCE, behind, behind > 0 && lag?.oldest != null ? Math.max(0, (Date.now() - Number(lag.oldest)) / 1000) : 0);
    }
    const rows = await ctx.warehouse.query(`SELECT seq, op, before, after, ts_ms FROM activity_changes WHERE seq > $1 ORDER BY seq LIMIT ${o.batchSize}`, [
      position,
    ]);
    const batch: ChangeEvent[] = [];
    let next = position;
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== next + 1) {
        if (gap?.seq !== next + 1) gap = { seq: next + 1, since: Date.now() };
        if (Date.now() - gap.since < o.gapWaitMs) break;
        ctx.log.warn({ from: next + 1, to: seq - 1 }, `activity_changes ${next + 1}…${seq - 1} never committed (rolled back): stepped over`);
      }
      gap = null;
      batch.push(changeEvent(row));
      next = seq;
    }
    if (batch.length === 0) {
      await pause(o.pollMs, ctx.signal);
      continue;
    }
    // Published, then the position committed: a crash in between publishes the batch again under the same
    // ids, which the broker drops as duplicates (within its window: 2 minutes by default).
    await sink(batch);
    await ctx.transaction(() => ctx.positions.save({ [ACTIVITY_CHANGES_SOURCE]: String(next) }));
    position = next;
  }
}

/** The capture stream, with settings for tests and benchmarks; `rewardsCapture` is the one ecluse runs. */
export function rewardsCaptureStream(options: RewardsCaptureOptions = {}): StreamPipeline {
  const o = {
    topic: options.topic ?? SPORT_ACTIVITIES_TOPIC,
    slot: options.slot ?? 'ecluse_rewards',
    publication: options.publication ?? options.slot ?? 'ecluse_rewards',
    pollMs: options.pollMs ?? 200,
    batchSize: options.batchSize ?? 1000,
    gapWaitMs: options.gapWaitMs ?? 30_000,
    lagIntervalMs: options.lagIntervalMs ?? 5000,
    idleCheckMs: options.idleCheckMs ?? 10_000,
  };
  const acquire = options.acquireBroker ?? acquireRewardsBroker;
  return {
    name: 'rewards-capture',
    description: `changes to the company's activities (PostgreSQL logical replication, or the embedded change log) onto broker topic ${o.topic}`,
    async start(ctx) {
      const { database } = rewardsConfig.settings(ctx.config);
      if (!(await untilRewardsInUse(ctx, database, o.idleCheckMs))) return;
      const lease = await acquire(ctx.config);
      try {
        if (database) await capturePostgres(ctx, database, lease.broker, o);
        else await captureEmbedded(ctx, lease.broker, o);
      } finally {
        await lease.release();
      }
    },
  };
}

export const rewardsCapture: StreamPipeline = rewardsCaptureStream();
