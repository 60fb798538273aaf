import { createHash } from 'node:crypto';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type ConsumerMessages,
} from '@nats-io/jetstream';
import { connect, headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  checkConsumerName,
  checkMaxBatch,
  checkTopic,
  oneByOne,
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

export interface NatsBrokerOptions {
  /** `nats://host:port` (ECLUSE_BROKER). */
  url: string;
  /** The stream of the topics `<prefix>.…` is `<streamPrefix><prefix>`; `ECLUSE_` by default. */
  streamPrefix?: string;
  /** JetStream's duplicate window for streams this broker creates; 2 minutes by default. */
  dedupWindowMs?: number;
  /** Publishes awaiting their acknowledgement at once; more wait their turn. 1,000 by default. */
  maxInFlight?: number;
}

const DEFAULT_WINDOW_MS = 120_000;
const DEFAULT_ACK_WAIT_MS = 30_000;
const DEFAULT_RETRY_DELAY_MS = 1_000;
const MSG_ID = 'Nats-Msg-Id';

/**
 * The broker on NATS JetStream. Topics sharing their first token share one stream (`sport.>` in
 * `ECLUSE_sport`, file storage), created when first used; the message id travels as `Nats-Msg-Id`, so the
 * stream's duplicate window de-duplicates a republished id. Consumers are durable pull consumers with
 * explicit acknowledgement and at most a batch in flight, which keeps topic order as the embedded broker does
 * (a failed batch aside: the server sends its messages again after the delay, maybe behind later ones).
 */
export class NatsBroker implements Broker {
  private readonly streams = new Map<string, Promise<string>>();
  private readonly subscriptions = new Set<Subscription>();

  private constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: NatsBrokerOptions,
  ) {}

  static async open(options: NatsBrokerOptions): Promise<NatsBroker> {
    const url = new URL(options.url);
    const connection = await connect({ servers: `${url.hostname}:${url.port || '4222'}`, name: 'ecluse', timeout: 10_000 });
    try {
      const jsm = await jetstreamManager(connection);
      return new NatsBroker(connection, jetstream(connection), jsm, options);
    } catch (err) {
      await connection.close();
      throw err;
    }
  }

  /** The name of the stream holding `topic`, created on first use. */
  streamOf(topic: string): Promise<string> {
    checkTopic(topic);
    const prefix = topic.slice(0, topic.indexOf('.'));
    let stream = this.streams.get(prefix);
    if (!stream) {
      stream = this.ensureStream(prefix);
      this.streams.set(prefix, stream);
      stream.catch(() => this.streams.delete(prefix));
    }
    return stream;
  }

  private async ensureStream(prefix: string): Promise<string> {
    const name = `${this.options.streamPrefix ?? 'ECLUSE_'}${prefix}`;
    try {
      await this.jsm.streams.info(name);
    } catch {
      try {
        await this.jsm.streams.add({ name, subjects: [`${prefix}.>`], duplicate_window: nanos(this.options.dedupWindowMs ?? DEFAULT_WINDOW_MS) });
      } catch (err) {
        // Another process may have created it in between: fine if it is there now.
        await this.jsm.streams.info(name).catch(() => {
          throw err;
        });
      }
    }
    return name;
  }

  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  async publish(topic: string, message: OutgoingMessage): Promise<PublishAck> {
    await this.streamOf(topic);
    // Bounded: each publish waits for its own acknowledgement with a timeout, and a hundred thousand sent at
    // once wait long enough behind each other to time out.
    // A freed place passes straight to the oldest waiter, so publishes leave in the order they were made.
    if (this.inFlight >= (this.options.maxInFlight ?? 1_000) || this.waiting.length > 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.inFlight++;
    try {
      return await this.send(topic, message);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight--;
    }
  }

  private async send(topic: string, message: OutgoingMessage): Promise<PublishAck> {
    const h = natsHeaders();
    for (const [key, value] of Object.entries(message.headers ?? {})) h.set(key, value);
    const ack = await this.js.publish(topic, JSON.stringify(message.payload), { msgID: message.id, headers: h });
    return { seq: ack.seq, duplicate: ack.duplicate };
  }

  consume(topic: string, consumerName: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Subscription> {
    return this.consumeBatches(topic, consumerName, oneByOne(handler), { ...options, maxBatch: 1 });
  }

  async consumeBatches(topic: string, consumerName: string, handler: BatchHandler, options: BatchConsumeOptions): Promise<Subscription> {
    const maxBatch = checkMaxBatch(options.maxBatch);
    checkConsumerName(consumerName);
    const stream = await this.streamOf(topic);
    // One durable per (name, topic): a consumer name may read several topics of one stream.
    const durable = `${consumerName}_${createHash('sha256').update(topic).digest('hex').slice(0, 10)}`;
    const ackWait = options.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
    const config = {
      ack_wait: nanos(ackWait),
      max_deliver: options.maxDeliver ?? -1,
      // The server sends no more than a batch ahead of the acknowledgements: order holds, failures aside.
      max_ack_pending: maxBatch,
      description: `${consumerName} on ${topic}`,
    };
    try {
      await this.jsm.consumers.info(stream, durable);
      await this.jsm.consumers.update(stream, durable, config);
    } catch {
      await this.jsm.consumers.add(stream, {
        ...config,
        durable_name: durable,
        filter_subject: topic,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
      });
    }
    const consumer = await this.js.consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: Math.max(16, maxBatch) });
    const subscription = new NatsConsumer(topic, messages, handler, options, ackWait);
    this.subscriptions.add(subscription);
    void subscription.done.catch(() => {}).finally(() => this.subscriptions.delete(subscription));
    return subscription;
  }

  /** Deletes the stream of `topic`'s prefix (tests, resets). */
  async deleteStream(topic: string): Promise<void> {
    const stream = await this.streamOf(topic);
    this.streams.delete(topic.slice(0, topic.indexOf('.')));
    await this.jsm.streams.delete(stream);
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.stop()));
    await this.connection.drain().catch(() => this.connection.close());
  }
}

