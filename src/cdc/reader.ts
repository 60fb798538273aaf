import pg from 'pg';
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type { Json } from '../stream/broker.js';
import { formatLsn, parseLsn } from './lsn.js';
import { ensureReplication, slotStatus, SlotLostError, type ReplicationNames, type SlotStatus } from './slot.js';

/** A row as JSON: timestamps as ISO strings, bytes as base64, 64-bit integers and numerics as PostgreSQL prints them. */
type ChangeRow = Record<string, Json>;

/** One captured row change, in Debezium's shape. */
export interface ChangeEvent {
  /**
   * `<slot>:<commit LSN>:<index of the row in its transaction>`: the same change read again after a restart
   * gets the same id, and the rows of one transaction (one commit LSN) get distinct ones.
   */
  id: string;
  /** c: insert, u: update, d: delete. */
  op: 'c' | 'u' | 'd';
  /** The row before an update or a delete (whole: the tables are REPLICA IDENTITY FULL); null for an insert. */
  before: ChangeRow | null;
  /** The row after an insert or an update; null for a delete. */
  after: ChangeRow | null;
  source: { lsn: string; schema: string; table: string; txId?: number };
  /** When the transaction committed (milliseconds since 1970). */
  ts_ms: number;
}

/**
 * Takes events in commit order: whole transactions, or slices of them (`maxSinkEvents`). The slot's position
 * moves past a transaction only once the sink resolved for all of its events: a sink that throws, or a process that dies before, gets them again
 * at the next start (the same ids, so a broker de-duplicates them).
 */
export type ChangeSink = (events: ChangeEvent[]) => Promise<void>;

export interface ChangeReaderOptions extends ReplicationNames {
  /** `postgres://…` of the database whose tables are captured. */
  url: string;
  sink: ChangeSink;
  /**
   * Events of committed transactions that may wait for the sink while it works on earlier ones; past this the
   * stream from PostgreSQL is paused. Batching several transactions into one sink call is what lets small
   * transactions go at broker speed rather than one round trip each. 10,000 by default.
   */
  maxPendingEvents?: number;
  /** Most events in one sink call; 1,000 by default. The position is confirmed once all slices resolved. */
  maxSinkEvents?: number;
}

interface OpenTransaction {
  commitLsn: string;
  xid: number;
  tsMs: number;
  events: ChangeEvent[];
}

/** pgoutput's parser, counting the messages it parses: they are those PostgreSQL sent, handled or not yet. */
class CountingPgoutput extends PgoutputPlugin {
  received = 0;
  override parse(buffer: Buffer): Pgoutput.Message {
    this.received++;
    return super.parse(buffer);
  }
}

function jsonValue(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(jsonValue);
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]));
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value as Json;
}

function jsonRow(row: Record<string, unknown> | null): ChangeRow | null {
  if (!row) return null;
  const out: ChangeRow = {};
  for (const [k, v] of Object.entries(row)) out[k] = jsonValue(v);
  return out;
}

/**
 * Reads a PostgreSQL database's changes through a logical replication slot (pgoutput) and hands them, whole
 * transactions at a time, to a sink; acknowledges the slot's position only after the sink resolved.
 * Acknowledgement is never automatic (the library's timer would confirm what was received, not what was
 * stored), and flow control keeps the messages read from the server in step with the handling.
 */
export class ChangeReader {
  /** Settles when the reader stops: rejected with the cause when it stopped on a failure (the sink's, the connection's). */
  readonly done: Promise<void>;
  private readonly service: LogicalReplicationService;
  private readonly plugin: CountingPgoutput;
  private readonly pool: pg.Pool;
  private handled = 0;
  private open: OpenTransaction | undefined;
  private pending: ChangeEvent[] = [];
  private pendingEnd = 0n;
  private flushing: Promise<void> | undefined;
  private acked = 0n;
  private failure: unknown;
  private stopping = false;
  private finish!: (err?: unknown) => void;

