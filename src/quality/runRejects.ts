import { bulkInsert } from '../engine/bulk.js';
import type { DuckSession } from '../engine/duckdb.js';
import { REJECT_COLUMNS, type Warehouse } from '../warehouse/warehouse.js';
import type { Reject } from './rejects.js';

/**
 * A run's rejects gather in the engine table `run_rejects` (SQL checks insert there directly; the
 * TypeScript readers' rejects are bulk-inserted) and reach the warehouse in one move, in the order found.
 */
const REJECT_TYPES: Record<(typeof REJECT_COLUMNS)[number], string> = {
  run_id: 'BIGINT',
  pipeline: 'VARCHAR',
  file: 'VARCHAR',
  sheet: 'VARCHAR',
  row: 'BIGINT',
  field: 'VARCHAR',
  value: 'VARCHAR',
  reason: 'VARCHAR',
  whole_record: 'BOOLEAN',
};
const REJECT_LAYOUT = REJECT_COLUMNS.map((c) => [c, REJECT_TYPES[c]] as const);

export async function createRunRejects(s: DuckSession): Promise<void> {
  await s.run(`CREATE OR REPLACE TEMP TABLE run_rejects (${REJECT_LAYOUT.map(([c, t]) => `"${c}" ${t}`).join(', ')})`);
}

export async function addRejects(s: DuckSession, runId: number, pipeline: string, rejects: readonly Reject[]): Promise<void> {
  await bulkInsert(
    s,
    'run_rejects',
    REJECT_LAYOUT,
    rejects.map((r) => [runId, pipeline, r.file, r.sheet, r.row, r.field, r.value, r.reason, r.whole_record]),
  );
}

/** Moves the run's rejects into the warehouse. */
export async function saveRejects(warehouse: Warehouse, s: DuckSession): Promise<void> {
  await warehouse.appendFromEngine('rejects', REJECT_COLUMNS, s, `SELECT * FROM run_rejects`);
}
