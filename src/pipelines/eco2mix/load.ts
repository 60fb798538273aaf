/**
 * The eco2mix run's engine and warehouse work: the batch of typed records → `run_chain` (per key, the
 * records a run applies, in delivery order) → `regional_observations` and its history in the warehouse,
 * and the lake's staging months. The precedence rule is applied twice, with the same SQL shape: against
 * the warehouse (the reference, in its transaction) and against the lake's months (rewritten before the
 * commit), so that both hold the same rows; docs/pipelines/eco2mix.md.
 */
import { ECO2MIX_NATURES, ECO2MIX_SOURCES } from '../../connectors/opendatasoft/eco2mix/fields.js';
import { readCsvSql } from '../../engine/bulk.js';
import { literal, type DuckSession } from '../../engine/duckdb.js';
import { datasetPrefix } from '../../lake/layout.js';
import { withLocalFiles } from '../../lake/localFiles.js';
import type { ObjectStore } from '../../lake/objectStore.js';
import { createRunRejects } from '../../quality/runRejects.js';
import { columnNames, quoteIdent } from '../../warehouse/dataset.js';
import type { SqlParam, Warehouse } from '../../warehouse/warehouse.js';
import { existingMonthKeys, rewriteMonthPartitions, type MonthDataset } from '../kit/monthPartitions.js';
import type { PipelineDataset } from '../kit/pipeline.js';
import { createStatsTables, ENERGY_STATS_LAKE, REGIONAL_ENERGY_STATS, type StagingSource } from './curated.js';
import { natureRank, REGIONAL_OBSERVATIONS, REGIONAL_OBSERVATIONS_HISTORY } from './schema.js';

const OBS_COLUMNS = columnNames(REGIONAL_OBSERVATIONS);
const OBS_LIST = OBS_COLUMNS.map(quoteIdent).join(', ');
/** The columns a reader gives; `run_id` and `loaded_at` are the run's. */
const READ_COLUMNS = OBS_COLUMNS.filter((c) => c !== 'run_id' && c !== 'loaded_at');
const TYPES = new Map(REGIONAL_OBSERVATIONS.columns);

/** The batch CSV: arrival order (file_seq, seq), then what the readers gave, in READ_COLUMNS order. */
const BATCH_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['file_seq', 'INTEGER'],
  ['seq', 'BIGINT'],
  ...READ_COLUMNS.map((c) => [c, TYPES.get(c) === 'DOUBLE PRECISION' ? 'DOUBLE' : (TYPES.get(c) as string)] as const),
];
// stage.ts writes the cells in this order: the two must never drift apart.
if (READ_COLUMNS.join() !== ['region_code', 'observed_at', 'region_name', 'nature', ...ECO2MIX_SOURCES, 'raw_file'].join()) {
  throw new Error('eco2mix: the batch layout differs from regional_observations');
}

/**
 * The run's own database, attached to the engine (as synop's): a DuckDB warehouse's session sees its
 * tables, and a server's engine drops them all at once with it.
 */
const RUN_DB = 'ecluse_eco2mix_run';
export const BATCH = `${RUN_DB}.eco2mix_batch`;
/** Per key, the records the run applies: the first delivered, then each later one of a strictly better nature. */
const RUN_CHAIN = `${RUN_DB}.run_chain`;
/**
 * The run's best record per key that the lake does not hold with the same or a better nature. Temporary:
 * made inside the run's transaction, which on a DuckDB warehouse may write to one attached database only.
 */
const LAKE_WINNERS = 'eco2mix_lake_winners';
/** The warehouse's copy of `run_chain`, in the run's transaction (a temporary table of its connection). */
const INCOMING = 'eco2mix_incoming';

/** SQL ranking a nature column; `natureSql(i)` spells the i-th nature (a literal in the engine, a parameter in the warehouse). */
function rankSql(column: string, natureSql: (i: number) => string): string {
  return `(CASE ${column} ${ECO2MIX_NATURES.map((n, i) => `WHEN ${natureSql(i)} THEN ${natureRank(n)}`).join(' ')} ELSE 0 END)`;
}
const engineRank = (column: string) => rankSql(column, (i) => literal(ECO2MIX_NATURES[i] as string));
/** The warehouse statements' first parameters: the natures. */
const warehouseRank = (column: string) => rankSql(column, (i) => `$${i + 1}`);
const NATURE_PARAMS: SqlParam[] = [...ECO2MIX_NATURES];

