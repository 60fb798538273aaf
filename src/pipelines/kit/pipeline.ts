import type { Logger } from 'pino';
import type { Config } from '../../config/config.js';
import type { ObjectStore } from '../../lake/objectStore.js';
import type { DuckSession } from '../../engine/duckdb.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import type { RunCounts } from '../../warehouse/metadata.js';
import type { RouteSpec } from './routeSpec.js';

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

export interface Schedule {
  cron: string;
  timezone: string;
}

/** A pipeline as the orchestrator, the CLI and (later) the server see it. */
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
  /** Drops the pipeline's staging and curated data (warehouse and lake), keeping the raw zone. */
  reset(platform: Platform): Promise<void>;
  /**
   * HTTP routes the server mounts for this pipeline (declared as data: pipelines never import the server).
   * Loaded when a server mounts them, so that a command that only runs the pipeline does not load them.
   */
  routes?: () => Promise<readonly RouteSpec[]>;
}
