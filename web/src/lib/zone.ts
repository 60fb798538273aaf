/**
 * Time zones for the station charts. The API chooses a station's day in the station's zone; ECharts draws
 * time axes in the browser's zone or in UTC, nothing else. So instants are shifted to the zone's wall clock
 * ("UTC" that reads as local time) and the chart is told to use UTC. DOM-free, unit-tested.
 */

import { formatDateTime } from './format.js';

/** The server's zone for a station without one (docs/API.md: a day is in the station's zone, default Europe/Paris). */
export const SERVER_DEFAULT_ZONE = 'Europe/Paris';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

export function isTimeZone(zone: string | null | undefined): zone is string {
  if (!zone) return false;
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The browser's own zone (what charts would silently use). */
export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The zone's offset from UTC at instant `t` (ms; +7 200 000 for Paris in summer). */
export function zoneOffset(t: number, zone: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(new Date(t))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const local = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, p.hour ?? 0, p.minute ?? 0, p.second ?? 0);
  // Intl drops the milliseconds: compare whole seconds.
  return local - Math.floor(t / 1000) * 1000;
}

/** `t` moved to the zone's wall clock: read as UTC, it shows the local date and time. */
export function toWallClock(t: number, zone: string): number {
  return t + zoneOffset(t, zone);
}

/** The instant a calendar day starts in the zone (local midnight), as UTC ms. */
export function dayStart(day: string, zone: string): number {
  const wall = Date.parse(`${day}T00:00:00Z`);
  // Twice: the offset at the guess can differ from the offset at the answer around a DST change.
  const guess = wall - zoneOffset(wall, zone);
  return wall - zoneOffset(guess, zone);
}

/** The calendar day (YYYY-MM-DD) an instant falls on in the zone. */
export function dayInZone(iso: string, zone: string): string | null {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return null;
  return new Date(toWallClock(t, zone)).toISOString().slice(0, 10);
}

/** A wall-clock time (from toWallClock) as "YYYY-MM-DD HH:MM": it reads as UTC. */
export function formatWallClock(wall: number): string {
  return formatDateTime(wall, 'UTC');
}