export async function createEco2mixTables(warehouse: Warehouse): Promise<void> {
  await warehouse.ensureDataset(REGIONAL_OBSERVATIONS);
  await warehouse.ensureDataset(REGIONAL_OBSERVATIONS_HISTORY);
  await createStatsTables(warehouse);
}

/** The run's engine tables: the batch and `run_rejects` (the kit's commit reads it). */
export async function createRunTables(s: DuckSession): Promise<void> {
  await dropRunTables(s);
  await s.run(`ATTACH ':memory:' AS ${RUN_DB}`);
  await s.run(`CREATE TABLE ${BATCH} (${BATCH_COLUMNS.map(([c, t]) => `${quoteIdent(c)} ${t}`).join(', ')})`);
  await createRunRejects(s);
}

export async function dropRunTables(s: DuckSession): Promise<void> {
  await s.run(`DROP TABLE IF EXISTS ${LAKE_WINNERS}`);
  await s.run(`DETACH DATABASE IF EXISTS ${RUN_DB}`);
}

export async function loadBatchFile(s: DuckSession, path: string): Promise<void> {
  await s.run(`INSERT INTO ${BATCH} SELECT * FROM ${readCsvSql(path, BATCH_COLUMNS)}`);
}

/**
 * `run_chain`: for each key, the run's records in delivery order that raise its nature (the first one,
 * then each one better than all before it), the last flagged `is_last`. Applying the chain is what loading
 * the run's files one after the other would do; a rebuild, which replays the raw zone as one run, thus
 * writes the history the runs wrote. The other records are duplicates: same or lower nature than an
 * earlier one (the spring DST day's repeated instants among them), and not kept.
 */
export async function buildRunChain(s: DuckSession, runId: number, loadedAt: Date): Promise<{ duplicates: number }> {
  const key = 'region_code, observed_at';
  const stamp = literal(loadedAt.toISOString().slice(0, 23).replace('T', ' '));
  const cols = `${READ_COLUMNS.map(quoteIdent).join(', ')}, CAST(${literal(String(runId))} AS BIGINT) AS run_id, CAST(${stamp} AS TIMESTAMP) AS loaded_at`;
  // Only the keys the run holds more than once need the windows (and their sort): the others are their
  // own chain, last included. A first load of 13 years repeats a few hundred keys of 2.7M.
  await s.run(`CREATE TABLE ${RUN_CHAIN} AS
    WITH repeated AS (SELECT region_code, observed_at FROM ${BATCH} GROUP BY region_code, observed_at HAVING count(*) > 1)
    SELECT ${cols}, ${engineRank('nature')} AS nature_rank, true AS is_last
    FROM ${BATCH} b ANTI JOIN repeated r ON r.region_code = b.region_code AND r.observed_at = b.observed_at
    UNION ALL
    SELECT ${cols}, nature_rank, row_number() OVER (PARTITION BY ${key} ORDER BY nature_rank DESC) = 1 AS is_last
    FROM (
      SELECT *, max(nature_rank) OVER (PARTITION BY ${key} ORDER BY file_seq, seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before_max
      FROM (SELECT b.*, ${engineRank('b.nature')} AS nature_rank FROM ${BATCH} b SEMI JOIN repeated r ON r.region_code = b.region_code AND r.observed_at = b.observed_at)
    )
    WHERE before_max IS NULL OR nature_rank > before_max`);
  const [counts] = await s.rows<{ batch: bigint; chain: bigint }>(
    `SELECT (SELECT count(*) FROM ${BATCH}) AS batch, (SELECT count(*) FROM ${RUN_CHAIN}) AS chain`,
  );
  // Nothing reads the batch after this: its memory (a copy of every record) goes back before the load.
  await s.run(`DROP TABLE ${BATCH}`);
  return { duplicates: Number(counts?.batch ?? 0n) - Number(counts?.chain ?? 0n) };
}

/** What applying the run changed in the warehouse. */
export interface AppliedRun {
  /** Rows inserted into `regional_observations` (new keys and superseding rows). */
  written: number;
  /** Rows moved to the history (the warehouse's own, and the run's records superseded within the run). */
  superseded: number;
}

/**
 * Applies `run_chain` to the warehouse, inside the run's transaction: for each key, the chain's records
 * better than the row in place (if any) win in order; every row they replace goes to the history with
 * the run and time, the last one goes to `regional_observations`. A chain no better than the row in place
 * writes nothing (a key's first value is kept for a same or lower nature).
 */
