/**
 * Curated `regional_energy_stats`: per region × source × period (grains `hour` and `day`, a day being a
 * Europe/Paris calendar day of 23, 24 or 25 hours), recomputed in the engine from the staging rows of the
 * days a run touched, and appended to the warehouse only where the values differ from the key's latest row
 * (append-only, as the system it replaces; docs/pipelines/eco2mix.md).
 */
import { ECO2MIX_NATURES, ECO2MIX_REGIONS, ECO2MIX_SOURCES, type Eco2mixSource } from '../../connectors/opendatasoft/eco2mix/fields.js';
import { literal, type DuckSession } from '../../engine/duckdb.js';
import { datasetPrefix } from '../../lake/layout.js';
import { withLocalFiles } from '../../lake/localFiles.js';
import type { ObjectStore } from '../../lake/objectStore.js';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';
import { columnNames, quoteIdent, type Dataset } from '../../warehouse/dataset.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import { existingMonthKeys, rewriteMonthPartitions, type MonthDataset } from '../kit/monthPartitions.js';
import { natureRank } from './schema.js';

/** The local calendar of the `day` grain. */
const STATS_TIME_ZONE = DEFAULT_TIME_ZONE;

/** The region code of the national totals: the sum of the 12 regions, at the instants all of them have. */
const NATIONAL = 'FR';

/**
 * Sources whose energy is a share of the consumption's. Consumption itself, pumping and battery charge
 * (power drawn, not produced) and exchanges (signed flows across the region's border) get none.
 */
const PRODUCTION: readonly Eco2mixSource[] = [
  'thermal',
  'nuclear',
  'wind',
  'wind_onshore',
  'wind_offshore',
  'solar',
  'hydro',
  'bioenergy',
  'battery_discharge',
];

/** The figures a row carries: a recomputed row is appended only when one of them differs from the key's latest. */
const VALUE_COLUMNS = ['avg_mw', 'min_mw', 'max_mw', 'energy_mwh', 'samples', 'completeness', 'share_of_consumption', 'nature'] as const;
const KEY_COLUMNS = ['region_code', 'source', 'grain', 'period'] as const;

export const REGIONAL_ENERGY_STATS: Dataset = {
  name: 'regional_energy_stats',
  columns: [
    ['region_code', 'VARCHAR'],
    ['source', 'VARCHAR'],
    ['grain', 'VARCHAR'],
    // `YYYY-MM-DD` (the local day) for `day`, `YYYY-MM-DDTHH:MM:SSZ` (the hour's UTC start) for `hour`: what the API gives.
    ['period', 'VARCHAR'],
    // The period's first UTC instant, for range queries on either grain.
    ['period_start', 'TIMESTAMP'],
    ['avg_mw', 'DOUBLE PRECISION'],
    ['min_mw', 'DOUBLE PRECISION'],
    ['max_mw', 'DOUBLE PRECISION'],
    ['energy_mwh', 'DOUBLE PRECISION'],
    ['samples', 'INTEGER'],
    ['completeness', 'DOUBLE PRECISION'],
    ['share_of_consumption', 'DOUBLE PRECISION'],
    ['nature', 'VARCHAR'],
    ['processed_at', 'TIMESTAMP'],
    ['run_id', 'BIGINT'],
  ],
  // Append-only: a key has one row per run that changed its values.
  primaryKey: [...KEY_COLUMNS, 'run_id'],
  required: ['period_start', 'samples', 'processed_at'],
};

const STATS_COLUMNS = columnNames(REGIONAL_ENERGY_STATS);
const STATS_LIST = STATS_COLUMNS.map(quoteIdent).join(', ');
const LATEST_VIEW = 'regional_energy_stats_latest';

/**
 * The latest row of each key. Ordered by `run_id` rather than `processed_at`: run ids only grow, whereas
 * two runs' clocks could tie. Plain SQL both DuckDB and PostgreSQL run as written.
 */
