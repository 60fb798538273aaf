/** A JSON value, as a message payload carries it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What a producer hands the broker. */
export interface OutgoingMessage {
  /**
   * Identifies the message for de-duplication: a message published again with the same id (a producer that
   * crashed after publishing but before recording it did) is acknowledged without being stored twice.
   */
  id: string;
  payload: Json;
  headers?: Readonly<Record<string, string>>;
}

/** The broker's answer to a publish: where the message lies, and whether it was there already. */
export interface PublishAck {
  /** Position of the message in its topic's log (NATS: in its stream, shared by the topics of one prefix). */
  seq: number;
  /** True when the id was seen within the de-duplication window: nothing new was stored. */
  duplicate: boolean;
}

/** A stored message handed to a consumer. */
export interface Delivery {
  topic: string;
  id: string;
  payload: Json;
  headers: Readonly<Record<string, string>>;
  seq: number;
  /** 1 on the first delivery, more after a failure or a consumer that died without acknowledging. */
  deliveryCount: number;
}

/**
 * Handles one delivery. Resolving acknowledges it (the consumer's position moves past it, durably); throwing
 * hands it back for redelivery after `retryDelayMs`. A handler still running when its consumer or process
 * dies has acknowledged nothing: the message comes again to the next consumer of that name.
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

/**
 * Handles a batch: one or more deliveries in topic order, those the consumer had at hand when it called (it
 * never waits to fill a batch). Resolving acknowledges them all; throwing hands them all back, and the
 * consumer then delivers them again one at a time, so that one bad message fails alone.
 */
export type BatchHandler = (deliveries: readonly Delivery[]) => Promise<void>;

export interface ConsumeOptions {
  /** Deliveries of one message before the broker gives it up (skips it); unlimited when absent. */
  maxDeliver?: number;
  /** How long a delivery may stay unacknowledged before it is sent again (NATS `ack_wait`); 30 s by default. */
  ackWaitMs?: number;
  /** Pause before a message whose handler threw is delivered again; 1 s by default. */
  retryDelayMs?: number;
  /** Called when a message is given up after `maxDeliver` deliveries. */
  onGiveUp?: (delivery: Delivery, error: unknown) => void;
}

export interface BatchConsumeOptions extends ConsumeOptions {
  /** The most deliveries handed to one handler call (NATS: the consumer's `max_ack_pending`). */
  maxBatch: number;
}

/** A running consumer. */
export interface Subscription {
  /** Stops taking messages; the one being handled finishes (and is acknowledged) first. */
  stop(): Promise<void>;
  /** Settles when the consumer stops: rejected when it stopped on an error of the broker. */
  readonly done: Promise<void>;
}

/**
 * A message broker: topics of messages, stored before they are acknowledged to the producer, read by durable
 * named consumers whose positions survive them (at-least-once; handlers make their effect idempotent, or
 * de-duplicate on the message id).
 */
export interface Broker {
  /** Resolves once the broker has stored the message (or found its id already stored). */
  publish(topic: string, message: OutgoingMessage): Promise<PublishAck>;
  /**
   * Starts the durable consumer `consumerName` on `topic`: it resumes after the last message it acknowledged
   * (the first start reads the topic from its beginning). One handler call at a time, in topic order; a call
   * still running after `ackWaitMs` counts as lost, and the message is delivered again while it may still run.
   */
  consume(topic: string, consumerName: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Subscription>;
  /**
   * `consume`, the handler given the messages at hand in batches of up to `maxBatch`: one acknowledgement
   * per batch, for a handler whose work costs per call more than per message (a database commit).
   */
  consumeBatches(topic: string, consumerName: string, handler: BatchHandler, options: BatchConsumeOptions): Promise<Subscription>;
  /** Stops every consumer and releases the broker. */
  close(): Promise<void>;
}

/** A handler of one delivery as a handler of batches of one. */
export function oneByOne(handler: DeliveryHandler): BatchHandler {
  return async (deliveries) => {
    for (const delivery of deliveries) await handler(delivery);
  };
}

/** A batch size as the brokers take it: a whole number ≥ 1. */
export function checkMaxBatch(maxBatch: number): number {
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error(`invalid maxBatch ${maxBatch}: a whole number of at least 1`);
  return maxBatch;
}

const TOPIC = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;
const NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Topics are dotted names of at least two tokens (`sport.activities`, `weather.readings.lyon`): the first
 * token groups topics into one NATS stream (`sport.>`), and the same names must be valid file names for the
 * embedded broker, so nothing but letters, digits, `_` and `-` between the dots.
 */
export function checkTopic(topic: string): void {
  if (!TOPIC.test(topic)) throw new Error(`invalid topic "${topic}": dotted tokens of letters, digits, _ or - (at least two, e.g. sport.activities)`);
}

export function checkConsumerName(name: string): void {
  if (!NAME.test(name)) throw new Error(`invalid consumer name "${name}": letters, digits, _ or - only`);
}

/** Headers as a plain record (a copy: the caller's object may change after the publish). */
export function plainHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return headers ? { ...headers } : {};
}
