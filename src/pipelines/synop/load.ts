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
import { writeParquetPartitions } from '../../engine/parquetPartitions.js';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';
import type { PipelineDataset } from '../kit/pipeline.js';

/** Calendar days of the curated table. */
export const STATS_TIME_ZONE = DEFAULT_TIME_ZONE;

const OBS_COLUMNS = columnNames(OBSERVATIONS);
const OBS_LIST = OBS_COLUMNS.map((c) => `"${c}"`).join(', ');

/** The batch CSV: arrival order (file_seq, seq), then the observation in SYNOP_COLUMNS order. */
const BATCH_COLUMNS: ReadonlyArray<readonly [string, string]> = [['file_seq', 'INTEGER'], ['seq', 'BIGINT'], ...OBSERVATIONS.columns];

/**
 * Station numbers become lake keys (`station=<numer_sta>`): anything beyond letters, digits, `_` and `-`
 * could escape or collide there, so such a record is rejected whole.
 */
export const STATION_KEY_PATTERN = '[0-9A-Za-z_-]{1,32}';
export const STATION_KEY = new RegExp(`^${STATION_KEY_PATTERN}$`);

/** True when the observation's station number can be a key; else it is rejected whole through `sink`. */
export function hasStationKey(sink: SynopRejectKeeper, obs: SynopObservation): boolean {
  if (STATION_KEY.test(obs.stationId)) return true;
  sink.rejectRecord(obs.loc, 'numer_sta', obs.stationId, 'not a station number (letters, digits, _ and - only)');
  return false;
}

/** The batch columns as an INSERT column list. */
export const BATCH_INSERT_COLUMNS = BATCH_COLUMNS.map(([c]) => `"${c}"`).join(', ');

/**
 * Memory one open partition of the staging COPY takes (~100 columns of buffers), measured: a year of 62
 * stations (744 partitions) in one COPY peaked at 1.4 GB RSS and failed under a 500 MB `memory_limit`,
 * 96 partitions per COPY passed.
 */
const BYTES_PER_OPEN_PARTITION = 5 * 1024 * 1024;

/**
 * Stations per COPY, so that their partitions fit `memoryLimit`: one COPY when they all fit (fastest: 744
 * partitions in one took 3.8 s, in groups of 96 7.3 s), else greedy groups of whole stations.
 */
