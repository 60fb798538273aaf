import { DuckSession, type Row } from '../../src/engine/duckdb.js';
import { datasetPrefix } from '../../src/lake/layout.js';
import type { Pipeline, Platform, ProgressEvent } from '../../src/pipelines/kit/pipeline.js';
import { executeRun } from '../../src/orchestrator/runner.js';
import { REPORTS } from '../../src/pipelines/stations/schema.js';
import { stationsPipeline } from '../../src/pipelines/stations/pipeline.js';
import { synopPipeline } from '../../src/pipelines/synop/pipeline.js';
import type { RunSummary } from '../../src/warehouse/metadata.js';
import { lakeDigest } from './crash.js';
import { withPlatform, type PlatformEnv } from './platform.js';

/**
 * What the fault suites share: a file run in this process (so that a fault can be injected at a chosen step
 * through the run's progress events), and what a user sees of its result, to compare with a clean run.
 */

export const FAULT_PIPELINES = { stations: stationsPipeline, synop: synopPipeline } as const;
export type FaultPipeline = keyof typeof FAULT_PIPELINES;

/** `ecluse run <pipeline> --input <inputs>`, in process; `progress` sees every progress event. */
export function runFiles(
  home: string,
  env: PlatformEnv,
  pipeline: FaultPipeline,
  inputs: string[],
  progress?: (e: ProgressEvent) => void,
): Promise<RunSummary> {
  return withPlatform(home, (p) => executeRun(p, FAULT_PIPELINES[pipeline] as Pipeline, { inputs, trigger: 'cli' }, progress), env);
}

/** `ecluse run stations --input <inputs>`, in process. */
export function runStations(home: string, env: PlatformEnv, inputs: string[], progress?: (e: ProgressEvent) => void): Promise<RunSummary> {
  return runFiles(home, env, 'stations', inputs, progress);
}

const REPORT_COLUMNS = REPORTS.columns
  .map(([c]) => c)
  .filter((c) => c !== 'raw_file')
  .join(', ');

/** Each pipeline's tables as a user sees them (raw_file differs between homes: arrival times), and its lake digests. */
const VIEWS: Record<FaultPipeline, { tables: string[]; keys: string[]; read: (p: Platform, engine: DuckSession) => Promise<Record<string, Row[]>> }> = {
  stations: {
    tables: ['reports', 'stations'],
    keys: ['reports', 'stations', 'lake'],
    read: async (p, engine) => ({
      reports: await p.warehouse.query(`SELECT ${REPORT_COLUMNS} FROM reports ORDER BY station_id, observed_at`),
      stations: await p.warehouse.query(`SELECT * FROM stations ORDER BY id`),
      lake: await lakeDigest(engine, p.lake, datasetPrefix('staging', 'reports'), 'station_id, observed_at, temperature_c'),
    }),
  },
  synop: {
    tables: ['observations', 'daily_city_stats'],
    keys: ['observations', 'stats', 'lake', 'curated'],
    read: async (p, engine) => ({
      observations: await p.warehouse.query(
        `SELECT numer_sta, observed_at, t, temperature_c, pmer, rr3, precip_3h_trace, nom FROM observations ORDER BY numer_sta, observed_at`,
      ),
      stats: await p.warehouse.query(
        `SELECT numer_sta, CAST(day AS VARCHAR) AS day, temperature_avg_c, rainfall_mm, observations, completeness FROM daily_city_stats ORDER BY numer_sta, day`,
      ),
      lake: await lakeDigest(engine, p.lake, datasetPrefix('staging', 'observations'), 'numer_sta, observed_at, t, rr3'),
      curated: await lakeDigest(engine, p.lake, datasetPrefix('curated', 'daily_city_stats'), 'numer_sta, day, observations, round(temperature_avg_c, 6)'),
    }),
  },
};

/** A pipeline's tables and lake digests, plus `files`: per original name, how many rows the files table holds. */
export type Snapshot = Record<string, Row[]>;

/**
 * Everything a user sees of a pipeline's tables and lake. The files table is checked for consistency here:
 * each of its rows belongs to a run that succeeded. Tables a failed first run never created read as empty.
 */
export async function snapshotOf(home: string, env: PlatformEnv, pipeline: FaultPipeline): Promise<Snapshot> {
  const engine = await DuckSession.open();
  try {
    return await withPlatform(
      home,
      async (p) => {
        const orphans = await p.warehouse.query(
          `SELECT f.original_name, r.status FROM files f LEFT JOIN runs r ON r.run_id = f.run_id WHERE f.pipeline = $1 AND (r.status IS NULL OR r.status <> 'succeeded')`,
          [pipeline],
        );
        if (orphans.length > 0) throw new Error(`files recorded for runs that did not succeed: ${JSON.stringify(orphans)}`);
        const view = VIEWS[pipeline];
        const tables = await p.warehouse.query(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN (${view.tables.map((t) => `'${t}'`).join(', ')})`,
        );
        const created = tables.length === view.tables.length;
        const seen = created ? await view.read(p, engine) : Object.fromEntries(view.keys.map((k) => [k, [] as Row[]]));
        return {
          ...seen,
          files: await p.warehouse.query(
            `SELECT original_name, count(*) AS n, min(status) AS status FROM files WHERE pipeline = $1 GROUP BY original_name ORDER BY original_name`,
            [pipeline],
          ),
        };
      },
      env,
    );
  } finally {
    engine.close();
  }
}

export function stationsSnapshot(home: string, env: PlatformEnv): Promise<Snapshot> {
  return snapshotOf(home, env, 'stations');
}

/** The home's runs, oldest first. */
export function runsOf(home: string, env: PlatformEnv): Promise<Row[]> {
  return withPlatform(home, (p) => p.warehouse.query(`SELECT run_id, status, error, rows_written FROM runs ORDER BY run_id`), env);
}
