import type { Row } from '../engine/duckdb.js';

/** Bounds of one statement sent to the SQL endpoint (`POST /sql`, `ecluse sql`). */
export interface SqlLimits {
  /** The statement is stopped after this long. */
  timeoutMs: number;
  /** At most this many rows come back; reading stops there. */
  maxRows: number;
  /** At most this many bytes of JSON rows come back; reading stops there. */
  maxBytes: number;
}

export const DEFAULT_SQL_LIMITS: SqlLimits = { timeoutMs: 30_000, maxRows: 10_000, maxBytes: 16 * 1024 * 1024 };

/** The answer of the SQL endpoint: the rows read before a limit was met, and whether one was. */
export interface SqlAnswer {
  columns: string[];
  rows: Row[];
  row_count: number;
  /** True when the statement had more rows than came back (a limit below stopped the reading). */
  truncated: boolean;
  /** The limits the answer was read under; null on the admin path, which reads everything. */
  limit: { rows: number; bytes: number } | null;
}

/** The statement is not one the read-only path runs (not a single SELECT, or it reaches outside the tables). */
export class SqlRefusedError extends Error {
  override name = 'SqlRefusedError';
}

/** The read-only path cannot run at all (its PostgreSQL role is missing or cannot log in): the operator's to fix. */
export class SqlUnavailableError extends Error {
  override name = 'SqlUnavailableError';
}

/** The statement ran past its time limit and was stopped. */
export class SqlTimeoutError extends Error {
  override name = 'SqlTimeoutError';
  constructor(timeoutMs: number) {
    super(`the statement ran longer than ${formatSeconds(timeoutMs)} and was stopped (ECLUSE_SQL_TIMEOUT_S sets the limit)`);
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * Gathers rows as they are read, chunk by chunk, and says when to stop: the caller stops fetching as soon as
 * `add` answers false, so memory holds at most the answer's limits, whatever the statement would return.
 */
export class AnswerCollector {
  private readonly rows: Row[] = [];
  private bytes = 0;
  private truncated = false;

  constructor(
    private readonly columns: string[],
    private readonly limits: SqlLimits,
  ) {}

  /** Adds a row; false when the answer is full (this row and any further one are left out). */
  add(row: Row): boolean {
    if (this.truncated) return false;
    // The byte limit counts the rows as they will be sent (JSON, UTF-8), plus the comma between them.
    const size = Buffer.byteLength(JSON.stringify(row)) + 1;
    if (this.rows.length >= this.limits.maxRows || this.bytes + size > this.limits.maxBytes) {
      this.truncated = true;
      return false;
    }
    this.rows.push(row);
    this.bytes += size;
    return true;
  }

  get full(): boolean {
    return this.truncated;
  }

  answer(): SqlAnswer {
    return {
      columns: this.columns,
      rows: this.rows,
      row_count: this.rows.length,
      truncated: this.truncated,
      limit: { rows: this.limits.maxRows, bytes: this.limits.maxBytes },
    };
  }
}

/** The whole answer of a statement read without limits (the admin path), in the same shape. */
export function wholeAnswer(rows: Row[]): SqlAnswer {
  return {
    columns: rows[0] ? Object.keys(rows[0]) : [],
    rows,
    row_count: rows.length,
    truncated: false,
    limit: null,
  };
}
