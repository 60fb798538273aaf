import { mkdir, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { ObjectStore } from '../lake/objectStore.js';
import { literal, type DuckSession } from './duckdb.js';

/** Uploads at a time: enough to keep an S3 connection pool busy without queueing hundreds of requests. */
const PUT_CONCURRENCY = 8;

/**
 * Writes `select` as one Parquet file per partition (`partitionBy` columns, hive directories) into the
 * scratch folder `out`, then puts each in the lake under `<prefix><dirs>/data.parquet`: a whole partition
 * replaces the old one in one put (a rename on the folder lake, one PUT on S3). Returns the partitions
 * written, as their folders (`month=2024-03`).
 */
export async function writeParquetPartitions(
  s: DuckSession,
  lake: ObjectStore,
  out: string,
  prefix: string,
  select: string,
  partitionBy: readonly string[],
  options: { rowGroupRows?: number } = {},
): Promise<string[]> {
  await mkdir(out, { recursive: true });
  const rowGroups = options.rowGroupRows ? `, ROW_GROUP_SIZE ${options.rowGroupRows}` : '';
  // No bloom filters: readers prune a partition by its path and its row groups by min/max statistics (rows
  // are sorted); writing a filter per column cost ~30 % of the COPY.
  await s.run(
    `COPY (${select}) TO ${literal(out)} (FORMAT parquet, PARTITION_BY (${partitionBy.join(', ')}), OVERWRITE_OR_IGNORE true, WRITE_BLOOM_FILTER false${rowGroups})`,
  );
  const files = (await readdir(out, { recursive: true })).filter((f) => f.endsWith('.parquet'));
  const byPartition = new Map<string, string>();
  for (const f of files) {
    const dir = relative(out, join(out, f)).split(sep).slice(0, -1).join('/');
    if (byPartition.has(dir)) throw new Error(`DuckDB wrote more than one file for partition ${dir}`);
    byPartition.set(dir, join(out, f));
  }
  const queue = [...byPartition];
  // The first failure stops the queue, and the puts in flight settle before it is thrown: a run that failed
  // must not go on writing partitions after it has been recorded as failed (its SDK retries would land later).
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    for (let next = queue.shift(); next && !failure; next = queue.shift()) {
      const [dir, path] = next;
      try {
        await lake.putFile(`${prefix}${dir}/data.parquet`, path, { consume: true });
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUT_CONCURRENCY, queue.length) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
  return [...byPartition.keys()];
}