export async function applyToWarehouse(warehouse: Warehouse, s: DuckSession, runId: number, at: Date): Promise<AppliedRun> {
  const [range] = await s.rows<{ first: Date | null; last: Date | null }>(`SELECT min(observed_at) AS first, max(observed_at) AS last FROM ${RUN_CHAIN}`);
  if (!range?.first || !range.last) return { written: 0, superseded: 0 };
  const stamp = (d: Date) => d.toISOString().slice(0, 23).replace('T', ' ');
  const [inPlace] = await warehouse.query(
    `SELECT 1 AS found FROM regional_observations WHERE observed_at >= CAST($1 AS TIMESTAMP) AND observed_at <= CAST($2 AS TIMESTAMP) LIMIT 1`,
    [stamp(range.first), stamp(range.last)],
  );
  if (!inPlace) return applyToEmptyRange(warehouse, s, runId, at);
  const chainCols = [...OBS_COLUMNS, 'nature_rank', 'is_last'];
  await warehouse.execute(`DROP TABLE IF EXISTS ${INCOMING}`);
  await warehouse.execute(
    `CREATE TEMP TABLE ${INCOMING} (${[...REGIONAL_OBSERVATIONS.columns, ['nature_rank', 'INTEGER'], ['is_last', 'BOOLEAN']]
      .map(([c, t]) => `${quoteIdent(c as string)} ${t as string}`)
      .join(', ')})`,
  );
  try {
    const offered = await warehouse.appendFromEngine(INCOMING, chainCols, s, `SELECT ${chainCols.map(quoteIdent).join(', ')} FROM ${RUN_CHAIN}`);
    if (offered === 0) return { written: 0, superseded: 0 };
    const params: SqlParam[] = [...NATURE_PARAMS, at.toISOString().slice(0, 23).replace('T', ' '), runId];
    const when = `CAST($${NATURE_PARAMS.length + 1} AS TIMESTAMP), CAST($${NATURE_PARAMS.length + 2} AS BIGINT)`;
    const sameKey = (a: string, b: string) => `${a}.region_code = ${b}.region_code AND ${a}.observed_at = ${b}.observed_at`;
    const histCols = [...OBS_COLUMNS, 'nature_rank', 'superseded_at', 'superseded_by_run'].map(quoteIdent).join(', ');
    const obsOf = (alias: string) => OBS_COLUMNS.map((c) => `${alias}.${quoteIdent(c)}`).join(', ');
    // The run's own superseded records first, while the rows in place still say what they beat.
    const inRun = await warehouse.execute(
      `INSERT INTO regional_observations_history (${histCols})
       SELECT ${obsOf('i')}, i.nature_rank, ${when} FROM ${INCOMING} i
       WHERE NOT i.is_last AND NOT EXISTS (
         SELECT 1 FROM regional_observations o WHERE ${sameKey('o', 'i')} AND ${warehouseRank('o.nature')} >= i.nature_rank)`,
      params,
    );
    const inPlace = await warehouse.execute(
      `INSERT INTO regional_observations_history (${histCols})
       SELECT ${obsOf('o')}, ${warehouseRank('o.nature')}, ${when}
       FROM regional_observations o JOIN ${INCOMING} i ON ${sameKey('o', 'i')} AND i.is_last
       WHERE i.nature_rank > ${warehouseRank('o.nature')}`,
      params,
    );
    if (inPlace > 0) {
      await warehouse.execute(
        `DELETE FROM regional_observations WHERE EXISTS (
           SELECT 1 FROM ${INCOMING} i WHERE i.is_last AND ${sameKey('i', 'regional_observations')}
             AND i.nature_rank > ${warehouseRank('regional_observations.nature')})`,
        NATURE_PARAMS,
      );
    }
    const written = await warehouse.execute(
      `INSERT INTO regional_observations (${OBS_LIST})
       SELECT ${obsOf('i')} FROM ${INCOMING} i
       WHERE i.is_last AND NOT EXISTS (SELECT 1 FROM regional_observations o WHERE ${sameKey('o', 'i')})`,
    );
    return { written, superseded: inRun + inPlace };
  } finally {
    await warehouse.execute(`DROP TABLE IF EXISTS ${INCOMING}`);
  }
}

/**
 * `applyToWarehouse` when the warehouse has no row in the run's time range (a first load, a backfill of
 * new months): every chain's last record is new, and every other one was superseded within the run, so
 * both go straight from the engine to their tables, without the temporary copy and the joins.
 */
