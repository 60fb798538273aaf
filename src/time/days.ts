import { DEFAULT_TIME_ZONE, parseDay, wallClock } from './zones.js';

const DAY_MS = 86_400_000;

/** The calendar day (`YYYY-MM-DD`) an instant falls on in a time zone. */
export function dayOf(instant: Date, timeZone = DEFAULT_TIME_ZONE): string {
  const w = wallClock(instant.getTime(), timeZone);
  return `${String(w.year).padStart(4, '0')}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
}

/** The partition a run targets when none is given: the Europe/Paris day that last ended (what a daily tick collects). */
export function defaultPartition(now = new Date()): string {
  return previousDayOf(dayOf(now));
}

/** The calendar day before `day` (`YYYY-MM-DD`). */
export function previousDayOf(day: string): string {
  const t = parseDay(day);
  if (t === null) throw new RangeError(`not a day YYYY-MM-DD: ${day}`);
  return new Date(t - DAY_MS).toISOString().slice(0, 10);
}

/** Whether a string is a real calendar day `YYYY-MM-DD`. */
export function isDay(s: string): boolean {
  return parseDay(s) !== null;
}

/** Every day from `from` to `to`, both inclusive; throws on a bad day or a reversed range. */
export function daysBetween(from: string, to: string): string[] {
  const a = parseDay(from);
  const b = parseDay(to);
  if (a === null) throw new RangeError(`--from ${from}: expected a day YYYY-MM-DD`);
  if (b === null) throw new RangeError(`--to ${to}: expected a day YYYY-MM-DD`);
  if (b < a) throw new RangeError(`--to ${to} is before --from ${from}`);
  const days: string[] = [];
  for (let t = a; t <= b; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}
