import { DuckSession, type Row } from '../../src/engine/duckdb.js';
import { datasetPrefix } from '../../src/lake/layout.js';
import type { ProgressEvent } from '../../src/orchestrator/pipeline.js';
import { executeRun } from '../../src/orchestrator/runner.js';
import { REPORTS } from '../../src/pipelines/stations/schema.js';
import { stationsPipeline } from '../../src/pipelines/stations/pipeline.js';
import type { RunSummary } from '../../src/warehouse/metadata.js';
import { lakeDigest } from './crash.js';
import { withPlatform, type PlatformEnv } from './platform.js';

/**
 * What the fault suites share: a stations run in this process (so that a fault can be injected at a chosen
 * step through the run's progress events), and what a user sees of its result, to compare with a clean run.
 */

/** Runs `ecluse run stations --input <inputs>` in process; `progress` sees every progress event. */
export function runStations(home: string, env: PlatformEnv, inputs: string[], progress?: (e: ProgressEvent) => void): Promise<RunSummary> {
  return withPlatform(home, (p) => executeRun(p, stationsPipeline, { inputs, trigger: 'cli' }, progress), env);
}

const REPORT_COLUMNS = REPORTS.columns.map(([c]) => c).filter((c) => c !== 'raw_file').join(', ');

export interface StationsSnapshot {
  reports: Row[];
  stations: Row[];
  /** Row count and hash sum of the staging partitions in the lake. */
  lake: Row[];
  /** Per file content: how many rows the files table holds (one each, all `loaded`), by original name. */
  files: Row[];
}

/**
 * Everything a user sees of the stations tables and the lake's staging zone; raw_file and run ids differ
 * between homes (arrival times), so they are left out. The files table is checked for consistency here:
 * each of its rows belongs to a run that succeeded.
 */
export async function stationsSnapshot(home: string, env: PlatformEnv): Promise<StationsSnapshot> {
  const engine = await DuckSession.open();
  try {
    return await withPlatform(
      home,
      async (p) => {
        const orphans = await p.warehouse.query(
          `SELECT f.original_name, r.status FROM files f LEFT JOIN runs r ON r.run_id = f.run_id WHERE f.pipeline = 'stations' AND (r.status IS NULL OR r.status <> 'succeeded')`,
        );
        if (orphans.length > 0) throw new Error(`files recorded for runs that did not succeed: ${JSON.stringify(orphans)}`);
        // A run that failed before its load may not have created the tables: empty, as a user sees them.
        const tables = await p.warehouse.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('reports', 'stations')`);
        const created = tables.length === 2;
        return {
          reports: created ? await p.warehouse.query(`SELECT ${REPORT_COLUMNS} FROM reports ORDER BY station_id, observed_at`) : [],
          stations: created ? await p.warehouse.query(`SELECT * FROM stations ORDER BY id`) : [],
          lake: await lakeDigest(engine, p.lake, datasetPrefix('staging', 'reports'), 'station_id, observed_at, temperature_c'),
          files: await p.warehouse.query(
            `SELECT original_name, count(*) AS n, min(status) AS status FROM files WHERE pipeline = 'stations' GROUP BY original_name ORDER BY original_name`,
          ),
        };
      },
      env,
    );
  } finally {
    engine.close();
  }
}

/** The home's runs, oldest first. */
export function runsOf(home: string, env: PlatformEnv): Promise<Row[]> {
  return withPlatform(home, (p) => p.warehouse.query(`SELECT run_id, status, error, rows_written FROM runs ORDER BY run_id`), env);
}