const LATEST_SQL = `SELECT ${STATS_LIST} FROM (
    SELECT ${STATS_LIST}, row_number() OVER (PARTITION BY ${KEY_COLUMNS.join(', ')} ORDER BY run_id DESC) AS rn
    FROM regional_energy_stats) s
  WHERE rn = 1`;

export async function createStatsTables(warehouse: Warehouse): Promise<void> {
  await warehouse.ensureDataset(REGIONAL_ENERGY_STATS);
  await warehouse.execute(`CREATE OR REPLACE VIEW ${LATEST_VIEW} AS ${LATEST_SQL}`);
}

const CONSOLIDATED_RANK = natureRank('Données consolidées');

/**
 * The hours one sample stands for: real-time records come every 15 minutes, consolidated and definitive
 * ones every 30. A record without a readable nature (rank 0) is taken as real-time, the finer pace, so that
 * it never counts for more than it may.
 */
function sampleHoursSql(rank: string): string {
  return `(CASE WHEN ${rank} >= ${CONSOLIDATED_RANK} THEN 0.5 ELSE 0.25 END)`;
}

function natureOfRankSql(rank: string): string {
  return `(CASE ${rank} ${ECO2MIX_NATURES.map((n) => `WHEN ${natureRank(n)} THEN ${literal(n)}`).join(' ')} ELSE NULL END)`;
}

function rankOfNatureSql(column: string): string {
  return `(CASE ${column} ${ECO2MIX_NATURES.map((n) => `WHEN ${literal(n)} THEN ${natureRank(n)}`).join(' ')} ELSE 0 END)`;
}

/**
 * DuckDB SQL computing both grains over the staging rows `source` (`region_code`, `observed_at` UTC,
 * `nature` and the source columns). Figures are time-weighted: `energy_mwh` = Σ MW × sample hours,
 * `avg_mw` = energy ÷ hours covered (the plain mean when every sample has the same length),
 * `completeness` = hours covered ÷ the period's hours (a 23-hour day expects 92 real-time samples or 46
 * consolidated ones). Energies are summed as exact decimals so the same samples always give the same figures, and the
 * derived figures are rounded to 6 decimals, so a recomputation compares equal to the row it repeats.
 */
