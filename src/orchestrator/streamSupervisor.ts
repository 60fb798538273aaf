import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { openConnection } from '../warehouse/open.js';
import { memoryStreamLocks, postgresStreamLocks, type StreamLease, type StreamLocks } from '../warehouse/streamLocks.js';
import {
  beatStream,
  claimStream,
  countRestart,
  markStopped,
  readStreamPositions,
  writeStreamLag,
  writeStreamPositions,
  type StreamLag,
  type StreamState,
} from '../warehouse/streamTables.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { Platform } from '../pipelines/kit/pipeline.js';
import type { StreamContext, StreamPipeline } from '../pipelines/kit/streamPipeline.js';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Settings, each from an environment variable when the option is not given (defaults in brackets):
 * `ECLUSE_STREAM_BACKOFF_MS` [1000] first wait before a crashed stream starts again, doubled per crash in a
 * row up to `ECLUSE_STREAM_MAX_BACKOFF_MS` [60000]; `ECLUSE_STREAM_HEARTBEAT_MS` [5000] how often the
 * holder stores its state and lags (its status row holds three heartbeats); `ECLUSE_STREAM_LOCK_POLL_MS`
 * [2000] how often a process waiting for a stream another one holds tries to take it; `ECLUSE_STREAM_STOP_MS`
 * [10000] how long `stop()` waits for the streams to end.
 */
export interface StreamSupervisorOptions {
  logger?: Logger;
  backoffMs?: number;
  maxBackoffMs?: number;
  heartbeatMs?: number;
  lockPollMs?: number;
  stopTimeoutMs?: number;
  /** A warehouse connection of its own, for a stream or for the supervisor's status writes. */
  openWarehouse?: () => Promise<Warehouse>;
  /** Where the one-process-per-stream locks are held. */
  openLocks?: () => Promise<StreamLocks>;
}

