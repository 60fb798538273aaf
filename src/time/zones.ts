/**
 * Calendar days in a time zone as UTC instants, with `Intl` only (no time-zone library): a day in
 * Europe/Paris lasts 23 hours in March and 25 in October, and its bounds are where the wall clock reads
 * 00:00 on that day and on the next.
 */

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Raised for a time-zone name `Intl` does not know. */
/** Days, partitions, schedules and shown times are in this zone unless told otherwise: the users are in France. */
export const DEFAULT_TIME_ZONE = 'Europe/Paris';

export class UnknownTimeZoneError extends RangeError {
  override name = 'UnknownTimeZoneError';
}

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      });
    } catch {
      throw new UnknownTimeZoneError(`unknown time zone "${timeZone}"`);
    }
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws UnknownTimeZoneError unless `Intl` knows the zone. */
export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

/** The wall clock of `timeZone` at an instant: calendar fields as numbers (hour 0–23). */
export function wallClock(instant: number, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: (parts.hour ?? 0) % 24,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** The zone's offset from UTC at an instant, in milliseconds (positive east of Greenwich). */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(instant / 1000) * 1000;
}

/**
 * Every instant at which the wall clock of `timeZone` shows `wallMs` (a wall time encoded as if UTC): one
 * normally, two (earlier first) when the time repeats as clocks go back, none when a jump skips it.
 */
export function wallToInstants(wallMs: number, timeZone: string): number[] {
  const out: number[] = [];
  for (const offset of new Set([zoneOffsetMs(wallMs - DAY_MS, timeZone), zoneOffsetMs(wallMs + DAY_MS, timeZone)])) {
    const t = wallMs - offset;
    if (zoneOffsetMs(t, timeZone) === offset && !out.includes(t)) out.push(t);
  }
  return out.sort((x, y) => x - y);
}

/**
 * The first instant at which the wall clock of `timeZone` reads `wallMs` (a wall time encoded as if UTC).
 * Candidates are the offsets in force a day around it; in a fold (clocks set back) the earlier instant
 * wins; a wall time skipped by a jump maps to where the old offset puts it, which for a skipped midnight
 * is the jump itself, the day's first instant.
 */
export function zonedWallToInstant(wallMs: number, timeZone: string): number {
  const before = zoneOffsetMs(wallMs - DAY_MS, timeZone);
  const offsets = new Set([before, zoneOffsetMs(wallMs, timeZone), zoneOffsetMs(wallMs + DAY_MS, timeZone)]);
  let best: number | null = null;
  for (const o of offsets) {
    const t = wallMs - o;
    if (zoneOffsetMs(t, timeZone) === o && (best === null || t < best)) best = t;
  }
  return best ?? wallMs - before;
}

/** A `YYYY-MM-DD` string that names a real calendar day, as UTC midnight in ms; null otherwise. */
export function parseDay(day: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return ms;
}

/** The UTC bounds `[from, to)` of a calendar day in a time zone. Throws on a malformed day or unknown zone. */
export function dayBounds(day: string, timeZone: string): { from: Date; to: Date } {
  const midnight = parseDay(day);
  if (midnight === null) throw new RangeError(`not a calendar day YYYY-MM-DD: "${day}"`);
  return {
    from: new Date(zonedWallToInstant(midnight, timeZone)),
    to: new Date(zonedWallToInstant(midnight + DAY_MS, timeZone)),
  };
}