function energyStatsSql(source: string, runId: number, processedAt: Date, timeZone = STATS_TIME_ZONE): string {
  const tz = literal(timeZone);
  const stamp = literal(processedAt.toISOString().slice(0, 23).replace('T', ' '));
  const dayStart = `timezone('UTC', timezone(${tz}, day::TIMESTAMP))`;
  const dayHours = `(epoch(timezone(${tz}, (day + 1)::TIMESTAMP)) - epoch(timezone(${tz}, day::TIMESTAMP))) / 3600`;
  const src = ECO2MIX_SOURCES.map((name, i) => ({ name, s: quoteIdent(name), i, production: PRODUCTION.includes(name) }));
  const bucket = (alias: string) => `time_bucket(INTERVAL 30 MINUTE, ${alias}.observed_at)`;
  // One row per region and hour, the sources side by side: 1.4M groups for 13 years instead of 18M
  // (region × source × hour). Energy summed as an exact decimal: the same samples give the same total in
  // any order, without an ordered aggregate (which held every group's values: ~19 GB for 13 years).
  const hourAggs = src
    .map(
      ({ s, i }) => `sum(CAST(${s} * sample_h AS DECIMAL(18, 6))) AS e_${i}, sum(sample_h) FILTER (WHERE ${s} IS NOT NULL) AS c_${i},
        min(${s}) AS lo_${i}, max(${s}) AS hi_${i}, count(${s}) AS n_${i}, min(nature_rank) FILTER (WHERE ${s} IS NOT NULL) AS r_${i}`,
    )
    .join(',\n        ');
  const dayAggs = src
    .map(
      ({ i }) => `sum(e_${i}) AS e_${i}, sum(c_${i}) AS c_${i}, min(lo_${i}) AS lo_${i}, max(hi_${i}) AS hi_${i}, sum(n_${i}) AS n_${i}, min(r_${i}) AS r_${i}`,
    )
    .join(', ');
  // The figures per source, still side by side; share_of_consumption against the same row's consumption.
  const figures = src
    .map(
      ({ i, production }) => `round(CAST(e_${i} AS DOUBLE) / c_${i}, 6) AS a_${i}, lo_${i}, hi_${i}, round(CAST(e_${i} AS DOUBLE), 6) AS en_${i},
        CAST(n_${i} AS INTEGER) AS n_${i}, round(c_${i} / hours, 6) AS cm_${i},
        ${production ? `round(CAST(e_${i} AS DOUBLE) / NULLIF(CAST(e_0 AS DOUBLE), 0), 6)` : 'CAST(NULL AS DOUBLE)'} AS sh_${i}, ${natureOfRankSql(`r_${i}`)} AS nat_${i}`,
    )
    .join(',\n      ');
  // INCLUDE NULLS: a row with any NULL figure (share_of_consumption often) would otherwise be dropped.
  const unpivotOn = src.map(({ name, i }) => `(a_${i}, lo_${i}, hi_${i}, en_${i}, n_${i}, cm_${i}, sh_${i}, nat_${i}) AS ${literal(name)}`).join(', ');
  return `
    WITH o AS (
      SELECT region_code, observed_at, own, ${rankOfNatureSql('nature')} AS nature_rank,
        CAST(timezone(${tz}, timezone('UTC', observed_at)) AS DATE) AS day,
        date_trunc('hour', observed_at) AS hour_start,
        ${src.map(({ s }) => s).join(', ')}
      FROM ${source}
    ), revised AS (
      SELECT DISTINCT region_code, ${bucket('o')} AS bucket FROM o WHERE nature_rank >= ${CONSOLIDATED_RANK}
    ), governed AS (
      -- A consolidated or definitive record stands for its whole half hour: the real-time records of that
      -- half hour (the :15 and :45 ones, which no consolidated record ever supersedes by key) drop out, so a
      -- revised day is not counted twice.
      SELECT * FROM o WHERE nature_rank >= ${CONSOLIDATED_RANK}
      UNION ALL
      SELECT o.* FROM o ANTI JOIN revised r ON r.region_code = o.region_code AND r.bucket = ${bucket('o')} WHERE o.nature_rank < ${CONSOLIDATED_RANK}
    ), national AS (
      -- France: an instant counts when every region has its row there (after the half-hour rule above), as
      -- the sum of the regions' values per source (NULL when none has one) and the lowest of their natures.
      -- Rounded like the derived figures: a sum of 12 values may differ in its last bits with their order.
      SELECT ${literal(NATIONAL)} AS region_code, observed_at, true AS own, min(nature_rank) AS nature_rank, any_value(day) AS day,
        any_value(hour_start) AS hour_start, ${src.map(({ s }) => `round(sum(${s}), 6) AS ${s}`).join(', ')}
      FROM governed GROUP BY observed_at HAVING count(*) = ${ECO2MIX_REGIONS.size}
    ), both_levels AS (
      SELECT *, ${sampleHoursSql('nature_rank')} AS sample_h FROM (SELECT * FROM governed WHERE own UNION ALL BY NAME SELECT * FROM national)
    ), hw AS MATERIALIZED (
      -- A UTC hour lies in one Paris day (the offsets are whole hours): the day grain adds up its hours.
      SELECT region_code, hour_start, any_value(day) AS day,
        ${hourAggs}
      FROM both_levels GROUP BY region_code, hour_start
    ), wide AS (
      SELECT region_code, 'hour' AS grain, strftime(hour_start, '%Y-%m-%dT%H:%M:%SZ') AS period, hour_start AS period_start, 1 AS hours, * EXCLUDE (region_code, hour_start, day)
      FROM hw
      UNION ALL BY NAME
      SELECT region_code, 'day' AS grain, strftime(day, '%Y-%m-%d') AS period, ${dayStart} AS period_start, ${dayHours} AS hours, * EXCLUDE (region_code, day)
      FROM (SELECT region_code, day, ${dayAggs} FROM hw GROUP BY region_code, day)
    ), figures AS (
      SELECT region_code, grain, period, period_start,
      ${figures}
      FROM wide
    )
    SELECT region_code, source, grain, period, period_start, avg_mw, min_mw, max_mw, energy_mwh, samples, completeness, share_of_consumption, nature,
      CAST(${stamp} AS TIMESTAMP) AS processed_at, CAST(${literal(String(runId))} AS BIGINT) AS run_id
    FROM figures UNPIVOT INCLUDE NULLS (
      (avg_mw, min_mw, max_mw, energy_mwh, samples, completeness, share_of_consumption, nature) FOR source IN (${unpivotOn}))
    WHERE samples > 0`;
}

