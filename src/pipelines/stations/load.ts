import { writeFile } from 'node:fs/promises';
import { literal } from '../../engine/duckdb.js';
import type { DuckSession } from '../../engine/duckdb.js';
import { readCsvSql } from '../../engine/bulk.js';
import type { ObjectStore } from '../../lake/objectStore.js';
import { datasetPrefix } from '../../lake/layout.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import { MEASURES, REPORTS, STATIONS, STATION_COLUMNS, type StationRow } from './schema.js';
import { createRunRejects } from '../../quality/runRejects.js';
import { rewriteMonthPartitions, type MonthDataset } from '../kit/monthPartitions.js';

/** Columns of the batch CSV written by ReportBatch, in order. */
const BATCH_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['file_seq', 'INTEGER'],
  ['seq', 'BIGINT'],
  ['station_id', 'VARCHAR'],
  ['observed_ms', 'BIGINT'],
  ...MEASURES.map((m) => [m, m === 'weather_code' ? 'INTEGER' : 'DOUBLE'] as const),
  ['source', 'VARCHAR'],
];

export async function createStationsTables(warehouse: Warehouse): Promise<void> {
  await warehouse.ensureDataset(STATIONS);
  await warehouse.ensureDataset(REPORTS);
}

function rawKeysList(keys: readonly string[]): string {
  return keys.length ? `[${keys.map(literal).join(', ')}]::VARCHAR[]` : `[]::VARCHAR[]`;
}

/** Writes a batch's CSV lines where loadBatchFiles will read them. */
export async function writeBatchFile(path: string, lines: readonly string[]): Promise<void> {
  await writeFile(path, lines.length ? lines.join('\n') + '\n' : '');
}

/**
 * The run's engine tables: `batch`, its reports typed and validated in arrival order (file_seq, seq), where
 * CSV batches and the SQL fast path both land; `run_rejects`, its rejects in the warehouse's layout.
 */
export async function createRunTables(s: DuckSession): Promise<void> {
  await s.run(`CREATE OR REPLACE TEMP TABLE batch (${BATCH_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`);
  await createRunRejects(s);
  // Where the InfoClimat SQL path puts its good reports (stageInfoclimatDocs redefines it).
  await s.run(`CREATE OR REPLACE TEMP VIEW ic_batch AS SELECT * FROM batch WHERE false`);
}

export async function loadBatchFiles(s: DuckSession, batchFiles: readonly string[]): Promise<void> {
  if (batchFiles.length) await s.run(`INSERT INTO batch SELECT * FROM ${readCsvSql(batchFiles, BATCH_COLUMNS)}`);
}

/**
 * Where `collectRunReports` puts the run's reports: a table of an in-memory database attached to the
 * engine, not a temp table, so that a second connection of the same instance can write the lake's Parquet
 * from it while the first inserts into the warehouse (see `loadRunReports`).
 */
const RUN_DB = 'ecluse_stations_run';
const RUN_REPORTS = `${RUN_DB}.run_reports`;

/**
 * The run's reports (CSV batches and the InfoClimat SQL path) as `reports` rows, one per key: the first
 * delivered wins within the run. `rawKeys[file_seq]` is each file's raw key. Runs outside the warehouse's
 * transaction: DuckDB lets a transaction write to one database only. Without duplicate keys (the usual
 * case, checked by one aggregate) no window is needed.
 */
export async function collectRunReports(s: DuckSession, rawKeys: readonly string[]): Promise<void> {
  const all = `(SELECT * FROM batch UNION ALL SELECT * FROM ic_batch)`;
  const rows = `SELECT b.station_id, make_timestamp(b.observed_ms * 1000) AS observed_at, ${MEASURES.map((m) => `b.${m}`).join(', ')}, b.source, f.raw_file
    FROM ${all} b
    JOIN (SELECT unnest(range(${rawKeys.length})::INTEGER[]) AS file_seq, unnest(${rawKeysList(rawKeys)}) AS raw_file) f ON f.file_seq = b.file_seq`;
  await s.run(`ATTACH IF NOT EXISTS ':memory:' AS ${RUN_DB}`);
  const dup = await s.scalar<boolean>(`SELECT count(*) <> count(DISTINCT (station_id, observed_ms)) FROM ${all}`);
  await s.run(`CREATE OR REPLACE TABLE ${RUN_REPORTS} AS ${rows}
    ${dup ? 'QUALIFY row_number() OVER (PARTITION BY b.station_id, b.observed_ms ORDER BY b.file_seq, b.seq) = 1' : ''}`);
}

/** Frees what `collectRunReports` holds (the engine of a server lives on from run to run). */
export async function dropRunReports(s: DuckSession): Promise<void> {
  await s.run(`DETACH DATABASE IF EXISTS ${RUN_DB}`);
}

/**
 * Inserts the run's new reports into the warehouse (first value wins; an identical re-delivery writes
 * nothing) and, at the same time on a second connection, rewrites the lake's staging partitions they fall
 * in: each statement alone leaves one of the two cores idle much of the time. Returns the rows written.
 */
export async function loadRunReports(warehouse: Warehouse, s: DuckSession, lake: ObjectStore, scratch: string): Promise<number> {
  const [written] = await s.besideFork(
    () => warehouse.insertNew(REPORTS, s, `SELECT * FROM ${RUN_REPORTS}`),
    (other) => publishReportPartitions(other, lake, scratch),
  );
  return written;
}

/** Inserts new stations and refreshes known ones (metadata may be corrected over time). */
export async function upsertStations(warehouse: Warehouse, rows: readonly StationRow[]): Promise<void> {
  await warehouse.upsert(
    STATIONS,
    rows.map((r) => STATION_COLUMNS.map((c) => r[c])),
  );
}

/** The lake's `staging/reports/`: one file per UTC month, rows by station then time. */
export const REPORTS_LAKE: MonthDataset = {
  prefix: datasetPrefix('staging', 'reports'),
  order: ['station_id', 'observed_at'],
  month: `strftime(observed_at, '%Y-%m')`,
};

/**
 * Rewrites, whole, the lake's staging months the run's reports fall in: what a month holds wins over the
 * run's reports, as in the warehouse. Runs before the warehouse commits: if the process dies after
 * publishing, the next run merges the same reports again and writes the same files.
 */
async function publishReportPartitions(s: DuckSession, lake: ObjectStore, scratch: string): Promise<number> {
  const done = await rewriteMonthPartitions(s, lake, REPORTS_LAKE, { rows: RUN_REPORTS, existing: { firstWins: REPORTS_LAKE.order }, scratch });
  return done.written;
}