class NatsConsumer implements Subscription {
  readonly done: Promise<void>;
  private stopping = false;
  /** After a failed batch, messages up to this stream seq are handled one at a time: a bad one fails alone. */
  private alone = 0;

  constructor(
    private readonly topic: string,
    private readonly messages: ConsumerMessages,
    private readonly handler: BatchHandler,
    private readonly options: BatchConsumeOptions,
    private readonly ackWait: number,
  ) {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.messages.stop();
    await this.done.catch(() => {});
  }

  private async run(): Promise<void> {
    const iterator = this.messages[Symbol.asyncIterator]();
    // A next() that did not answer at once when a batch was gathered: the next batch starts with its answer.
    let ahead: Promise<IteratorResult<JsMsg>> | null = null;
    for (;;) {
      const first = await (ahead ?? iterator.next());
      ahead = null;
      if (first.done) return;
      const batch = [first.value];
      let ended = false;
      // Only what the client holds already: a batch never waits for the server.
      while (batch.length < this.options.maxBatch && this.messages.getPending() > 0) {
        const next = iterator.next();
        const got = await Promise.race([next, new Promise<null>((resolve) => setImmediate(() => resolve(null)))]);
        if (got === null) {
          ahead = next;
          break;
        }
        if (got.done) {
          ended = true;
          break;
        }
        batch.push(got.value);
      }
      if (this.stopping) {
        // Handed back at once rather than after ack_wait: the next consumer gets them without waiting.
        for (const m of batch) m.nak();
      } else if (batch.some((m) => m.seq <= this.alone)) {
        for (const m of batch) await this.handle([m]);
      } else {
        await this.handle(batch);
      }
      if (ended) return;
    }
  }

  private delivery(m: JsMsg): Delivery {
    const user: Record<string, string> = {};
    if (m.headers) for (const [key, values] of m.headers) if (key !== MSG_ID) user[key] = values.join(', ');
    return {
      topic: this.topic,
      id: m.headers?.get(MSG_ID) ?? String(m.seq),
      payload: m.json<Json>(),
      headers: user,
      seq: m.seq,
      deliveryCount: m.info.deliveryCount,
    };
  }

  private async handle(batch: readonly JsMsg[]): Promise<void> {
    const deliveries = batch.map((m) => this.delivery(m));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), this.ackWait);
    });
    const outcome = await Promise.race([
      this.handler(deliveries).then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      expired,
    ]).finally(() => clearTimeout(timer));
    // Expired: the server sends the messages again by itself once ack_wait has run out.
    if (outcome === 'expired') return;
    const last = batch.at(-1) as JsMsg;
    if (outcome.ok) {
      for (const m of batch) if (m !== last) m.ack();
      // Waits for the server to record the last acknowledgement (the others, sent before it on the same
      // connection, are recorded first): a stop right after must not lose the position.
      await last.ackAck();
      return;
    }
    if (batch.length > 1) this.alone = Math.max(this.alone, last.seq);
    const [only] = deliveries as [Delivery];
    if (batch.length === 1 && this.options.maxDeliver !== undefined && only.deliveryCount >= this.options.maxDeliver) {
      this.options.onGiveUp?.(only, outcome.error);
      last.term();
      return;
    }
    for (const m of batch) m.nak(this.options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS);
  }
}