/** The engine's table of the recomputed rows, and that of the days recomputed per region. */
const RUN_STATS = 'eco2mix_run_stats';
const RUN_DAYS = 'eco2mix_run_days';
/** The warehouse's copy of `RUN_STATS`, in the run's transaction. */
const INCOMING_STATS = 'eco2mix_incoming_stats';

/** Where the staging rows are read back from: the lake's months (the warehouse may be another server). */
export interface StagingSource {
  lake: MonthDataset;
  /** The engine table of the run's records (`region_code`, `observed_at`): the days they fall in are recomputed. */
  runRows: string;
}

/**
 * `RUN_STATS`: both grains of every (region, local day) from the first to the last day the run's records
 * fall in, over all the staging rows of those days, read back from the lake's months just rewritten. Every
 * delivered record counts, not only those that won: after a crash between the lake and the warehouse
 * commit, the next run must still recompute their days. Returns the number of rows computed.
 */
export async function computeEnergyStats(s: DuckSession, lake: ObjectStore, staging: StagingSource, runId: number, at: Date): Promise<number> {
  const tz = literal(STATS_TIME_ZONE);
  // The national totals of every day a region's records touch are recomputed too: one more range, `FR`'s,
  // from the first to the last of all the regions' days.
  await s.run(`CREATE OR REPLACE TEMP TABLE ${RUN_DAYS} AS
    WITH d AS (
      SELECT region_code, min(day) AS first_day, max(day) AS last_day
      FROM (SELECT region_code, CAST(timezone(${tz}, timezone('UTC', observed_at)) AS DATE) AS day FROM ${staging.runRows})
      GROUP BY region_code
    ), with_fr AS (
      SELECT * FROM d UNION ALL SELECT ${literal(NATIONAL)}, min(first_day), max(last_day) FROM d HAVING count(*) > 0
    )
    SELECT region_code, first_day, last_day,
      timezone('UTC', timezone(${tz}, first_day::TIMESTAMP)) AS start_utc,
      timezone('UTC', timezone(${tz}, (last_day + 1)::TIMESTAMP)) AS end_utc
    FROM with_fr`);
  const months = (
    await s.rows<{ month: string }>(
      `SELECT DISTINCT strftime(m, '%Y-%m') AS month FROM (
         SELECT unnest(range(date_trunc('month', start_utc), end_utc, INTERVAL 1 MONTH)) AS m FROM ${RUN_DAYS})`,
    )
  ).map((r) => r.month);
  const keys = await existingMonthKeys(lake, staging.lake, months);
  if (keys.length === 0) {
    await s.run(
      `CREATE OR REPLACE TEMP TABLE ${RUN_STATS} AS SELECT * FROM (${energyStatsSql(`(SELECT *, true AS own FROM ${staging.runRows} WHERE false)`, runId, at)})`,
    );
    return 0;
  }
  await withLocalFiles(lake, keys, async (paths) => {
    // Every region's rows in the national range; `own`: in the region's own recomputed days.
    const rows = `(SELECT o.*, r.region_code IS NOT NULL AS own FROM read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false) o
      JOIN ${RUN_DAYS} f ON f.region_code = ${literal(NATIONAL)} AND o.observed_at >= f.start_utc AND o.observed_at < f.end_utc
      LEFT JOIN ${RUN_DAYS} r ON o.region_code = r.region_code AND o.observed_at >= r.start_utc AND o.observed_at < r.end_utc)`;
    await s.run(`CREATE OR REPLACE TEMP TABLE ${RUN_STATS} AS ${energyStatsSql(rows, runId, at)}`);
  });
  const [n] = await s.rows<{ n: bigint }>(`SELECT count(*) AS n FROM ${RUN_STATS}`);
  return Number(n?.n ?? 0n);
}

