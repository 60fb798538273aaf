/**
 * How every pipeline writes its staging and curated datasets to the lake: one Parquet file per month
 * (`<zone>/<dataset>/month=YYYY-MM/data.parquet`, lake/layout.ts), rows sorted by entity then time, each
 * touched month rewritten whole under a temporary name and swapped in (docs/ARCHITECTURE.md, _The lake's layout_).
 */
import { join } from 'node:path';
import { literal, type DuckSession } from '../../engine/duckdb.js';
import { writeParquetPartitions } from '../../engine/parquetPartitions.js';
import { monthOfKey, monthPartitionKey } from '../../lake/layout.js';
import { withLocalFiles } from '../../lake/localFiles.js';
import type { ObjectStore } from '../../lake/objectStore.js';
import type { Pipeline } from './pipeline.js';

/**
 * Rows per row group. A month holds every entity, so a reader of one entity's month prunes row groups by
 * their min/max statistics on the sort columns: the smaller the groups, the less it reads. DuckDB's writer
 * does not cut a group below one vector (2,048 rows): a SYNOP station-month (~250 rows) then shares its
 * group with ~8 others, an hourly station-month (~720 rows) with ~3.
 */
export const ROW_GROUP_ROWS = 2048;

/** A dataset written by month. */
export interface MonthDataset {
  /** Its lake prefix (`datasetPrefix(zone, name)`). */
  prefix: string;
  /** The columns that order a partition's rows: the entity, then time. */
  order: readonly string[];
  /** SQL giving a row's month (`YYYY-MM`) from its columns: the UTC month of an instant, or a local day's. */
  month: string;
}

/**
 * How a month's existing rows meet the run's.
 * @public a pipeline names it when it writes a dataset by month
 */
export type ExistingRows =
  /** Staging: an existing row wins over the run's row with the same key (a key's first value wins, as in the warehouse). */
  | { firstWins: readonly string[] }
  /** Curated: the existing rows this SQL predicate (over their columns, the row aliased `e`) holds true for are replaced by the run's. */
  | { replaceWhere: string };

export interface MonthRewrite {
  /** The run's rows: a table, a view, or a parenthesised SELECT. */
  rows: string;
  existing: ExistingRows;
  /** Months to rewrite besides those the run's rows fall in (a recomputed range whose rows all moved). */
  months?: readonly string[];
  /** A scratch folder of the run's own (the written files are moved or uploaded from there). */
  scratch: string;
}

export interface RewrittenMonths {
  /** The months rewritten, sorted. */
  months: string[];
  /** Those that held no file before: each now holds exactly the run's rows of that month. */
  fresh: ReadonlySet<string>;
  /** Partition files written (a month left without rows is deleted instead). */
  written: number;
}

/** The months (`YYYY-MM`) `rows` fall in. */
async function monthsOf(s: DuckSession, dataset: MonthDataset, rows: string): Promise<string[]> {
  const found = await s.rows<{ month: string }>(`SELECT DISTINCT ${dataset.month} AS month FROM ${rows} ORDER BY 1`);
  return found.map((r) => r.month);
}

/** The month partitions of `months` that exist in the lake, as keys. */
export async function existingMonthKeys(lake: ObjectStore, dataset: MonthDataset, months: readonly string[]): Promise<string[]> {
  const keys = months.map((m) => monthPartitionKey(dataset.prefix, m));
  const found = await Promise.all(keys.map(async (k) => ((await lake.exists(k)) ? k : null)));
  return found.filter((k): k is string => k !== null);
}

/** Reads local copies of month partitions (their `month` column computed, as written files leave it in the path). */
function readMonthFiles(dataset: MonthDataset, paths: readonly string[]): string {
  return `(SELECT *, ${dataset.month} AS month FROM read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false))`;
}

/**
 * Rewrites, whole, every month partition the run's rows fall in (and `w.months`): its existing rows merged
 * with the run's, sorted, written once to the scratch folder and swapped in. Runs before the warehouse
 * commits: if the process dies after this, the next run merges the same rows again and writes the same files.
 */
