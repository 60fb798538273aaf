import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  checkConsumerName,
  checkMaxBatch,
  checkTopic,
  oneByOne,
  plainHeaders,
  type BatchConsumeOptions,
  type BatchHandler,
  type Broker,
  type ConsumeOptions,
  type Delivery,
  type DeliveryHandler,
  type Json,
  type OutgoingMessage,
  type PublishAck,
  type Subscription,
} from './broker.js';

export interface EmbeddedBrokerOptions {
  /**
   * Keeps each topic's log and its consumers' positions in this folder (`<topic>/log.jsonl`,
   * `<topic>/consumers/<name>.json`), written with fsync before a publish or an acknowledgement resolves, so
   * a restarted process finds them. Absent: the broker lives in memory and dies with the process.
   */
  dir?: string;
  /** How long a message id is remembered for de-duplication; 2 minutes (JetStream's default window). */
  dedupWindowMs?: number;
}

interface Stored {
  seq: number;
  id: string;
  at: number;
  payload: Json;
  headers: Record<string, string>;
}

interface Pending {
  message: Stored;
  stored: () => void;
  failed: (err: unknown) => void;
}

interface TopicLog {
  name: string;
  messages: Stored[];
  /** Ids within the window, oldest first (a Map keeps insertion order), with the promise of their storage. */
  ids: Map<string, { seq: number; at: number; stored: Promise<void> }>;
  file?: FileHandle;
  /** Messages waiting for the next write; one write + fsync carries all of them (group commit). */
  queue: Pending[];
  flushing: boolean;
  nextSeq: number;
  wake: Set<() => void>;
  running: Set<string>;
}

const DEFAULT_WINDOW_MS = 120_000;
const DEFAULT_ACK_WAIT_MS = 30_000;
const DEFAULT_RETRY_DELAY_MS = 1_000;

/**
 * The broker of one process, with no service to run: a topic is an append-only log in memory, optionally
 * persisted as JSON lines (a torn last line, from a crash in mid-write, is dropped when the log is opened:
 * its publish never resolved). Consumers keep their position (the last acknowledged seq). One process only
 * may open a folder: nothing locks it.
 */
export class EmbeddedBroker implements Broker {
  private readonly topics = new Map<string, Promise<TopicLog>>();
  private readonly subscriptions = new Set<Subscription>();
  private readonly windowMs: number;
  private closed = false;

  constructor(private readonly options: EmbeddedBrokerOptions = {}) {
    this.windowMs = options.dedupWindowMs ?? DEFAULT_WINDOW_MS;
  }

  async publish(topic: string, message: OutgoingMessage): Promise<PublishAck> {
    if (this.closed) throw new Error('the embedded broker is closed');
    checkTopic(topic);
    const log = await this.topic(topic);
    const now = Date.now();
    this.forget(log, now);
    const known = log.ids.get(message.id);
    if (known) {
      // The first copy may still be on its way to the disk: answer only once it is stored.
      await known.stored;
      return { seq: known.seq, duplicate: true };
    }
    // The payload is copied through JSON now: what is stored is what was published, whatever the caller does next.
    const stored: Stored = {
      seq: log.nextSeq++,
      id: message.id,
      at: now,
      payload: JSON.parse(JSON.stringify(message.payload)) as Json,
      headers: plainHeaders(message.headers),
    };
    let done!: () => void;
    let failed!: (err: unknown) => void;
    const promise = new Promise<void>((resolve, reject) => {
      done = resolve;
      failed = reject;
    });
    log.ids.set(message.id, { seq: stored.seq, at: now, stored: promise });
    log.queue.push({ message: stored, stored: done, failed });
    void this.flush(log);
    await promise;
    return { seq: stored.seq, duplicate: false };
  }

