import { isInstant } from '../../time/instants.js';
import { andWhere, odsqlDate, odsqlField } from './odsql.js';

/**
 * The incremental cursor of an OpenDataSoft source: the latest `date` loaded. Pure functions only: the
 * pipeline reads the cursor from the warehouse `cursors` table and commits the new one with the data, so
 * a run that dies before its commit fetches the same window again.
 */

export interface IncrementalWindow {
  /** The last instant already loaded (ISO with offset), or null on the first run. */
  cursor: string | null;
  /** Where to start when there is no cursor yet: a day or an instant, inclusive. */
  start?: string;
  /** Exclusive upper bound (a day or an instant), e.g. to fetch in slices. */
  until?: string;
}

/**
 * The `where` of the next fetch: strictly after the cursor (`date > date'…'`), so the last record loaded is
 * not fetched again; or from `start` inclusive on the first run. An empty string means "everything".
 */
export function nextWindowWhere(field: string, window: IncrementalWindow): string {
  const f = odsqlField(field);
  let lower: string | undefined;
  if (window.cursor !== null) {
    if (!isInstant(window.cursor)) {
      throw new Error(`OpenDataSoft cursor ${JSON.stringify(window.cursor)} is not an ISO instant with an offset`);
    }
    lower = `${f} > ${odsqlDate(window.cursor)}`;
  } else if (window.start !== undefined) {
    lower = `${f} >= ${odsqlDate(window.start)}`;
  }
  const upper = window.until !== undefined ? `${f} < ${odsqlDate(window.until)}` : undefined;
  return andWhere(lower, upper);
}

/**
 * The cursor after a batch: the latest instant among `values` and the current cursor, compared as instants
 * (offsets parsed, never assumed), returned as written in the data. Values that are not instants are
 * ignored: validation reports them, the cursor must not move because of them.
 */
export function advanceCursor(cursor: string | null, values: Iterable<unknown>): string | null {
  let best = cursor;
  let bestAt = cursor === null ? -Infinity : Date.parse(cursor);
  for (const v of values) {
    if (typeof v !== 'string' || !isInstant(v)) continue;
    const at = Date.parse(v);
    if (at > bestAt) {
      best = v;
      bestAt = at;
    }
  }
  return best;
}