export async function rewriteMonthPartitions(s: DuckSession, lake: ObjectStore, dataset: MonthDataset, w: MonthRewrite): Promise<RewrittenMonths> {
  const months = [...new Set([...(await monthsOf(s, dataset, w.rows)), ...(w.months ?? [])])].sort();
  if (months.length <= MONTHS_PER_COPY) return rewriteMonths(s, lake, dataset, w, months);
  const fresh = new Set<string>();
  let written = 0;
  for (let i = 0; i < months.length; i += MONTHS_PER_COPY) {
    const chunk = months.slice(i, i + MONTHS_PER_COPY);
    const rows = `(SELECT * FROM ${w.rows} WHERE list_contains([${chunk.map(literal).join(', ')}], ${dataset.month}))`;
    const done = await rewriteMonths(s, lake, dataset, { ...w, rows }, chunk);
    for (const m of done.fresh) fresh.add(m);
    written += done.written;
  }
  return { months, fresh, written };
}

/**
 * Months rewritten by one partitioned COPY at most: past `partitioned_write_max_open_files` (100) DuckDB
 * splits a month into several files even when the rows come ordered by month (a first load of 13 years,
 * 156 months, did).
 */
const MONTHS_PER_COPY = 48;

async function rewriteMonths(s: DuckSession, lake: ObjectStore, dataset: MonthDataset, w: MonthRewrite, months: string[]): Promise<RewrittenMonths> {
  if (months.length === 0) return { months, fresh: new Set(), written: 0 };
  const existing = await existingMonthKeys(lake, dataset, months);
  const had = new Set(existing.map((k) => monthOfKey(dataset.prefix, k)));
  const fresh = new Set(months.filter((m) => !had.has(m)));
  const run = `(SELECT *, ${dataset.month} AS month FROM ${w.rows})`;
  const written = await withLocalFiles(lake, existing, async (paths) => {
    let merged = run;
    if (paths.length > 0 && 'firstWins' in w.existing) {
      merged = `(SELECT * EXCLUDE (prio) FROM (
          SELECT *, 0 AS prio FROM ${readMonthFiles(dataset, paths)} UNION ALL BY NAME SELECT *, 1 AS prio FROM ${run}
        ) QUALIFY row_number() OVER (PARTITION BY ${w.existing.firstWins.join(', ')} ORDER BY prio) = 1)`;
    } else if (paths.length > 0 && 'replaceWhere' in w.existing) {
      merged = `(SELECT e.* FROM ${readMonthFiles(dataset, paths)} e WHERE NOT (${w.existing.replaceWhere}) UNION ALL BY NAME SELECT * FROM ${run})`;
    }
    // Ordered by month first: DuckDB then fills one partition after the other rather than keeping one file
    // open per month.
    const out = join(w.scratch, `months-${dataset.prefix.replaceAll('/', '-')}`);
    const select = `SELECT * FROM ${merged} ORDER BY month, ${dataset.order.join(', ')}`;
    return writeParquetPartitions(s, lake, out, dataset.prefix, select, ['month'], { rowGroupRows: ROW_GROUP_ROWS });
  });
  // A month asked for that now holds no row must not keep its former rows.
  const filled = new Set(written.map((dir) => dir.replace(/^month=/, '')));
  for (const m of months) if (!filled.has(m) && had.has(m)) await lake.delete(monthPartitionKey(dataset.prefix, m));
  return { months, fresh, written: written.length };
}

/** A lake written in a layout this version no longer reads (a run stops before writing anything). */
export class LakeLayoutError extends Error {
  override name = 'LakeLayoutError';
  /** Another attempt would fail the same way: the user must rebuild. */
  readonly retryable = false;
}

/**
 * The first key of the pipeline's lake datasets that is not a month partition: a lake written by an earlier
 * version (`staging/observations/station=…/month=…`), which `ecluse rebuild <pipeline>` rewrites from the raw zone.
 */
export async function formerLayoutKey(lake: ObjectStore, pipeline: Pick<Pipeline, 'datasets'>): Promise<string | null> {
  for (const d of pipeline.datasets) {
    for (const prefix of d.lake) {
      const stray = (await lake.list(prefix)).find((o) => monthOfKey(prefix, o.key) === null);
      if (stray) return stray.key;
    }
  }
  return null;
}

/** Throws a LakeLayoutError when the pipeline's lake data is in a former layout. */
export async function assertLakeLayout(lake: ObjectStore, pipeline: Pick<Pipeline, 'name' | 'datasets'>): Promise<void> {
  const key = await formerLayoutKey(lake, pipeline);
  if (key === null) return;
  throw new LakeLayoutError(
    `the lake ${lake.location} holds ${pipeline.name} data in a former layout (${key}); this version writes one file per month ` +
      `(…/month=YYYY-MM/data.parquet): run \`ecluse rebuild ${pipeline.name}\` to rewrite it from the raw zone`,
  );
}
