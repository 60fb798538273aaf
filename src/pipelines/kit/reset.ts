import { ident } from '../../engine/duckdb.js';
import type { Pipeline, Platform } from './pipeline.js';

/**
 * Drops a pipeline's staging and curated data, as its manifest lists them: its tables emptied and its files
 * forgotten in one transaction (so that the raw zone is read again), then its lake prefixes deleted. The raw
 * zone stays: a rebuild reads everything from it.
 */
export async function resetPipeline(platform: Platform, pipeline: Pipeline): Promise<void> {
  const wh = platform.warehouse;
  await pipeline.createTables(wh);
  await wh.transaction(async () => {
    // Reverse order: a table listed after another may refer to it.
    for (const d of [...pipeline.datasets].reverse()) await wh.execute(`DELETE FROM ${ident(d.table)}`);
    await wh.execute(`DELETE FROM files WHERE pipeline = $1`, [pipeline.name]);
  });
  for (const d of pipeline.datasets) for (const prefix of d.lake) await platform.lake.deletePrefix(prefix);
}
