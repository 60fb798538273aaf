import type { Logger } from 'pino';
import type { Config } from '../../config/config.js';
import type { ObjectStore } from '../../lake/objectStore.js';
import type { DuckSession } from '../../engine/duckdb.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import type { RunCounts } from '../../warehouse/metadata.js';
import type { RouteSpec } from './routeSpec.js';
import type { PipelineConfig } from './settings.js';

export interface ProgressEvent {
  step: string;
  done: number;
  total: number;
  /** What is being worked on (a file name). */
  item?: string;
}

/** The platform's parts, opened once per process (or per command). */
export interface Platform {
  config: Config;
  lake: ObjectStore;
  warehouse: Warehouse;
}

/** What a pipeline gets to do its work: the platform's parts, and where to report progress. */
export interface RunContext extends Platform {
  runId: number;
  /** DuckDB session for the run's engine work (the warehouse's own when it is DuckDB). */
  engine: DuckSession;
  progress: (e: ProgressEvent) => void;
  /** Called by the pipeline inside the transaction that commits its data, so the run record commits with it. */
  commitRun: (counts: RunCounts) => Promise<void>;
  /**
   * Times one step; the timings are stored with the run. It also stops a cancelled or timed-out run: it
   * throws before and after the step once `signal` is aborted.
   */
  step: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
  /** Aborted when the run is cancelled or times out: pass it to long waits (fetch) to stop them early. */
  signal: AbortSignal;
  /** The run's logger (pino, lines carry the run id): stored with the run, read by `GET /runs/{id}/logs`. */
  log?: Logger;
}

export interface RunRequest {
  /** Local files or folders to ingest (`--input`); absent for scheduled runs of a source. */
  inputs?: string[];
  /** A day (`YYYY-MM-DD`); `--input` runs are `adhoc-<run_id>`. */
  partition?: string;
  /** A staging database the run also writes to (`--staging mysql://…`, synop); a secret, never printed. */
  staging?: string;
  /** `catch-up`: the last scheduled tick, missed while no server ran; `recovery`: a run whose process died, again. */
  trigger: 'cli' | 'schedule' | 'catch-up' | 'backfill' | 'recovery' | 'api' | 'rebuild' | 'start';
}

/**
 * When a pipeline runs on its own: a cron expression read in `timezone`.
 * @public Pipeline authors type their manifests' parts with it, though no module of ours names it.
 */
export interface Schedule {
  cron: string;
  timezone: string;
}

/**
 * One dataset of a source a pipeline fetches at its own pace, when it fetches several (eco2mix: the
 * real-time dataset every 15 minutes, the consolidated one daily): its schedule, and the partitions its
 * ticks and backfills run. A run reads its feed back from its partition (`owns`).
 */
export interface Feed {
  /** `--dataset <name>`; its schedule is `<pipeline>:<name>` in `schedules` (the first feed's also `<pipeline>`). */
  name: string;
  description: string;
  schedule: Schedule;
  /** The partition a tick at `at` runs, and a run asked for without a partition. */
  partitionAt(at: Date): string;
  /** The partitions that cover the days `from` to `to` (both inclusive), in order: a backfill's. */
  partitionsBetween(from: string, to: string): string[];
  /** Whether `partition` is one of this feed's. */
  owns(partition: string): boolean;
}

/** A table a pipeline writes, and where the same data lies in the lake. */
export interface PipelineDataset {
  /** The warehouse table. */
  table: string;
  /** Its primary key. */
  key: readonly string[];
  /** Lake prefixes of its staging and curated files (from lake/layout.ts), emptied by a reset; the raw zone is never one. */
  lake: readonly string[];
}

/**
 * A second copy of the staging data in a database of the user's (`--staging URL`): synop's MySQL.
 * @public Pipeline authors type their manifests' parts with it, though no module of ours names it.
 */
export interface StagingCopy {
  /** The URL scheme accepted, e.g. `mysql:`. */
  protocol: string;
  /** The setting that holds it when not given on the command line, as users write it. */
  setting: string;
  /** The configuration with `url` as the staging URL, for one command's runs. */
  withUrl(config: Config, url: string): Config;
}

/**
 * A dependency a pipeline needs that `/health` checks (e.g. a database it writes to).
 * @public Pipeline authors type their manifests' parts with it, though no module of ours names it.
 */
export interface HealthCheck {
  /** The key of the check in `/health`'s answer. */
  name: string;
  kind: string;
  /** Resolves when the dependency answers; its error message must not carry secrets. */
  check(): Promise<void>;
}

/**
 * A command-line option of a pipeline's sample generator (commander syntax).
 * @public Pipeline authors type their manifests' parts with it, though no module of ours names it.
 */
export interface GeneratorOption {
  flags: string;
  description: string;
  defaultValue?: string;
}

/** `ecluse generate <pipeline>`: sample input files in the pipeline's real formats. */
export interface SampleGenerator {
  options: readonly GeneratorOption[];
  /** Writes the files; returns the line to print. Throws `UsageError` for a bad option. */
  generate(options: Readonly<Record<string, string | undefined>>, out: string): Promise<string>;
  /** Small samples for a first `npm start` in `dir`; returns the inputs to run and a line to print. */
  firstRun(dir: string, now: Date): Promise<{ inputs: string[]; said: string }>;
}

/** A bad option of a pipeline's own (the CLI exits 2 with it). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A pipeline as the orchestrator, the CLI, the server and the dashboard see it: its manifest (what it
 * writes, what it accepts, what it needs) and its work. The platform reads these instead of knowing
 * pipelines by name.
 */
export interface Pipeline {
  name: string;
  description: string;
  schedule: Schedule;
  run(ctx: RunContext, request: RunRequest): Promise<void>;
  /**
   * Why a scheduled run would have nothing to read with this configuration (null when it can run): the
   * scheduler skips such ticks with that message instead of recording failed runs.
   */
  scheduledSource?(config: Config): string | null;
  /** The tables it writes, in the order they are shown (reset empties them in reverse). */
  datasets: readonly PipelineDataset[];
  /** Creates its tables when they are missing (a reset of a pipeline never run empties them all the same). */
  createTables(warehouse: Warehouse): Promise<void>;
  /** Whether a run without files fetches its partition's day from a source (`--from/--to`, yesterday by default). */
  fetchesDays?: boolean;
  /**
   * The datasets it fetches, each on its own schedule, when there are several (the first is the default of
   * `--dataset`, and `schedule` is its schedule). None: one source, daily partitions, `schedule`.
   */
  feeds?: readonly Feed[];
  stagingCopy?: StagingCopy;
  /** File types (extensions) accepted by `POST /pipelines/{name}/files`; none: it takes no uploads. */
  uploads?: readonly string[];
  /**
   * Its own settings: the section `pipelines.<name>` of `ecluse.config.json`, its environment variables,
   * and the typed settings its code reads (`config.settings(ctx.config)`). None: it takes no settings.
   */
  config?: PipelineConfig<unknown>;
  /** Dependencies `/health` checks with this configuration (none when they are not configured). */
  healthChecks?(config: Config): HealthCheck[];
  generator?: SampleGenerator;
  /**
   * HTTP routes the server mounts for this pipeline (declared as data: pipelines never import the server).
   * Loaded when a server mounts them, so that a command that only runs the pipeline does not load them.
   */
  routes?: () => Promise<readonly RouteSpec[]>;
}