/** SQL true when rows `a` and `b` carry the same figures (nulls equal). */
function sameValues(a: string, b: string): string {
  return VALUE_COLUMNS.map((c) => `${a}.${c} IS NOT DISTINCT FROM ${b}.${c}`).join(' AND ');
}
function sameKey(a: string, b: string): string {
  return KEY_COLUMNS.map((c) => `${a}.${c} = ${b}.${c}`).join(' AND ');
}

/**
 * Appends, in the run's transaction, the recomputed rows whose figures differ from their key's latest row
 * (or whose key is new). Returns the rows appended. The latest row is looked up per incoming key (the
 * primary key's index) rather than through the view, which ranks the whole table: a 15-minute update
 * touches a few hundred keys of millions.
 */
export async function appendEnergyStats(warehouse: Warehouse, s: DuckSession): Promise<number> {
  const [range] = await s.rows<{ first: Date | null; last: Date | null }>(`SELECT min(period_start) AS first, max(period_start) AS last FROM ${RUN_STATS}`);
  if (!range?.first || !range.last) return 0;
  const stamp = (d: Date) => d.toISOString().slice(0, 23).replace('T', ' ');
  const [held] = await warehouse.query(
    `SELECT 1 AS found FROM regional_energy_stats WHERE period_start >= CAST($1 AS TIMESTAMP) AND period_start <= CAST($2 AS TIMESTAMP) LIMIT 1`,
    [stamp(range.first), stamp(range.last)],
  );
  // No row in the recomputed periods (a first load, new months): every key is new, nothing to compare.
  // In time order: DuckDB's row groups then hold a span of periods each, which the bounds below prune by.
  if (!held) return warehouse.appendFromEngine(REGIONAL_ENERGY_STATS.name, STATS_COLUMNS, s, `SELECT ${STATS_LIST} FROM ${RUN_STATS} ORDER BY period_start`);
  await warehouse.execute(`DROP TABLE IF EXISTS ${INCOMING_STATS}`);
  await warehouse.execute(`CREATE TEMP TABLE ${INCOMING_STATS} (${REGIONAL_ENERGY_STATS.columns.map(([c, t]) => `${quoteIdent(c)} ${t}`).join(', ')})`);
  try {
    const offered = await warehouse.appendFromEngine(INCOMING_STATS, STATS_COLUMNS, s, `SELECT ${STATS_LIST} FROM ${RUN_STATS}`);
    if (offered === 0) return 0;
    // A key's rows share its period_start: bounding both lookups by the run's periods (constants) lets DuckDB
    // skip the row groups of other periods instead of joining the whole history (PostgreSQL uses its index).
    const within = (t: string) => `${t}.period_start >= CAST($1 AS TIMESTAMP) AND ${t}.period_start <= CAST($2 AS TIMESTAMP)`;
    return await warehouse.execute(
      `INSERT INTO regional_energy_stats (${STATS_LIST})
       SELECT ${STATS_COLUMNS.map((c) => `i.${quoteIdent(c)}`).join(', ')} FROM ${INCOMING_STATS} i
       WHERE NOT EXISTS (
         SELECT 1 FROM regional_energy_stats l WHERE ${within('l')} AND ${sameKey('l', 'i')} AND ${sameValues('l', 'i')}
           AND l.run_id = (SELECT max(m.run_id) FROM regional_energy_stats m WHERE ${within('m')} AND ${sameKey('m', 'i')}))`,
      [stamp(range.first), stamp(range.last)],
    );
  } finally {
    await warehouse.execute(`DROP TABLE IF EXISTS ${INCOMING_STATS}`);
  }
}

