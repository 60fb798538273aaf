/**
 * The synop run's engine work: typed observations as CSV batches → `synop_batch` → `run_obs` (one row
 * per key) → the warehouse's `observations` and the lake's staging partitions; then the daily statistics
 * of the days the run touched, recomputed from the lake's staging rows, replacing what the warehouse and
 * the curated partitions held for those days.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readCsvSql } from '../../engine/bulk.js';
import { csvCell } from '../../engine/csvCell.js';
import { literal, type DuckSession } from '../../engine/duckdb.js';
import { datasetPrefix } from '../../lake/layout.js';
import { withLocalFiles } from '../../lake/localFiles.js';
import type { ObjectStore } from '../../lake/objectStore.js';
import { columnNames } from '../../warehouse/dataset.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import { SynopRejectKeeper, type SynopObservation } from './batch.js';
import { DAILY_CITY_STATS, dailyStatsSql } from './dailyStats.js';
import { OBSERVATIONS } from './schema.js';
import { createRunRejects } from '../../quality/runRejects.js';
import { existingMonthKeys, rewriteMonthPartitions, type MonthDataset, type RewrittenMonths } from '../kit/monthPartitions.js';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';
import type { PipelineDataset } from '../kit/pipeline.js';

/** Calendar days of the curated table. */
const STATS_TIME_ZONE = DEFAULT_TIME_ZONE;

const OBS_COLUMNS = columnNames(OBSERVATIONS);
const OBS_LIST = OBS_COLUMNS.map((c) => `"${c}"`).join(', ');

/** The batch CSV: arrival order (file_seq, seq), then the observation in SYNOP_COLUMNS order. */
const BATCH_COLUMNS: ReadonlyArray<readonly [string, string]> = [['file_seq', 'INTEGER'], ['seq', 'BIGINT'], ...OBSERVATIONS.columns];

/**
 * What a station number may be: it names a station in URLs (`/staging/cities/{city}`), file names and
 * queries, where anything beyond letters, digits, `_` and `-` could escape or collide, so a record with
 * another is rejected whole. Real WMO numbers are five digits.
 */
export const STATION_KEY_PATTERN = '[0-9A-Za-z_-]{1,32}';
const STATION_KEY = new RegExp(`^${STATION_KEY_PATTERN}$`);

/** True when the observation's station number can be a key; else it is rejected whole through `sink`. */
export function hasStationKey(sink: SynopRejectKeeper, obs: SynopObservation): boolean {
  if (STATION_KEY.test(obs.stationId)) return true;
  sink.rejectRecord(obs.loc, 'numer_sta', obs.stationId, 'not a station number (letters, digits, _ and - only)');
  return false;
}

/** The batch columns as an INSERT column list. */
export const BATCH_INSERT_COLUMNS = BATCH_COLUMNS.map(([c]) => `"${c}"`).join(', ');

/**
 * One batch line. Cells are joined from an array rather than appended to a string (as `csvLine` does):
 * a line built by `+=` is a tree of ~190 pieces that V8 flattens when the lines are written, which made
 * a year of observations (177k lines) take ~10 s instead of ~3.5 s.
 */
function batchLine(fileSeq: number, seq: number, obs: SynopObservation): string {
  const cells: string[] = [String(fileSeq), String(seq)];
  for (const v of obs.values) cells.push(csvCell(v));
  for (const v of obs.converted) cells.push(csvCell(v));
  return cells.join(',');
}

/** Flush the CSV lines past this size: a year of observations never sits in memory as text. */
const FLUSH_BYTES = 4 << 20;

/**
 * A sink writing the run's observations to one batch CSV as the readers produce them, keeping rejects and
 * the run-summary counters. Synchronous writes: the readers call the sink synchronously.
 */
export class SynopCsvSink extends SynopRejectKeeper {
  observations = 0;
  /** Lines in the batch CSV (the SQL read path's observations go to `synop_batch` directly). */
  csvRows = 0;
  private fileSeq = 0;
  private seq = 0;
  private lines: string[] = [];
  private size = 0;
  private readonly fd: number;

  constructor(readonly path: string) {
    super();
    this.fd = openSync(path, 'w');
  }

  /** The following records come from the run's file number `fileSeq` (its place in arrival order). */
  startFile(fileSeq: number): void {
    this.fileSeq = fileSeq;
    this.seq = 0;
  }

