import type { Logger } from 'pino';
import type { Platform } from './pipeline.js';
import type { PipelineConfig } from './settings.js';

/**
 * A continuous pipeline (change-data-capture, live readings): started by the supervisor of `ecluse up` or
 * `ecluse worker`, it runs until its signal is aborted, and commits where it stands in each source (a
 * topic partition, a replication slot) in the same transaction as the data it wrote, so a crash neither
 * loses nor repeats a committed batch: the next start resumes after the last committed position.
 */
export interface StreamPipeline {
  name: string;
  description: string;
  /**
   * Works until `ctx.signal` is aborted, then returns (or throws the abort reason: either ends it). Any
   * other throw, or a return before the signal, is a crash: the supervisor starts it again after a backoff.
   */
  start(ctx: StreamContext): Promise<void>;
  /** Its own settings (`pipelines.<name>`), as a run pipeline's. */
  config?: PipelineConfig<unknown>;
}

/**
 * Committed positions of a stream pipeline, per source key, as opaque strings the pipeline chooses.
 * @public Stream pipeline authors type their position handling with it, though no module of ours names it.
 */
export interface PositionStore {
  /** The positions committed so far (sources never committed are absent). */
  read(): Promise<Map<string, string>>;
  /**
   * Records new positions for some sources (the others keep theirs). Only inside `ctx.transaction`: they
   * commit with the data written there, or roll back with it. Throws StreamTakenOverError when another
   * process has taken the stream over since this one started (the transaction then rolls back).
   */
  save(positions: Readonly<Record<string, string>> | ReadonlyMap<string, string>): Promise<void>;
}

/** What a stream pipeline gets: the platform (its warehouse a connection of the stream's own), and more. */
export interface StreamContext extends Platform {
  /** Aborted when the stream must stop (its process stops, or its lock was lost). */
  signal: AbortSignal;
  /** The stream's logger (pino; lines carry the pipeline's name). */
  log: Logger;
  positions: PositionStore;
  /**
   * Runs `fn` in a transaction of the stream's warehouse connection: write the batch's data with
   * `ctx.warehouse` and save its positions, all inside, and they commit together.
   */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * How far behind the newest data a source is (messages not consumed yet, and the age of the oldest of
   * them); kept in memory and stored by the supervisor at its next heartbeat, for the metrics.
   */
  reportLag(source: string, messagesBehind: number, secondsBehind: number): void;
}
