/**
 * The incremental cursor of a pipeline's source (the latest instant loaded), kept in the warehouse's
 * `cursors` table, one row per (pipeline, source). A run writes it in its own transaction, so it commits
 * (or rolls back) with the data: a run that dies before its commit fetches the same window again.
 */
import { advanceCursor } from '../../connectors/opendatasoft/cursor.js';
import type { Warehouse } from '../../warehouse/warehouse.js';

export async function readCursor(warehouse: Warehouse, pipeline: string, source: string): Promise<string | null> {
  const [row] = await warehouse.query(`SELECT cursor FROM cursors WHERE pipeline = $1 AND source = $2`, [pipeline, source]);
  return typeof row?.cursor === 'string' ? row.cursor : null;
}

/** Writes the cursor in the run's open transaction. It never moves back: a backfill of older days leaves a later cursor where it is. */
export async function saveCursor(warehouse: Warehouse, pipeline: string, source: string, cursor: string, runId: number): Promise<void> {
  const current = await readCursor(warehouse, pipeline, source);
  const next = advanceCursor(current, [cursor]);
  if (next === null || next === current) return;
  const now = new Date().toISOString().replace('Z', '');
  await warehouse.execute(`DELETE FROM cursors WHERE pipeline = $1 AND source = $2`, [pipeline, source]);
  await warehouse.execute(`INSERT INTO cursors (pipeline, source, cursor, run_id, updated_at) VALUES ($1, $2, $3, $4, $5::TIMESTAMP)`, [
    pipeline,
    source,
    next,
    runId,
    now,
  ]);
}