export function stationGroups(partitionsByStation: ReadonlyMap<string, number>, memoryLimit: number): string[][] {
  const budget = Math.max(1, Math.floor(memoryLimit / BYTES_PER_OPEN_PARTITION));
  const groups: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const [station, n] of partitionsByStation) {
    if (current.length > 0 && size + n > budget) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(station);
    size += n;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

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
export function stageObservations(warehouse: Warehouse, s: DuckSession): Promise<number> {
  return warehouse.insertNew(OBSERVATIONS, s, `SELECT ${OBS_LIST} FROM ${RUN_OBS}`);
}

/**
 * Inserts the run's new observations into the warehouse and rewrites the lake's staging partitions they fall
 * in. With `concurrently`, the two run at once on two connections (`besideFork`). Under a memory budget
 * they run one after the other: together they overran a 300 MB `memory_limit` on a year.
 */
export async function loadObservations(
  warehouse: Warehouse,
  s: DuckSession,
  lake: ObjectStore,
  scratch: string,
  concurrently: boolean,
): Promise<{ written: number; published: PublishedPartitions }> {
  if (!concurrently) {
    const written = await stageObservations(warehouse, s);
    return { written, published: await publishObservationPartitions(s, lake, scratch) };
  }
  const writers = await s.threads();
  const [written, published] = await s.besideFork(
    () => stageObservations(warehouse, s),
    (other) => publishObservationPartitions(other, lake, scratch, writers),
  );
  return { written, published };
}

const STAGING_PREFIX = datasetPrefix('staging', OBSERVATIONS.name);
const CURATED_PREFIX = datasetPrefix('curated', DAILY_CITY_STATS.name);

function stagingKey(station: string, month: string): string {
  return `${STAGING_PREFIX}station=${station}/month=${month}/data.parquet`;
}

function curatedKey(station: string): string {
  return `${CURATED_PREFIX}station=${station}/data.parquet`;
}

function parquetList(paths: readonly string[]): string {
  return `read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false)`;
}

async function existingKeys(lake: ObjectStore, keys: readonly string[]): Promise<string[]> {
  const found = await Promise.all(keys.map(async (k) => ((await lake.exists(k)) ? k : null)));
  return found.filter((k): k is string => k !== null);
}

/** What `publishObservationPartitions` wrote. */
export interface PublishedPartitions {
  partitions: number;
  /** The (station, month) partitions the run's rows fall in. */
  touched: number;
  /**
   * Those that held nothing before, by staging key: each holds exactly the run's rows of its (station,
   * month), so the daily statistics need not read them back from the lake.
   */
  fresh: ReadonlyMap<string, { numer_sta: string; month: string }>;
}

/**
 * Rewrites, whole, the staging partitions (station, UTC month) the run's observations fall in: what a
 * partition holds wins over the run's rows, as in the warehouse. Runs before the warehouse commits: if the
 * process dies after this, the next run merges the same rows again and writes the same partitions.
 * Sorted: unsorted rows reach all the partitions at once, and past `partitioned_write_max_open_files`
 * DuckDB writes a second file for a partition; keeping them all open cost more than the sort (measured:
 * 12 s of CPU against 6.6 s for a year).
 */
export async function publishObservationPartitions(s: DuckSession, lake: ObjectStore, scratch: string, writers = 1): Promise<PublishedPartitions> {
  const touched = await s.rows<{ numer_sta: string; month: string }>(
    `SELECT DISTINCT numer_sta, strftime(observed_at, '%Y-%m') AS month FROM ${RUN_OBS} ORDER BY 1, 2`,
  );
  const partitions = new Map<string, number>();
  for (const t of touched) partitions.set(t.numer_sta, (partitions.get(t.numer_sta) ?? 0) + 1);
  // Each writer's share of the memory, and of the partitions so that the writers finish together.
  const evenShare = Math.ceil(touched.length / writers) * BYTES_PER_OPEN_PARTITION;
  const groups = stationGroups(partitions, Math.min((await s.memoryLimitBytes()) / writers, evenShare));
  let written = 0;
  const fresh = new Map<string, { numer_sta: string; month: string }>();
  const writeGroup = async (conn: DuckSession, stations: readonly string[], i: number) => {
    const group = new Set(stations);
    const inGroup = `numer_sta IN (${[...group].map(literal).join(', ')})`;
    const parts = touched.filter((t) => group.has(t.numer_sta)).map((t) => ({ key: stagingKey(t.numer_sta, t.month), part: t }));
    const existing = await existingKeys(
      lake,
      parts.map((p) => p.key),
    );
    const had = new Set(existing);
    for (const { key, part } of parts) if (!had.has(key)) fresh.set(key, part);
    written += await withLocalFiles(lake, existing, async (paths) => {
      const merged = paths.length
        ? `SELECT ${OBS_LIST} FROM (
             SELECT *, 0 AS prio FROM ${parquetList(paths)}
             UNION ALL BY NAME
             SELECT *, 1 AS prio FROM ${RUN_OBS} WHERE ${inGroup}
           ) QUALIFY row_number() OVER (PARTITION BY numer_sta, observed_at ORDER BY prio) = 1`
        : `SELECT ${OBS_LIST} FROM ${RUN_OBS} WHERE ${inGroup}`;
      return writeParquetPartitions(
        conn,
        lake,
        join(scratch, `staging-observations-${i}`),
        STAGING_PREFIX,
        `SELECT *, numer_sta AS station, strftime(observed_at, '%Y-%m') AS month FROM (${merged}) ORDER BY numer_sta, observed_at`,
        ['station', 'month'],
      );
    });
  };
  // DuckDB writes a partitioned COPY's files on one thread, and with ~100 columns a file costs ~5 ms
  // whatever its rows: several COPYs at once, each on its own connection, use the other cores.
  let next = 0;
  // After a failure no writer takes another group: a failed run stops writing partitions.
  let failed = false;
  const writer = async (conn: DuckSession) => {
    for (let i = next++; i < groups.length && !failed; i = next++) {
      try {
        await writeGroup(conn, groups[i] as string[], i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const forks = await Promise.all(Array.from({ length: Math.min(writers, groups.length) - 1 }, () => s.fork()));
  try {
    const done = await Promise.allSettled([writer(s), ...forks.map(writer)]);
    for (const d of done) if (d.status === 'rejected') throw d.reason;
  } finally {
    for (const f of forks) f.close();
  }
  return { partitions: written, touched: touched.length, fresh };
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
  published: Pick<PublishedPartitions, 'touched' | 'fresh'> = { touched: 0, fresh: new Map() },
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
  const keys = ranges.flatMap((r) => monthsBetween(r.start_utc, r.end_utc).map((m) => stagingKey(r.numer_sta, m)));
  // A partition the run just created holds the run's rows of its (station, month) and nothing else: those
  // come from run_obs (reading a year's 744 partitions back cost ~1 s of CPU); the others from the lake.
  const fromLake = (await existingKeys(lake, keys)).filter((k) => !fresh.has(k));
  const runFresh = ranges.length ? [...fresh.values()] : [];
  let fromRun: string | null = null;
  if (runFresh.length === published.touched && runFresh.length > 0) fromRun = `SELECT ${OBS_LIST} FROM ${RUN_OBS}`;
  else if (runFresh.length > 0) {
    const list = runFresh.map((p) => `(${literal(p.numer_sta)}, ${literal(p.month)})`).join(', ');
    fromRun = `SELECT ${OBS_LIST} FROM ${RUN_OBS} WHERE (numer_sta, strftime(observed_at, '%Y-%m')) IN (${list})`;
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

/**
 * Rewrites the curated partition of each station the run touched: its days outside the run's range as they
 * were, the range's days from `run_daily`.
 */
export async function publishDailyStatsPartitions(s: DuckSession, lake: ObjectStore, scratch: string, ranges: readonly DayRange[]): Promise<number> {
  if (ranges.length === 0) return 0;
  const existing = await existingKeys(
    lake,
    ranges.map((r) => curatedKey(r.numer_sta)),
  );
  return withLocalFiles(lake, existing, async (paths) => {
    const kept = paths.length
      ? `SELECT c.* FROM ${parquetList(paths)} c JOIN run_days r ON c.numer_sta = r.numer_sta
         WHERE c.day < r.first_day OR c.day > r.last_day
         UNION ALL BY NAME `
      : '';
    return writeParquetPartitions(
      s,
      lake,
      join(scratch, 'curated-daily'),
      CURATED_PREFIX,
      `SELECT *, numer_sta AS station FROM (${kept}SELECT * FROM run_daily) ORDER BY numer_sta, day`,
      ['station'],
    );
  });
}

/** The pipeline's datasets: warehouse tables and their lake prefixes (a reset empties both). */
export const SYNOP_DATASETS: readonly PipelineDataset[] = [
  { table: OBSERVATIONS.name, key: OBSERVATIONS.primaryKey, lake: [STAGING_PREFIX] },
  { table: DAILY_CITY_STATS.name, key: DAILY_CITY_STATS.primaryKey, lake: [CURATED_PREFIX] },
];