/**
 * The lake's `curated/regional_energy_stats/`: the latest row of each key (what an analyst reads; the
 * revisions are in the warehouse), one file per month of `period` (the local day's month for `day`, the
 * UTC month of the hour for `hour`).
 */
export const ENERGY_STATS_LAKE: MonthDataset = {
  prefix: datasetPrefix('curated', REGIONAL_ENERGY_STATS.name),
  // `period_start` orders a grain's periods as `period` does (the text is that instant's, or its local day's),
  // and sorts as one number instead of 20 characters: 16.6M rows for 13 years.
  order: ['region_code', 'source', 'grain', 'period_start'],
  month: `left(period, 7)`,
};

const LAKE_LATEST = 'eco2mix_lake_stats';

/**
 * Rewrites the curated months of the recomputed periods: a recomputed row equal to the month's row of its
 * key keeps that row (and its `processed_at`); otherwise it replaces it. Keys of the recomputed days that
 * no longer have samples lose their row. The months' other rows stay.
 */
export async function publishEnergyStats(s: DuckSession, lake: ObjectStore, scratch: string): Promise<string[]> {
  const months = (await s.rows<{ month: string }>(`SELECT DISTINCT ${ENERGY_STATS_LAKE.month} AS month FROM ${RUN_STATS}`)).map((r) => r.month);
  if (months.length === 0) return [];
  const keys = await existingMonthKeys(lake, ENERGY_STATS_LAKE, months);
  if (keys.length === 0) {
    // Months the lake does not hold yet: the recomputed rows are the months, read where they are.
    return (
      await rewriteMonthPartitions(s, lake, ENERGY_STATS_LAKE, {
        rows: `(SELECT ${STATS_LIST} FROM ${RUN_STATS})`,
        existing: { replaceWhere: 'false' },
        months,
        scratch,
      })
    ).months;
  }
  await withLocalFiles(lake, keys, async (paths) => {
    // One pass over the months: a recomputed row equal to the month's row of its key takes that row's
    // processed_at and run_id (the row kept), any other is the run's.
    const month = `(SELECT * FROM read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false)
      WHERE region_code IN (SELECT region_code FROM ${RUN_DAYS}))`;
    const cols = STATS_COLUMNS.map((c) =>
      c === 'processed_at' || c === 'run_id'
        ? `CASE WHEN e.region_code IS NULL THEN r.${quoteIdent(c)} ELSE e.${quoteIdent(c)} END AS ${quoteIdent(c)}`
        : `r.${quoteIdent(c)}`,
    );
    await s.run(
      `CREATE OR REPLACE TEMP TABLE ${LAKE_LATEST} AS SELECT ${cols.join(', ')} FROM ${RUN_STATS} r LEFT JOIN ${month} e ON ${sameKey('e', 'r')} AND ${sameValues('e', 'r')}`,
    );
  });
  // A row of a recomputed day (per region), of either grain, is replaced by the run's rows.
  const inRunDays = `EXISTS (SELECT 1 FROM ${RUN_DAYS} d WHERE d.region_code = e.region_code AND e.period_start >= d.start_utc AND e.period_start < d.end_utc)`;
  return (await rewriteMonthPartitions(s, lake, ENERGY_STATS_LAKE, { rows: LAKE_LATEST, existing: { replaceWhere: inRunDays }, months, scratch })).months;
}

export async function dropStatsTables(s: DuckSession): Promise<void> {
  for (const t of [RUN_STATS, RUN_DAYS, LAKE_LATEST]) await s.run(`DROP TABLE IF EXISTS ${t}`);
}