  private constructor(private readonly options: ChangeReaderOptions) {
    this.pool = new pg.Pool({ connectionString: options.url, max: 1 });
    // An idle connection's error (the server restarted) must not crash the process: the next status() reconnects.
    this.pool.on('error', () => {});
    this.plugin = new CountingPgoutput({ protoVersion: 1, publicationNames: [options.publication] });
    this.service = new LogicalReplicationService(
      { connectionString: options.url },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
    this.done = new Promise<void>((resolve, reject) => {
      this.finish = (err) => (err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err))));
    });
    // Marked handled: a failure must not crash the process before its owner looks at `done`, which still rejects.
    this.done.catch(() => {});
  }

  /** Creates what is missing (publication, slot, replica identity), then starts reading where the slot stands. */
  static async start(options: ChangeReaderOptions): Promise<ChangeReader> {
    const client = new pg.Client({ connectionString: options.url });
    await client.connect();
    try {
      await ensureReplication(client, options);
    } finally {
      await client.end();
    }
    const reader = new ChangeReader(options);
    reader.run();
    return reader;
  }

  private run(): void {
    this.service.on('data', (_lsn: string, message: Pgoutput.Message) => this.onMessage(message));
    this.service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => this.onHeartbeat(lsn, shouldRespond));
    this.service.on('error', (err: Error) => void this.fail(err));
    this.service.subscribe(this.plugin, this.options.slot).then(
      () => this.finish(this.failure),
      (err: unknown) => void this.fail(err).then(() => this.finish(this.failure)),
    );
  }

  /** The slot's lag and state; throws SlotLostError when PostgreSQL invalidated it. */
  async status(): Promise<SlotStatus> {
    const status = await slotStatus(this.pool, this.options.slot);
    if (status.walStatus === 'lost') throw new SlotLostError(this.options.slot);
    return status;
  }

  /** Bytes of WAL behind: `pg_current_wal_lsn() - confirmed_flush_lsn` (the metric to export). */
  async lagBytes(): Promise<number> {
    return (await this.status()).lagBytes;
  }

  /** Stops reading after handing what is pending to the sink and acknowledging it. */
  async stop(): Promise<void> {
    this.stopping = true;
    while (this.flushing) await this.flushing;
    await this.service.stop();
    await this.done.catch(() => {});
    await this.pool.end();
  }

  private async fail(err: unknown): Promise<void> {
    this.failure ??= err;
    this.stopping = true;
    await this.service.stop().catch(() => {});
  }

  private async onMessage(message: Pgoutput.Message): Promise<void> {
    try {
      await this.handle(message);
    } finally {
      this.handled++;
    }
  }

  private async handle(message: Pgoutput.Message): Promise<void> {
    if (this.stopping) return;
    switch (message.tag) {
      case 'begin':
        this.open = { commitLsn: message.commitLsn ?? '0/0', xid: message.xid, tsMs: Number(BigInt(String(message.commitTime)) / 1000n), events: [] };
        return;
      case 'insert':
        return this.add('c', message.relation, null, message.new);
      case 'update':
        return this.add('u', message.relation, message.old ?? message.key, message.new);
      case 'delete':
        return this.add('d', message.relation, message.old ?? message.key, null);
      case 'commit': {
        const txn = this.open;
        this.open = undefined;
        if (!txn) return;
        this.pending.push(...txn.events);
        this.pendingEnd = parseLsn(message.commitEndLsn ?? txn.commitLsn);
        this.flushing ??= this.flush();
        // Backpressure: while too much waits, the handler waits, and flow control stops reading the socket.
        while (this.pending.length >= (this.options.maxPendingEvents ?? 10_000)) {
          const flushing = this.flushing as Promise<void> | undefined;
          if (!flushing) break;
          await flushing;
        }
        return;
      }
      default:
        // Relations and types are kept by the parser; truncates and logical messages are not captured.
        return;
    }
  }

  private add(op: ChangeEvent['op'], relation: Pgoutput.MessageRelation, before: Record<string, unknown> | null, after: Record<string, unknown> | null): void {
    const txn = this.open;
    if (!txn) throw new Error(`a ${op} change outside a transaction`);
    txn.events.push({
      id: `${this.options.slot}:${txn.commitLsn}:${txn.events.length}`,
      op,
      before: jsonRow(before),
      after: jsonRow(after),
      source: { lsn: txn.commitLsn, schema: relation.schema, table: relation.name, txId: txn.xid },
      ts_ms: txn.tsMs,
    });
  }

  /** Hands the pending events to the sink, then confirms the slot up to their last commit, until none is left. */
  private async flush(): Promise<void> {
    try {
      while (!this.failure && (this.pending.length > 0 || this.pendingEnd > this.acked)) {
        const events = this.pending;
        const end = this.pendingEnd;
        this.pending = [];
        // In slices: a transaction of a million rows must not become a million publishes in flight at once.
        const slice = this.options.maxSinkEvents ?? 1_000;
        for (let i = 0; i < events.length && !this.failure; i += slice) await this.options.sink(events.slice(i, i + slice));
        await this.confirm(end);
      }
    } catch (err) {
      await this.fail(err);
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * Sends `lsn` as the position written and flushed. The library adds 1 to what it is given; PostgreSQL's own
   * subscribers send the commit's end exactly, and so do we: one more byte could step over the start of the
   * next commit record, and that transaction would never be sent.
   */
  private async confirm(lsn: bigint): Promise<void> {
    if (lsn <= this.acked || lsn === 0n) return;
    await this.service.acknowledge(formatLsn(lsn - 1n));
    this.acked = lsn;
  }

  private onHeartbeat(lsn: string, shouldRespond: boolean): void {
    const idle = !this.open && !this.flushing && this.pending.length === 0 && this.plugin.received === this.handled && !this.stopping;
    // Caught up with nothing in hand: the server's position can be confirmed, so the slot's lag and the WAL it
    // keeps do not grow with other databases' writes.
    if (idle) void this.confirm(parseLsn(lsn)).catch((err: unknown) => this.fail(err));
    else if (shouldRespond) void this.service.acknowledge(formatLsn(this.acked > 0n ? this.acked - 1n : 0n));
  }
}
