import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { literal } from '../../engine/duckdb.js';
import type { DuckSession } from '../../engine/duckdb.js';
import { bulkInsert, readCsvSql } from '../../engine/bulk.js';
import type { ObjectStore } from '../../lake/objectStore.js';
import { datasetPrefix } from '../../lake/layout.js';
import { MEASURES, REPORTS_DDL, STATIONS_DDL, STATION_COLUMNS, type StationRow } from './schema.js';

/** Columns of the batch CSV written by ReportBatch, in order. */
const BATCH_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['file_seq', 'INTEGER'],
  ['seq', 'BIGINT'],
  ['station_id', 'VARCHAR'],
  ['observed_ms', 'BIGINT'],
  ...MEASURES.map((m) => [m, m === 'weather_code' ? 'INTEGER' : 'DOUBLE'] as const),
  ['source', 'VARCHAR'],
];

export async function createStationsTables(s: DuckSession): Promise<void> {
  await s.run(STATIONS_DDL);
  await s.run(REPORTS_DDL);
}

function rawKeysList(keys: readonly string[]): string {
  return keys.length ? `[${keys.map(literal).join(', ')}]::VARCHAR[]` : `[]::VARCHAR[]`;
}

/** Writes a batch's CSV lines where stageReports will read them. */
export async function writeBatchFile(path: string, lines: readonly string[]): Promise<void> {
  await writeFile(path, lines.length ? lines.join('\n') + '\n' : '');
}

/** The run's reports, typed and validated, in arrival order (file_seq, seq): CSV batches and the SQL fast path both land here. */
export async function createBatchTable(s: DuckSession): Promise<void> {
  await s.run(`CREATE OR REPLACE TEMP TABLE batch (${BATCH_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`);
}

export async function loadBatchFiles(s: DuckSession, batchFiles: readonly string[]): Promise<void> {
  if (batchFiles.length) await s.run(`INSERT INTO batch SELECT * FROM ${readCsvSql(batchFiles, BATCH_COLUMNS)}`);
}

/**
 * Stages the batch: inserts, per key, the first report that is not already in `reports` (first value wins;
 * an identical re-delivery writes nothing), and returns how many. `rawKeys[file_seq]` is each file's raw
 * key: new rows carry this run's keys, which is how the lake step finds the partitions they touched.
 */
export async function stageReports(s: DuckSession, rawKeys: readonly string[]): Promise<number> {
  const measures = MEASURES.join(', ');
  const result = await s.connection.run(`INSERT INTO reports (station_id, observed_at, ${measures}, source, raw_file)
    SELECT b.station_id, make_timestamp(b.observed_ms * 1000), ${MEASURES.map((m) => `b.${m}`).join(', ')}, b.source, f.raw_file
    FROM batch b
    JOIN (SELECT unnest(range(${rawKeys.length})::INTEGER[]) AS file_seq, unnest(${rawKeysList(rawKeys)}) AS raw_file) f ON f.file_seq = b.file_seq
    ANTI JOIN reports r ON r.station_id = b.station_id AND r.observed_at = make_timestamp(b.observed_ms * 1000)
    QUALIFY row_number() OVER (PARTITION BY b.station_id, b.observed_ms ORDER BY b.file_seq, b.seq) = 1`);
  return result.rowsChanged;
}

/** Inserts new stations and refreshes known ones (metadata may be corrected over time). */
export async function upsertStations(s: DuckSession, rows: readonly StationRow[], scratch: string): Promise<void> {
  if (rows.length === 0) return;
  await s.run(`DROP TABLE IF EXISTS new_stations`);
  await s.run(`CREATE TEMP TABLE new_stations AS SELECT * FROM stations LIMIT 0`);
  await bulkInsert(
    s,
    'new_stations',
    STATION_COLUMNS.map((c) => [c, ['latitude', 'longitude', 'elevation_m'].includes(c) ? 'DOUBLE' : 'VARCHAR'] as const),
    rows.map((r) => STATION_COLUMNS.map((c) => r[c])),
    scratch,
  );
  await s.run(`INSERT OR REPLACE INTO stations SELECT * FROM new_stations`);
}

/**
 * Rewrites, whole, the lake's staging partitions (station, month) that received new reports (rows whose
 * raw_file is one of this run's `rawKeys`): one Parquet
 * file per partition, written under a temporary name and swapped in. Runs inside the load transaction,
 * before commit: if the process dies after publishing, the next run rewrites the same partitions.
 */
export async function publishReportPartitions(s: DuckSession, lake: ObjectStore, scratch: string, rawKeys: readonly string[]): Promise<number> {
  const out = join(scratch, 'staging-reports');
  await mkdir(out, { recursive: true });
  await s.run(`CREATE OR REPLACE TEMP TABLE touched AS
    SELECT DISTINCT station_id, strftime(observed_at, '%Y-%m') AS month FROM reports WHERE list_contains(${rawKeysList(rawKeys)}, raw_file)`);
  const affected = Number(await s.scalar<bigint>(`SELECT count(*) FROM touched`));
  if (affected === 0) return 0;
  await s.run(`COPY (
      SELECT r.*, strftime(r.observed_at, '%Y-%m') AS month
      FROM reports r
      SEMI JOIN touched a
        ON r.station_id = a.station_id AND strftime(r.observed_at, '%Y-%m') = a.month
      ORDER BY r.station_id, r.observed_at
    ) TO ${literal(out)} (FORMAT parquet, PARTITION_BY (station_id, month), WRITE_PARTITION_COLUMNS true, OVERWRITE_OR_IGNORE true)`);
  const files = (await readdir(out, { recursive: true })).filter((f) => f.endsWith('.parquet'));
  const byPartition = new Map<string, string>();
  for (const f of files) {
    const dir = relative(out, join(out, f)).split(sep).slice(0, -1).join('/');
    if (byPartition.has(dir)) throw new Error(`DuckDB wrote more than one file for partition ${dir}`);
    byPartition.set(dir, join(out, f));
  }
  await Promise.all([...byPartition].map(([dir, path]) => lake.putFile(`${datasetPrefix('staging', 'reports')}${dir}/data.parquet`, path, { consume: true })));
  return byPartition.size;
}