  consume(topic: string, consumerName: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Subscription> {
    return this.consumeBatches(topic, consumerName, oneByOne(handler), { ...options, maxBatch: 1 });
  }

  async consumeBatches(topic: string, consumerName: string, handler: BatchHandler, options: BatchConsumeOptions): Promise<Subscription> {
    checkMaxBatch(options.maxBatch);
    if (this.closed) throw new Error('the embedded broker is closed');
    checkTopic(topic);
    checkConsumerName(consumerName);
    const log = await this.topic(topic);
    if (log.running.has(consumerName)) throw new Error(`consumer "${consumerName}" of ${topic} is already running in this broker`);
    log.running.add(consumerName);
    const position = await this.readPosition(topic, consumerName);
    const subscription = new EmbeddedConsumer(log, position, handler, options, (seq) => this.savePosition(topic, consumerName, seq));
    this.subscriptions.add(subscription);
    void subscription.done
      .catch(() => {})
      .finally(() => {
        log.running.delete(consumerName);
        this.subscriptions.delete(subscription);
      });
    return subscription;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    for (const pending of this.topics.values()) {
      const log = await pending;
      while (log.flushing || log.queue.length > 0) await new Promise((r) => setTimeout(r, 1));
      await log.file?.close();
    }
  }

  private forget(log: TopicLog, now: number): void {
    for (const [id, entry] of log.ids) {
      if (now - entry.at <= this.windowMs) break;
      log.ids.delete(id);
    }
  }

  private topic(name: string): Promise<TopicLog> {
    let log = this.topics.get(name);
    if (!log) {
      log = this.openTopic(name);
      this.topics.set(name, log);
    }
    return log;
  }

  private async openTopic(name: string): Promise<TopicLog> {
    const log: TopicLog = { name, messages: [], ids: new Map(), queue: [], flushing: false, nextSeq: 1, wake: new Set(), running: new Set() };
    if (!this.options.dir) return log;
    const folder = join(this.options.dir, name);
    await mkdir(join(folder, 'consumers'), { recursive: true });
    const path = join(folder, 'log.jsonl');
    const text = await readFile(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return Buffer.alloc(0);
      throw err;
    });
    let good = 0;
    let start = 0;
    for (let end = text.indexOf(10); end >= 0; start = end + 1, end = text.indexOf(10, start)) {
      let message: Stored;
      try {
        message = JSON.parse(text.subarray(start, end).toString('utf8')) as Stored;
      } catch {
        break;
      }
      log.messages.push(message);
      good = end + 1;
    }
    const file = await open(path, 'a+');
    if (good < text.length) {
      await file.truncate(good);
      await file.sync();
    }
    log.file = file;
    log.nextSeq = log.messages.length + 1;
    const horizon = Date.now() - this.windowMs;
    for (const m of log.messages) if (m.at >= horizon) log.ids.set(m.id, { seq: m.seq, at: m.at, stored: Promise.resolve() });
    return log;
  }

  private async flush(log: TopicLog): Promise<void> {
    if (log.flushing) return;
    log.flushing = true;
    try {
      while (log.queue.length > 0) {
        const batch = log.queue.splice(0);
        try {
          if (log.file) {
            await log.file.write(batch.map((p) => JSON.stringify(p.message) + '\n').join(''));
            await log.file.datasync();
          }
        } catch (err) {
          // Nothing of the batch is known stored: forget its ids, so a retried publish stores it again.
          for (const p of batch) log.ids.delete(p.message.id);
          for (const p of batch) p.failed(err);
          continue;
        }
        for (const p of batch) log.messages.push(p.message);
        for (const p of batch) p.stored();
        for (const wake of [...log.wake]) wake();
      }
    } finally {
      log.flushing = false;
    }
  }

  private positionPath(topic: string, consumer: string): string | undefined {
    return this.options.dir ? join(this.options.dir, topic, 'consumers', `${consumer}.json`) : undefined;
  }

  private readonly memoryPositions = new Map<string, number>();

