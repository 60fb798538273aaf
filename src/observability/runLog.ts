import { pino, type Logger } from 'pino';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { RunLogLine } from '../warehouse/metadata.js';

/**
 * Per-run logs: pino lines carrying the run id, kept in memory while the run works and stored in the
 * warehouse's `run_logs` table in bulk (at the end of a step when the last write is over a second old, and
 * at the end of the run: one insert for a short run, never a round trip per line). Stored outside the run's
 * transaction, so the logs of a failed run stay. Any process's run logs are then read back by
 * `GET /runs/{id}/logs` and `ecluse runs RUN --logs`.
 */

const FLUSH_EVERY_MS = 1000;

/** Lines waiting to be stored, by run id: one process-wide pino logger routes each line to its run. */
const buffers = new Map<number, RunLogBuffer>();

// pino's own fields; everything else a line carries is kept as its `data`.
const OWN = new Set(['level', 'time', 'msg', 'run_id', 'pipeline', 'partition']);

const base: Logger = pino(
  { level: process.env.ECLUSE_RUN_LOG_LEVEL ?? 'info', base: null, formatters: { level: (label) => ({ level: label }) } },
  {
    write(line: string) {
      const o = JSON.parse(line) as Record<string, unknown>;
      const buffer = buffers.get(Number(o.run_id));
      if (!buffer) return;
      const data: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) if (!OWN.has(k)) data[k] = v;
      buffer.lines.push({
        run_id: buffer.runId,
        seq: buffer.seq++,
        at: new Date(Number(o.time)).toISOString(),
        level: String(o.level),
        msg: String(o.msg ?? ''),
        data: Object.keys(data).length > 0 ? data : null,
      });
    },
  },
);

export class RunLogBuffer {
  readonly lines: RunLogLine[] = [];
  seq = 0;
  private lastFlush = Date.now();
  readonly log: Logger;

  constructor(
    readonly runId: number,
    pipeline: string,
    partition: string,
    private readonly warehouse: Warehouse,
  ) {
    buffers.set(runId, this);
    this.log = base.child({ run_id: runId, pipeline, partition });
  }

  /** Stores the lines so far when the last store is over a second old (a step's end). */
  async maybeFlush(): Promise<void> {
    if (Date.now() - this.lastFlush >= FLUSH_EVERY_MS) await this.flush();
  }

  /** Lines written inside the run's committing transaction, until it is known to have committed. */
  private inTransaction: RunLogLine[] = [];

  /** Writes the lines so far on the run's connection (inside its transaction: no commit of their own). */
  async writeInTransaction(): Promise<void> {
    if (this.lines.length === 0) return;
    const lines = this.lines.splice(0);
    this.inTransaction.push(...lines);
    await this.warehouse.writeRunLogs(lines);
  }

  /** The transaction committed: its lines are stored. */
  committed(): void {
    this.inTransaction = [];
  }

  /** The transaction rolled back: its lines are stored later with the others. */
  rolledBack(): void {
    this.lines.unshift(...this.inTransaction.splice(0));
  }

  async flush(): Promise<void> {
    this.lastFlush = Date.now();
    if (this.lines.length === 0) return;
    const lines = this.lines.splice(0);
    await this.warehouse.insertRunLogs(lines);
  }

  /** Stores what is left and forgets the run. */
  async close(): Promise<void> {
    buffers.delete(this.runId);
    await this.flush();
  }
}

export interface RunLogItem {
  at: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** A run's stored log lines, oldest first (`{at, level, msg, ...fields}`), and how many there are. */
export async function readRunLogs(
  warehouse: Warehouse,
  runId: number,
  page: { limit?: number; offset?: number } = {},
): Promise<{ items: RunLogItem[]; total: number }> {
  const [count] = await warehouse.query(`SELECT count(*) AS n FROM run_logs WHERE run_id = $1`, [runId]);
  const rows = await warehouse.query(
    `SELECT logged_at, level, msg, data FROM run_logs WHERE run_id = $1 ORDER BY seq LIMIT ${Math.trunc(page.limit ?? 1000)} OFFSET ${Math.trunc(page.offset ?? 0)}`,
    [runId],
  );
  const items = rows.map((r) => {
    const data = typeof r.data === 'string' ? (JSON.parse(r.data) as Record<string, unknown>) : ((r.data as Record<string, unknown> | null) ?? {});
    return { ...data, at: String(r.logged_at), level: String(r.level), msg: String(r.msg) };
  });
  return { items, total: Number(count?.n ?? 0) };
}