async function applyToEmptyRange(warehouse: Warehouse, s: DuckSession, runId: number, at: Date): Promise<AppliedRun> {
  const written = await warehouse.appendFromEngine(REGIONAL_OBSERVATIONS.name, OBS_COLUMNS, s, `SELECT ${OBS_LIST} FROM ${RUN_CHAIN} WHERE is_last`);
  const histCols = [...OBS_COLUMNS, 'nature_rank', 'superseded_at', 'superseded_by_run'];
  const when = `CAST(${literal(at.toISOString().slice(0, 23).replace('T', ' '))} AS TIMESTAMP), CAST(${literal(String(runId))} AS BIGINT)`;
  const superseded = await warehouse.appendFromEngine(
    REGIONAL_OBSERVATIONS_HISTORY.name,
    histCols,
    s,
    `SELECT ${OBS_LIST}, nature_rank, ${when} FROM ${RUN_CHAIN} WHERE NOT is_last`,
  );
  return { written, superseded };
}

/** The lake's `staging/regional_observations/`: one file per UTC month, rows by region then time. */
const OBSERVATIONS_LAKE: MonthDataset = {
  prefix: datasetPrefix('staging', REGIONAL_OBSERVATIONS.name),
  order: ['region_code', 'observed_at'],
  month: `strftime(observed_at, '%Y-%m')`,
};

/**
 * Rewrites the staging months where the run's best records win against the lake's rows, by the warehouse's
 * rule: a key the month lacks, or holds with a lower nature, takes the run's row; the month's other rows
 * stay. (`firstWins` alone would keep a real-time row over its consolidated successor.) Returns the
 * months rewritten.
 */
export async function applyToLake(s: DuckSession, lake: ObjectStore, scratch: string): Promise<string[]> {
  const months = (await s.rows<{ month: string }>(`SELECT DISTINCT ${OBSERVATIONS_LAKE.month} AS month FROM ${RUN_CHAIN} WHERE is_last`)).map((r) => r.month);
  const keys = await existingMonthKeys(lake, OBSERVATIONS_LAKE, months);
  if (keys.length === 0) {
    // Months the lake does not hold yet (a first load, a backfill): the run's best records are the rows,
    // read where they are rather than copied first.
    return (
      await rewriteMonthPartitions(s, lake, OBSERVATIONS_LAKE, {
        rows: `(SELECT ${OBS_LIST} FROM ${RUN_CHAIN} WHERE is_last)`,
        existing: { replaceWhere: 'false' },
        scratch,
      })
    ).months;
  }
  await withLocalFiles(lake, keys, async (paths) => {
    const best = `SELECT ${OBS_LIST} FROM ${RUN_CHAIN} r WHERE r.is_last`;
    const beaten =
      paths.length === 0
        ? ''
        : ` AND NOT EXISTS (SELECT 1 FROM read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false) e
            WHERE e.region_code = r.region_code AND e.observed_at = r.observed_at AND ${engineRank('e.nature')} >= r.nature_rank)`;
    await s.run(`CREATE OR REPLACE TEMP TABLE ${LAKE_WINNERS} AS ${best}${beaten}`);
  });
  return (
    await rewriteMonthPartitions(s, lake, OBSERVATIONS_LAKE, {
      rows: LAKE_WINNERS,
      // The winners replace their keys' rows; every other row of the month stays as it was.
      existing: { replaceWhere: `EXISTS (SELECT 1 FROM ${LAKE_WINNERS} w WHERE w.region_code = e.region_code AND w.observed_at = e.observed_at)` },
      scratch,
    })
  ).months;
}

/** Where the curated statistics read the staging rows back, once `applyToLake` has rewritten the months. */
export const STATS_STAGING: StagingSource = { lake: OBSERVATIONS_LAKE, runRows: RUN_CHAIN };

/**
 * The pipeline's datasets. The history lives in the warehouse only: the raw zone keeps every delivery.
 * The view `regional_energy_stats_latest` is not one: it follows its table (a reset deletes rows, and a
 * view has none to delete).
 */
export const ECO2MIX_DATASETS: readonly PipelineDataset[] = [
  { table: REGIONAL_OBSERVATIONS.name, key: REGIONAL_OBSERVATIONS.primaryKey, lake: [OBSERVATIONS_LAKE.prefix] },
  { table: REGIONAL_OBSERVATIONS_HISTORY.name, key: REGIONAL_OBSERVATIONS_HISTORY.primaryKey, lake: [] },
  { table: REGIONAL_ENERGY_STATS.name, key: REGIONAL_ENERGY_STATS.primaryKey, lake: [ENERGY_STATS_LAKE.prefix] },
];