  /** The next observation's `seq` (the SQL read path numbers a file's rows by line). */
  atSeq(seq: number): void {
    this.seq = seq;
  }

  /** Counts `n` observations the SQL read path put into `synop_batch` itself. */
  countBulk(n: number): void {
    this.rowsRead += n;
    this.observations += n;
  }

  observation(obs: SynopObservation): void {
    if (!hasStationKey(this, obs)) return;
    this.countObservation();
    this.observations++;
    this.csvRows++;
    const line = batchLine(this.fileSeq, this.seq++, obs);
    this.lines.push(line);
    this.size += line.length;
    if (this.size > FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.lines.length) writeSync(this.fd, this.lines.join('\n') + '\n');
    this.lines = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export async function createSynopTables(warehouse: Warehouse): Promise<void> {
  await warehouse.ensureDataset(OBSERVATIONS);
  await warehouse.ensureDataset(DAILY_CITY_STATS);
}

/**
 * The run's own database, attached to the engine: a second connection of the same instance sees its tables
 * (temporary ones are private to their connection), so the staging Parquet is written from it while the
 * first connection inserts into the warehouse.
 */
const RUN_DB = 'ecluse_synop_run';
/** The run's typed observations in arrival order (file_seq, seq). */
export const SYNOP_BATCH = `${RUN_DB}.synop_batch`;
/** The run's observations, one per key (a view of the batch, or a de-duplicated table). */
export const RUN_OBS = `${RUN_DB}.run_obs`;

/**
 * The run's engine tables: `SYNOP_BATCH`, `run_rejects`. With `onDisk` (a folder), the run's database is a
 * file there, whose pages DuckDB can write out and evict under its `memory_limit`: a year's batch is ~200 MB.
 */
export async function createRunTables(s: DuckSession, onDisk?: string): Promise<void> {
  await dropRunTables(s);
  const file = onDisk ? join(onDisk, 'synop-run.duckdb') : null;
  // A run's database starts empty, whatever a killed run left in a folder reused.
  if (file) await Promise.all([rm(file, { force: true }), rm(`${file}.wal`, { force: true })]);
  await s.run(`ATTACH ${literal(file ?? ':memory:')} AS ${RUN_DB}`);
  // `dirty`: a line the SQL read path hands back to the TypeScript reader (deleted once read there).
  await s.run(`CREATE TABLE ${SYNOP_BATCH} (${BATCH_COLUMNS.map(([c, t]) => `"${c}" ${t}`).join(', ')}, dirty BOOLEAN)`);
  await createRunRejects(s);
}

/** Frees the run's database (a server's engine lives on from run to run). */
export async function dropRunTables(s: DuckSession): Promise<void> {
  await s.run(`DETACH DATABASE IF EXISTS ${RUN_DB}`);
}

export async function loadBatchFile(s: DuckSession, path: string): Promise<void> {
  await s.run(`INSERT INTO ${SYNOP_BATCH} (${BATCH_INSERT_COLUMNS}) SELECT * FROM ${readCsvSql(path, BATCH_COLUMNS)}`);
}

/** `run_obs`: the run's observations, one per key, the first delivered winning (file order, then record order). */
export async function collectRunObservations(s: DuckSession): Promise<void> {
  // Without duplicate keys (the usual case, checked by one aggregate) a view: de-duplicating 180k wide
  // rows by a window costs ~2 s, reading them again a few times far less.
  const dup = await s.scalar<boolean>(`SELECT count(*) <> count(DISTINCT (numer_sta, observed_at)) FROM ${SYNOP_BATCH}`);
  if (dup) {
    await s.run(`CREATE TABLE ${RUN_OBS} AS SELECT ${OBS_LIST} FROM ${SYNOP_BATCH}
      QUALIFY row_number() OVER (PARTITION BY numer_sta, observed_at ORDER BY file_seq, seq) = 1`);
  } else {
    await s.run(`CREATE VIEW ${RUN_OBS} AS SELECT ${OBS_LIST} FROM ${SYNOP_BATCH}`);
  }
}

/** Inserts the run's observations whose key is new: first value wins, an identical re-delivery writes nothing. */
function stageObservations(warehouse: Warehouse, s: DuckSession): Promise<number> {
  return warehouse.insertNew(OBSERVATIONS, s, `SELECT ${OBS_LIST} FROM ${RUN_OBS}`);
}

/**
 * Inserts the run's new observations into the warehouse and rewrites the lake's staging months they fall in.
 * With `concurrently`, the two run at once on two connections (`besideFork`). Under a memory budget they
 * run one after the other: together they overran a 300 MB `memory_limit` on a year.
 */
export async function loadObservations(
  warehouse: Warehouse,
  s: DuckSession,
  lake: ObjectStore,
  scratch: string,
  concurrently: boolean,
): Promise<{ written: number; published: RewrittenMonths }> {
  if (!concurrently) {
    const written = await stageObservations(warehouse, s);
    return { written, published: await publishObservationPartitions(s, lake, scratch) };
  }
  const [written, published] = await s.besideFork(
    () => stageObservations(warehouse, s),
    (other) => publishObservationPartitions(other, lake, scratch),
  );
  return { written, published };
}

/** The lake's `staging/observations/`: one file per UTC month, rows by station then time. */
const OBSERVATIONS_LAKE: MonthDataset = {
  prefix: datasetPrefix('staging', OBSERVATIONS.name),
  order: ['numer_sta', 'observed_at'],
  month: `strftime(observed_at, '%Y-%m')`,
};

/** The lake's `curated/daily_city_stats/`: one file per month of the local day, rows by station then day. */
const DAILY_STATS_LAKE: MonthDataset = {
  prefix: datasetPrefix('curated', DAILY_CITY_STATS.name),
  order: ['numer_sta', 'day'],
  month: `strftime(day, '%Y-%m')`,
};

/**
 * Rewrites, whole, the staging months the run's observations fall in: what a month holds wins over the run's
 * rows, as in the warehouse.
 */
function publishObservationPartitions(s: DuckSession, lake: ObjectStore, scratch: string): Promise<RewrittenMonths> {
  return rewriteMonthPartitions(s, lake, OBSERVATIONS_LAKE, { rows: RUN_OBS, existing: { firstWins: OBSERVATIONS_LAKE.order }, scratch });
}

function parquetList(paths: readonly string[]): string {
  return `read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false)`;
}

/** UTC months (`YYYY-MM`) from the one holding `from` to the one holding the instant just before `to`. */
function monthsBetween(from: Date, to: Date): string[] {
  const out: string[] = [];
  const last = new Date(to.getTime() - 1);
  let y = from.getUTCFullYear();
  let m = from.getUTCMonth();
  while (y < last.getUTCFullYear() || (y === last.getUTCFullYear() && m <= last.getUTCMonth())) {
    out.push(`${y}-${String(m + 1).padStart(2, '0')}`);
    m++;
    if (m === 12) {
      m = 0;
      y++;
    }
  }
  return out;
}

export interface DayRange {
  numer_sta: string;
  first_day: string;
  last_day: string;
}

/**
 * `run_daily`: the daily statistics of every (station, local day) from the first to the last day the run's
 * observations fall in, computed over all the staging rows of those days read back from the lake (the
 * partitions just written, plus neighbouring months a local day reaches into). The range covers every
 * delivered observation, not only the new ones: after a crash between the lake and the warehouse commit,
 * the rows are in the lake already but their days still need recomputing.
 */
export async function computeDailyStats(
  s: DuckSession,
  lake: ObjectStore,
  published: Pick<RewrittenMonths, 'months' | 'fresh'> = { months: [], fresh: new Set() },
): Promise<DayRange[]> {
  const { fresh } = published;
  const tz = literal(STATS_TIME_ZONE);
  await s.run(`CREATE OR REPLACE TEMP TABLE run_days AS
    SELECT numer_sta, first_day, last_day,
      timezone('UTC', timezone(${tz}, first_day::TIMESTAMP)) AS start_utc,
      timezone('UTC', timezone(${tz}, (last_day + 1)::TIMESTAMP)) AS end_utc
    FROM (
      SELECT numer_sta, min(day) AS first_day, max(day) AS last_day
      FROM (SELECT numer_sta, CAST(timezone(${tz}, timezone('UTC', observed_at)) AS DATE) AS day FROM ${RUN_OBS})
      GROUP BY numer_sta
    )`);
  const ranges = await s.rows<DayRange & { start_utc: Date; end_utc: Date }>(
    `SELECT numer_sta, strftime(first_day, '%Y-%m-%d') AS first_day, strftime(last_day, '%Y-%m-%d') AS last_day, start_utc, end_utc
     FROM run_days ORDER BY numer_sta`,
  );
  const months = new Set(ranges.flatMap((r) => monthsBetween(r.start_utc, r.end_utc)));
  // A month the run just created holds the run's rows of that month and nothing else: those come from
  // run_obs (reading a year back from the lake cost ~1 s of CPU); the other months from the lake.
  const fromLake = await existingMonthKeys(
    lake,
    OBSERVATIONS_LAKE,
    [...months].filter((m) => !fresh.has(m)),
  );
  const runFresh = ranges.length ? [...fresh] : [];
  let fromRun: string | null = null;
  if (runFresh.length === published.months.length && runFresh.length > 0) fromRun = `SELECT ${OBS_LIST} FROM ${RUN_OBS}`;
  else if (runFresh.length > 0) {
    fromRun = `SELECT ${OBS_LIST} FROM ${RUN_OBS} WHERE ${OBSERVATIONS_LAKE.month} IN (${runFresh.map(literal).join(', ')})`;
  }
  await withLocalFiles(lake, fromLake, async (paths) => {
    const fromFiles = paths.length
      ? `SELECT o.* FROM ${parquetList(paths)} o JOIN run_days r
           ON o.numer_sta = r.numer_sta AND o.observed_at >= r.start_utc AND o.observed_at < r.end_utc`
      : null;
    const parts = [fromFiles, fromRun].filter((p): p is string => p !== null);
    const rows = parts.length ? `(${parts.join(' UNION ALL BY NAME ')})` : `(SELECT * FROM ${RUN_OBS} WHERE false)`;
    await s.run(`CREATE OR REPLACE TEMP TABLE run_daily AS ${dailyStatsSql(rows, STATS_TIME_ZONE)}`);
  });
  return ranges.map(({ numer_sta, first_day, last_day }) => ({ numer_sta, first_day, last_day }));
}

/** Replaces the warehouse's daily statistics of the run's day ranges with `run_daily`: recompute, never append. */
export async function replaceDailyStats(warehouse: Warehouse, s: DuckSession, ranges: readonly DayRange[]): Promise<number> {
  // One statement for all the stations (a year touches 62): each statement is a round trip or more.
  if (ranges.length > 0) {
    const where = ranges.map((_, k) => `(numer_sta = $${3 * k + 1} AND day >= $${3 * k + 2}::DATE AND day <= $${3 * k + 3}::DATE)`);
    await warehouse.execute(
      `DELETE FROM daily_city_stats WHERE ${where.join(' OR ')}`,
      ranges.flatMap((r) => [r.numer_sta, r.first_day, r.last_day]),
    );
  }
  return warehouse.insertNew(DAILY_CITY_STATS, s, `SELECT * FROM run_daily ORDER BY numer_sta, day`);
}

/** Calendar months (`YYYY-MM`) from the one of day `first` to the one of day `last` (`YYYY-MM-DD`). */
function monthsOfDays(first: string, last: string): string[] {
  return monthsBetween(new Date(`${first.slice(0, 7)}-01T00:00:00Z`), new Date(`${last.slice(0, 7)}-02T00:00:00Z`));
}

/**
 * Rewrites the curated months the run's day ranges fall in: each station's days outside its range as they
 * were, the range's days from `run_daily`.
 */
export async function publishDailyStatsPartitions(s: DuckSession, lake: ObjectStore, scratch: string, ranges: readonly DayRange[]): Promise<number> {
  if (ranges.length === 0) return 0;
  const done = await rewriteMonthPartitions(s, lake, DAILY_STATS_LAKE, {
    rows: 'run_daily',
    existing: { replaceWhere: `EXISTS (SELECT 1 FROM run_days r WHERE r.numer_sta = e.numer_sta AND e.day BETWEEN r.first_day AND r.last_day)` },
    months: ranges.flatMap((r) => monthsOfDays(r.first_day, r.last_day)),
    scratch,
  });
  return done.written;
}

/** The pipeline's datasets: warehouse tables and their lake prefixes (a reset empties both). */
export const SYNOP_DATASETS: readonly PipelineDataset[] = [
  { table: OBSERVATIONS.name, key: OBSERVATIONS.primaryKey, lake: [OBSERVATIONS_LAKE.prefix] },
  { table: DAILY_CITY_STATS.name, key: DAILY_CITY_STATS.primaryKey, lake: [DAILY_STATS_LAKE.prefix] },
];