function envMs(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw}: expected a number of milliseconds`);
  return n;
}

/** A second connection to the platform's warehouse: a stream's transactions must not share a run's. */
function warehouseConnections(platform: Platform): () => Promise<Warehouse> {
  return () => openConnection(platform.warehouse, platform.config, 'ecluse stream');
}

/** PostgreSQL advisory locks shared by every process of the warehouse; in memory on the embedded one. */
function streamLocksFor(platform: Platform): () => Promise<StreamLocks> {
  const w = platform.warehouse;
  return w.kind === 'postgres' ? () => postgresStreamLocks(platform.config.warehouse) : async () => memoryStreamLocks(w);
}

/** A stream this process holds. */
interface Held {
  owner: string;
  lease: StreamLease;
  state: StreamState;
  lag: Map<string, StreamLag>;
  lagDirty: boolean;
  /** Aborts the running instance when its row is no longer ours. */
  takenOver: AbortController;
}

export interface StopOutcome {
  /** Streams still running when `stop()` gave up waiting for them. */
  abandoned: string[];
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => {});
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Starts each stream pipeline given, keeps it running and stops it: one process per stream across the
 * processes sharing a warehouse (a lock; the others wait and take over when the holder dies or stops), a
 * crash restarted after a capped exponential backoff (logged, counted in `stream_status`), a heartbeat that
 * stores the holder's state and the lags reported, and `stop()` to end them all within a deadline.
 */
export class StreamSupervisor {
  private readonly controller = new AbortController();
  private readonly logger: Logger;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly heartbeatMs: number;
  readonly lockPollMs: number;
  readonly stopTimeoutMs: number;
  private readonly openWarehouse: () => Promise<Warehouse>;
  private readonly openLocks: () => Promise<StreamLocks>;
  private locks: Promise<StreamLocks> | null = null;
  private statusDb: Promise<Warehouse> | null = null;
  /** Status writes one after the other on their connection. */
  private statusChain: Promise<unknown> = Promise.resolve();
  private readonly held = new Map<string, Held>();
  private readonly loops = new Map<string, Promise<void>>();
  private heartbeat: NodeJS.Timeout | undefined;
  private beating = false;
  /** Restarts made by this supervisor, by stream (the cumulative count across processes is in stream_status). */
  readonly restarts = new Map<string, number>();

  constructor(
    private readonly platform: Platform,
    readonly pipelines: readonly StreamPipeline[],
    options: StreamSupervisorOptions = {},
  ) {
    this.logger = options.logger ?? pino({ level: process.env.LOG_LEVEL ?? 'info' });
    this.backoffMs = options.backoffMs ?? envMs('ECLUSE_STREAM_BACKOFF_MS', 1000);
    this.maxBackoffMs = options.maxBackoffMs ?? envMs('ECLUSE_STREAM_MAX_BACKOFF_MS', 60_000);
    this.heartbeatMs = options.heartbeatMs ?? envMs('ECLUSE_STREAM_HEARTBEAT_MS', 5000);
    this.lockPollMs = options.lockPollMs ?? envMs('ECLUSE_STREAM_LOCK_POLL_MS', 2000);
    this.stopTimeoutMs = options.stopTimeoutMs ?? envMs('ECLUSE_STREAM_STOP_MS', 10_000);
    const names = new Set<string>();
    for (const p of pipelines) {
      if (names.has(p.name)) throw new Error(`two stream pipelines are named ${p.name}`);
      names.add(p.name);
    }
    this.openWarehouse = options.openWarehouse ?? (pipelines.length ? warehouseConnections(platform) : async () => platform.warehouse);
    this.openLocks = options.openLocks ?? streamLocksFor(platform);
  }

  /** Wait before the start after `failures` crashes in a row: base × 2^(failures-1), at most the cap. */
  backoff(failures: number): number {
    return Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.max(0, failures - 1));
  }

  /** Starts supervising every stream (nothing is opened when there is none). */
  start(): void {
    if (this.controller.signal.aborted) throw new Error('the stream supervisor was stopped');
    if (this.pipelines.length === 0 || this.loops.size > 0) return;
    for (const p of this.pipelines) {
      const loop = this.supervise(p).catch((err: unknown) =>
        this.logger.error({ err, stream: p.name }, `stream ${p.name}: supervision ended: ${messageOf(err)}`),
      );
      this.loops.set(
        p.name,
        loop.finally(() => this.loops.delete(p.name)),
      );
    }
    this.heartbeat = setInterval(() => void this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Streams this process holds now, whatever their state. */
  holding(): string[] {
    return [...this.held.keys()];
  }

  /**
   * Aborts every stream and waits for them to end, at most `timeoutMs`; past it, says which it gave up on
   * (their locks are let go all the same: the process is ending). Closes what the supervisor opened.
   */
  async stop(timeoutMs = this.stopTimeoutMs): Promise<StopOutcome> {
    this.controller.abort(new Error('the stream supervisor was asked to stop'));
    clearInterval(this.heartbeat);
    const waiting = [...this.loops.entries()];
    let abandoned: string[] = [];
    if (waiting.length) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(waiting.map(([, l]) => l)), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      abandoned = waiting.map(([name]) => name).filter((name) => this.loops.has(name));
      if (abandoned.length) {
        this.logger.warn(
          { streams: abandoned },
          `gave up waiting for stream(s) ${abandoned.join(', ')} after ${timeoutMs} ms: left running as the process ends`,
        );
        await Promise.allSettled(abandoned.map((name) => this.held.get(name)?.lease.release()));
      }
    }
    await this.statusChain.catch(() => {});
    const [locks, status] = await Promise.allSettled([this.locks, this.statusDb]);
    if (locks.status === 'fulfilled' && locks.value) await locks.value.close().catch(() => {});
    if (status.status === 'fulfilled' && status.value && status.value !== this.platform.warehouse) await status.value.close().catch(() => {});
    return { abandoned };
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** A status write on the supervisor's connection, after the ones before it; errors are logged, not thrown. */
  private status(what: string, write: (db: Warehouse) => Promise<unknown>): Promise<void> {
    this.statusDb ??= this.openWarehouse();
    const db = this.statusDb;
    const next = this.statusChain.then(async () => write(await db));
    this.statusChain = next.catch(() => {});
    return next.then(
      () => {},
      (err: unknown) => this.logger.warn({ err }, `stream status (${what}): ${messageOf(err)}`),
    );
  }

  private get ttlMs(): number {
    return 3 * this.heartbeatMs;
  }

  /** Stores each held stream's state and new lags; checks its lock and that its row is still its own. */
  private async beat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      for (const [name, h] of this.held) {
        await h.lease.check();
        const lag = h.lagDirty ? new Map(h.lag) : null;
        h.lagDirty = false;
        await this.status('heartbeat', async (db) => {
          if (!(await beatStream(db, name, h.owner, h.state, this.ttlMs)) && !h.takenOver.signal.aborted) {
            h.takenOver.abort(new Error(`stream ${name} is held by another process now`));
          }
          if (lag) await writeStreamLag(db, name, lag);
        });
      }
    } finally {
      this.beating = false;
    }
  }

  /** Waits for the stream's lock, holds it while it runs, and waits again if it loses it. */
  private async supervise(p: StreamPipeline): Promise<void> {
    const log = this.logger.child({ stream: p.name });
    let saidWaiting = false;
    while (!this.signal.aborted) {
      let lease: StreamLease | null = null;
      try {
        this.locks ??= this.openLocks();
        lease = await (await this.locks).tryAcquire(p.name);
      } catch (err) {
        log.warn({ err }, `stream ${p.name}: cannot try its lock: ${messageOf(err)}`);
      }
      if (!lease) {
        if (!saidWaiting) log.info(`stream ${p.name} is held by another process: waiting to take over`);
        saidWaiting = true;
        await pause(this.lockPollMs, this.signal);
        continue;
      }
      saidWaiting = false;
      try {
        await this.hold(p, lease, log);
      } catch (err) {
        log.error({ err }, `stream ${p.name}: ${messageOf(err)}`);
        await pause(this.backoff(1), this.signal);
      } finally {
        await lease.release();
      }
    }
  }

  /** Runs the stream while this process holds it, starting it again after each crash. */
  private async hold(p: StreamPipeline, lease: StreamLease, log: Logger): Promise<void> {
    const owner = randomUUID();
    const warehouse = await this.openWarehouse();
    const h: Held = { owner, lease, state: 'running', lag: new Map(), lagDirty: false, takenOver: new AbortController() };
    const signal = AbortSignal.any([this.signal, lease.lost, h.takenOver.signal]);
    try {
      // Before the first start: the stream's positions are read after a previous holder's last commit.
      this.statusDb ??= this.openWarehouse();
      await claimStream(await this.statusDb, p.name, owner, this.ttlMs);
      this.held.set(p.name, h);
      log.info(`stream ${p.name} started (pid ${process.pid})`);
      let failures = 0;
      while (!signal.aborted) {
        const began = Date.now();
        let failure: unknown = null;
        try {
          await p.start(this.context(p, warehouse, owner, signal, log, h));
          if (!signal.aborted) failure = new Error('it returned before it was asked to stop');
        } catch (err) {
          if (!signal.aborted) failure = err;
        }
        if (failure === null) break;
        // A stream that ran a while before crashing starts its backoff over.
        failures = Date.now() - began >= this.maxBackoffMs ? 1 : failures + 1;
        const wait = this.backoff(failures);
        this.restarts.set(p.name, (this.restarts.get(p.name) ?? 0) + 1);
        h.state = 'restarting';
        log.error(
          { err: failure, failures, restart_in_ms: wait },
          `stream ${p.name} crashed (${messageOf(failure)}); starting it again in ${wait} ms (crash ${failures} in a row)`,
        );
        await this.status('restart', (db) => countRestart(db, p.name, owner, messageOf(failure)));
        await pause(wait, signal);
        h.state = 'running';
      }
      if (!this.signal.aborted) log.warn(`stream ${p.name} stopped here: ${messageOf(signal.reason)}`);
      else log.info(`stream ${p.name} stopped`);
    } finally {
      this.held.delete(p.name);
      const lag = h.lagDirty ? new Map(h.lag) : null;
      await this.status('stop', async (db) => {
        if (lag) await writeStreamLag(db, p.name, lag);
        await markStopped(db, p.name, owner);
      });
      await warehouse.close().catch(() => {});
    }
  }

  private context(p: StreamPipeline, warehouse: Warehouse, owner: string, signal: AbortSignal, log: Logger, h: Held): StreamContext {
    let inTransaction = false;
    return {
      config: this.platform.config,
      lake: this.platform.lake,
      warehouse,
      signal,
      log,
      positions: {
        read: () => readStreamPositions(warehouse, p.name),
        save: async (positions) => {
          if (!inTransaction) throw new Error(`stream ${p.name}: positions are saved inside ctx.transaction, with the data they follow`);
          await writeStreamPositions(warehouse, p.name, owner, positions instanceof Map ? positions : new Map(Object.entries(positions)));
        },
      },
      transaction: async (fn) => {
        if (inTransaction) throw new Error(`stream ${p.name}: ctx.transaction does not nest`);
        inTransaction = true;
        try {
          return await warehouse.transaction(fn);
        } finally {
          inTransaction = false;
        }
      },
      reportLag: (source, messagesBehind, secondsBehind) => {
        h.lag.set(source, { messagesBehind, secondsBehind });
        h.lagDirty = true;
      },
    };
  }
}

/**
 * The supervisor of `ecluse up` and `ecluse worker`, started over the stream pipelines ecluse ships
 * (pipelines/streams.ts); the caller stops it before closing the platform.
 */
export async function startStreams(platform: Platform): Promise<StreamSupervisor> {
  const { STREAM_PIPELINES } = await import('../pipelines/streams.js');
  const supervisor = new StreamSupervisor(platform, STREAM_PIPELINES);
  supervisor.start();
  return supervisor;
}