  private async readPosition(topic: string, consumer: string): Promise<number> {
    const path = this.positionPath(topic, consumer);
    if (!path) return this.memoryPositions.get(`${topic}\0${consumer}`) ?? 0;
    try {
      return (JSON.parse(await readFile(path, 'utf8')) as { acked: number }).acked;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  private async savePosition(topic: string, consumer: string, acked: number): Promise<void> {
    const path = this.positionPath(topic, consumer);
    if (!path) {
      this.memoryPositions.set(`${topic}\0${consumer}`, acked);
      return;
    }
    // Written aside then renamed: a crash leaves the former position or the new one, never half of one.
    const temporary = `${path}.tmp`;
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(JSON.stringify({ acked }));
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  }
}

type Outcome = { kind: 'acked' } | { kind: 'failed'; error: unknown } | { kind: 'expired' };

class EmbeddedConsumer implements Subscription {
  readonly done: Promise<void>;
  private stopping = false;
  private interrupt: (() => void) | undefined;

  constructor(
    private readonly log: TopicLog,
    private acked: number,
    private readonly handler: BatchHandler,
    private readonly options: BatchConsumeOptions,
    private readonly save: (acked: number) => Promise<void>,
  ) {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.interrupt?.();
    await this.done.catch(() => {});
  }

  /** Waits for `ms`, for a new message (ms absent), or for stop(), whichever comes first. */
  private pause(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(finish, ms);
      const log = this.log;
      function finish(): void {
        if (timer) clearTimeout(timer);
        log.wake.delete(finish);
        resolve();
      }
      this.interrupt = finish;
      if (ms === undefined) log.wake.add(finish);
    });
  }

  private async run(): Promise<void> {
    const ackWait = this.options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
    // Deliveries so far of the messages not yet acknowledged, by seq.
    const tries = new Map<number, number>();
    // After a failed batch, its messages go one at a time up to this seq: a bad one fails alone.
    let alone = 0;
    while (!this.stopping) {
      const messages = this.log.messages.slice(this.acked, this.acked + (this.acked < alone ? 1 : this.options.maxBatch));
      if (messages.length === 0) {
        await this.pause();
        continue;
      }
      const batch = messages.map((message): Delivery => {
        const deliveryCount = (tries.get(message.seq) ?? 0) + 1;
        tries.set(message.seq, deliveryCount);
        return {
          topic: this.log.name,
          id: message.id,
          payload: structuredClone(message.payload),
          headers: { ...message.headers },
          seq: message.seq,
          deliveryCount,
        };
      });
      const last = (messages.at(-1) as Stored).seq;
      const outcome = await this.deliver(batch, ackWait);
      if (outcome.kind === 'acked') {
        await this.advance(last, messages, tries);
        continue;
      }
      const error = outcome.kind === 'failed' ? outcome.error : new Error(`not acknowledged within ${ackWait} ms`);
      const [only] = batch as [Delivery];
      if (batch.length > 1) alone = last;
      else if (this.options.maxDeliver !== undefined && only.deliveryCount >= this.options.maxDeliver) {
        this.options.onGiveUp?.(only, error);
        await this.advance(last, messages, tries);
        continue;
      }
      // An expired delivery has waited its ack_wait already; a failed one waits before its next try.
      if (outcome.kind === 'failed') await this.pause(this.options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
    }
  }

  /** Moves the position past `seq`, durably. */
  private async advance(seq: number, messages: readonly Stored[], tries: Map<number, number>): Promise<void> {
    await this.save(seq);
    this.acked = seq;
    for (const m of messages) tries.delete(m.seq);
  }

  private async deliver(batch: readonly Delivery[], ackWait: number): Promise<Outcome> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'expired' }), ackWait);
    });
    const handled = this.handler(batch).then(
      (): Outcome => ({ kind: 'acked' }),
      (error: unknown): Outcome => ({ kind: 'failed', error }),
    );
    try {
      return await Promise.race([handled, expired]);
    } finally {
      clearTimeout(timer);
    }
  }
}
