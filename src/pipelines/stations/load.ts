import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { literal } from '../../engine/duckdb.js';
import type { DuckSession } from '../../engine/duckdb.js';
import { readCsvSql } from '../../engine/bulk.js';
import type { ObjectStore } from '../../lake/objectStore.js';
import { datasetPrefix } from '../../lake/layout.js';
import { withLocalFiles } from '../../lake/localFiles.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import { MEASURES, REPORTS, STATIONS, STATION_COLUMNS, type StationRow } from './schema.js';
import { createRunRejects } from '../../quality/runRejects.js';
import { writeParquetPartitions } from '../../engine/parquetPartitions.js';

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

/**
 * Rewrites, whole, the lake's staging partitions (station, month) the run's reports fall in: each is read,
 * merged with the run's reports (what the partition holds wins, as in the warehouse), and written as one
 * Parquet file under a temporary name, then swapped in. Runs before the warehouse commits: if the process
 * dies after publishing, the next run merges the same reports again and writes the same partitions.
 */
export async function publishReportPartitions(s: DuckSession, lake: ObjectStore, scratch: string): Promise<number> {
  const out = join(scratch, 'staging-reports');
  const prefix = datasetPrefix('staging', 'reports');
  const touched = await s.rows<{ station_id: string; month: string }>(
    `SELECT DISTINCT station_id, strftime(observed_at, '%Y-%m') AS month FROM ${RUN_REPORTS} ORDER BY 1, 2`,
  );
  if (touched.length === 0) return 0;
  const keyOf = (t: { station_id: string; month: string }) => `${prefix}station_id=${t.station_id}/month=${t.month}/data.parquet`;
  const existing = (await Promise.all(touched.map(async (t) => ((await lake.exists(keyOf(t))) ? keyOf(t) : null)))).filter((k): k is string => k !== null);
  const fresh = `SELECT *, strftime(observed_at, '%Y-%m') AS month FROM ${RUN_REPORTS}`;
  return withLocalFiles(lake, existing, async (paths) => {
    const merged = paths.length
      ? `SELECT * EXCLUDE (prio) FROM (
           SELECT *, 0 AS prio FROM read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false)
           UNION ALL BY NAME
           SELECT *, 1 AS prio FROM (${fresh})
         ) QUALIFY row_number() OVER (PARTITION BY station_id, observed_at ORDER BY prio) = 1`
      : fresh;
    return writeParquetPartitions(s, lake, out, prefix, `SELECT * FROM (${merged}) ORDER BY station_id, observed_at`, ['station_id', 'month'], {
      keepPartitionColumns: true,
    });
  });
}
