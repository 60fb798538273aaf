/**
 * Page state lives in the query string (`/?page=stations&id=07015&from=…`): every view is a link, and the
 * app never needs a path of its own next to the API's (`/stations` is JSON). DOM-free, unit-tested.
 */

export type QueryState = Record<string, string>;

export function parseQuery(search: string): QueryState {
  const out: QueryState = {};
  for (const [k, v] of new URLSearchParams(search)) if (v !== '') out[k] = v;
  return out;
}

/** `?a=1&b=2` from a state; empty/undefined values are dropped, `page` first so links read well. */
export function buildQuery(state: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  const keys = Object.keys(state).sort((a, b) => (a === 'page' ? -1 : b === 'page' ? 1 : 0));
  for (const k of keys) {
    const v = state[k];
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '?';
}

/** A positive integer from the query, or the fallback. */
export function intParam(v: string | undefined, fallback: number, min = 0): number {
  if (v === undefined || !/^\d+$/.test(v)) return fallback;
  const n = Number(v);
  return n >= min ? n : fallback;
}

export function isDay(v: string | undefined): v is string {
  return v !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`));
}

/** The day after `day` (the exclusive end of an instant range). */
export function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}
