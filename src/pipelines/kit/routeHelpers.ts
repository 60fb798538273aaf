import { Type, type TSchema } from '@sinclair/typebox';
import { isInstant } from '../../time/instants.js';
import type { SqlParam, Warehouse } from '../../warehouse/warehouse.js';
import { badRequest } from './routeSpec.js';

/** What the routes of every pipeline (and the server's own) share: paging, errors, instants, missing tables. */

/** The most rows a list answers at once, and what it answers without `limit`. */
export const MAX_LIMIT = 10_000;
const DEFAULT_LIMIT = 1000;

/** The body of every error answer. */
export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });

export const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** A page of a list: its items, the total, and the paging asked for. */
export const list = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() });

/** `limit` and `offset` query parameters. */
export const Paging = {
  limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
};

/** Whether a query failed on a table not created yet (no run yet); DuckDB and PostgreSQL word it alike. */
export function isMissingTable(err: unknown): boolean {
  return err instanceof Error && /does not exist/i.test(err.message);
}

/** Rows of a query, a missing table (no run yet) read as an empty one. */
export async function rowsOrEmpty(warehouse: Warehouse, sql: string, params: readonly SqlParam[] = []): Promise<Record<string, unknown>[]> {
  try {
    return await warehouse.query(sql, params);
  } catch (err) {
    if (isMissingTable(err)) return [];
    throw err;
  }
}

/** A naive UTC TIMESTAMP literal value, the way instants (`observed_at`) are stored. */
export const sqlInstant = (d: Date) => d.toISOString().slice(0, 23).replace('T', ' ');

/** A query parameter that must be an ISO 8601 instant with its zone: a bare local time would be a guess. */
export function instantParam(name: string, value: string): Date {
  const ms = isInstant(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw badRequest(`${name} must be an ISO 8601 instant with a zone (2024-10-05T00:00:00Z), got "${value}"`);
  return new Date(ms);
}

/** An instant column as the API shows it (ISO 8601, UTC, `Z`): DuckDB gives a Date-like or text, PostgreSQL text. */
export function isoInstant(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = v instanceof Date ? v.toISOString() : String(v).replace(' ', 'T');
  return /[zZ]|[+-]\d\d:?\d\d$/.test(s) ? new Date(s).toISOString().replace('.000Z', 'Z') : `${s.replace(/\.0+$/, '')}Z`;
}
