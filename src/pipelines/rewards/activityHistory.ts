/**
 * The activity history of the source standing in for Strava: seeded and deterministic, so a demo, a test
 * and a benchmark see the same activities. Each activity is drawn per employee and per calendar day (Paris),
 * from a stream of its own: whether there is one that day does not depend on `now`, so the source restarted
 * a day later serves the same past, plus what happened since (a pull keyed on `started_at` then finds
 * nothing it did not already have).
 */
import { Rng } from '../../connectors/generators/random.js';
import { wallClock, zonedWallToInstant } from '../../time/zones.js';
import type { Activity } from './companyDb.js';

const DAY_MS = 86_400_000;
const ZONE = 'Europe/Paris';
/** The window the history covers, back from `now`: the 12 months the well-being rule counts. */
const HISTORY_DAYS = 365;
/** Longest weekday-evening session: nobody starts an 8-hour hike at 19:00. */
const EVENING_MAX_MIN = 150;

/** An employee as the source knows them: their declared practice decides what they do. */
export interface SourceEmployee {
  employee_id: number;
  declared_sport: string | null;
}

/** How a sport is practised: distance sports at a speed, the others for a duration only. */
export type SportProfile =
  | { kind: 'distance'; km: readonly [number, number]; kmh: readonly [number, number]; weekendShare: number }
  | { kind: 'duration'; minutes: readonly [number, number]; weekendShare: number };

const distance = (km: [number, number], kmh: [number, number], weekendShare = 0.4): SportProfile => ({ kind: 'distance', km, kmh, weekendShare });
const duration = (minutes: [number, number], weekendShare = 0.35): SportProfile => ({ kind: 'duration', minutes, weekendShare });

/** Profiles by sport as HR files spell them (`Runing` sic); other spellings are matched without case or accents. */
export const SPORT_PROFILES: Readonly<Record<string, SportProfile>> = {
  Runing: distance([5, 21], [9, 14]),
  'Course à pied': distance([5, 21], [9, 14]),
  Trail: distance([8, 30], [6, 10], 0.7),
  Marche: distance([3, 10], [4, 6]),
  Randonnée: distance([8, 25], [3.5, 5], 0.85),
  Natation: distance([1, 4], [2, 3.5], 0.3),
  Triathlon: distance([20, 52], [15, 22], 0.75),
  Vélo: distance([15, 80], [18, 30], 0.6),
  Cyclisme: distance([20, 100], [20, 32], 0.6),
  VTT: distance([10, 50], [12, 20], 0.7),
  Roller: distance([8, 30], [10, 18]),
  Tennis: duration([60, 120]),
  Football: duration([60, 105]),
  Rugby: duration([60, 100]),
  Badminton: duration([45, 90]),
  Judo: duration([60, 120], 0.2),
  Boxe: duration([45, 90], 0.2),
  Escalade: duration([60, 180], 0.5),
  Équitation: duration([45, 120], 0.6),
  'Tennis de table': duration([45, 120]),
  Basketball: duration([60, 100]),
  Voile: duration([90, 240], 0.8),
};

/** A sport nobody described: an hour or two, no distance. */
const UNKNOWN_SPORT = duration([45, 120]);

function fold(sport: string): string {
  return sport.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();
}

const BY_FOLDED = new Map(Object.entries(SPORT_PROFILES).map(([name, p]) => [fold(name), p]));

/** How `sport` is practised (a sport not listed: durations only). */
function sportProfile(sport: string): SportProfile {
  return BY_FOLDED.get(fold(sport)) ?? UNKNOWN_SPORT;
}

/** Whether activities of `sport` carry a distance. */
export function isDistanceSport(sport: string): boolean {
  return sportProfile(sport).kind === 'distance';
}

/** What a second, occasional sport is drawn from. */
const OTHER_SPORTS = ['Runing', 'Randonnée', 'Natation', 'Vélo', 'Tennis', 'Badminton', 'Escalade', 'Football'];

/** How often, in activities a year, and what else an employee does: fixed by the seed and the employee. */
interface Practice {
  perYear: number;
  main: string;
  other: string;
  /** Share of the activities in the other sport. */
  otherShare: number;
}

function practiceOf(seed: number, e: SourceEmployee & { declared_sport: string }): Practice {
  const rng = new Rng(seed, 'rewards-practice', e.employee_id);
  // Three kinds of people, so the 15-activity rule splits them: occasional, regular, keen.
  const r = rng.next();
  const perYear = r < 0.3 ? rng.uniform(2, 10) : r < 0.55 ? rng.uniform(10, 20) : rng.uniform(20, 55);
  const others = OTHER_SPORTS.filter((s) => fold(s) !== fold(e.declared_sport));
  return { perYear, main: e.declared_sport, other: rng.pick(others), otherShare: rng.chance(0.4) ? rng.uniform(0.05, 0.15) : 0 };
}

/** A few comments Strava users write; most write none. */
const COMMENTS = ['Sortie du soir', 'Belle séance', 'Très chaud aujourd’hui', 'Avec les collègues', 'Reprise en douceur', 'Sous la pluie', 'Objectif tenu'];

/** Duration (s) and distance (m, or null) of one session of `sport`, no longer than `maxMinutes`. */
function session(rng: Rng, sport: string, maxMinutes: number): { elapsed_s: number; distance_m: number | null } {
  const p = sportProfile(sport);
  if (p.kind === 'duration') {
    const minutes = Math.min(rng.uniform(p.minutes[0], p.minutes[1]), Math.max(p.minutes[0], maxMinutes));
    return { elapsed_s: Math.round(minutes) * 60 + rng.int(0, 59), distance_m: null };
  }
  const kmh = rng.uniform(p.kmh[0], p.kmh[1]);
  // A long outing cut to what the evening allows, but never below the sport's shortest.
  const km = Math.max(p.km[0], Math.min(rng.uniform(p.km[0], p.km[1]), (maxMinutes / 60) * kmh));
  const distance_m = Math.round(km * 1000);
  return { elapsed_s: Math.max(60, Math.round((distance_m / 1000 / kmh) * 3600)), distance_m };
}

/** The Paris calendar day (as UTC-midnight ms / DAY_MS) an instant falls on. */
function parisDay(instant: number): number {
  const w = wallClock(instant, ZONE);
  return Date.UTC(w.year, w.month - 1, w.day) / DAY_MS;
}

/** The employee's activity on Paris day `day` (days since 1970-01-01), if they had one. */
function activityOnDay(seed: number, e: SourceEmployee & { declared_sport: string }, practice: Practice, day: number): Activity | null {
  const rng = new Rng(seed, 'rewards-day', e.employee_id, day);
  const weekday = new Date(day * DAY_MS).getUTCDay();
  const weekend = weekday === 0 || weekday === 6;
  const sport = rng.chance(practice.otherShare) ? practice.other : practice.main;
  const share = sportProfile(practice.main).weekendShare;
  // A year has 104 weekend days and 261 weekdays: the chances spread `perYear` as `share` says.
  const chance = weekend ? (practice.perYear * share) / 104 : (practice.perYear * (1 - share)) / 261;
  if (!rng.chance(Math.min(0.9, chance))) return null;
  let startMinute: number;
  let maxMinutes: number;
  if (weekend) {
    // Daytime, back before the evening.
    startMinute = rng.int(8 * 60, 15 * 60);
    maxMinutes = Math.max(60, 19 * 60 - startMinute);
  } else {
    startMinute = rng.int(18 * 60, 21 * 60);
    maxMinutes = EVENING_MAX_MIN;
  }
  const { elapsed_s, distance_m } = session(rng, sport, maxMinutes);
  const started = zonedWallToInstant(day * DAY_MS + startMinute * 60_000, ZONE);
  return {
    employee_id: e.employee_id,
    started_at: new Date(started),
    ended_at: new Date(started + elapsed_s * 1000),
    elapsed_s,
    sport,
    distance_m,
    comment: rng.chance(0.3) ? rng.pick(COMMENTS) : null,
    source: 'strava',
  };
}

export interface HistoryOptions {
  seed?: number;
  /** Days back from `now` (default HISTORY_DAYS). */
  days?: number;
}

export const DEFAULT_SEED = 2025;

function practising(e: SourceEmployee): e is SourceEmployee & { declared_sport: string } {
  return e.declared_sport !== null && e.declared_sport.trim() !== '';
}

/**
 * The activities of `employees` over the last 12 months before `now`, by employee then start: only those who
 * declared a sport have any, mostly in it; weekday evenings (18:00–21:00 Paris) and weekend days; each one
 * over by `now`; at most one a day per employee, so `(employee_id, started_at)` is unique.
 */
export function generateActivityHistory(employees: readonly SourceEmployee[], now: Date, options: HistoryOptions = {}): Activity[] {
  const seed = options.seed ?? DEFAULT_SEED;
  const end = now.getTime();
  const start = end - (options.days ?? HISTORY_DAYS) * DAY_MS;
  const first = parisDay(start);
  const last = parisDay(end);
  const out: Activity[] = [];
  for (const e of employees) {
    if (!practising(e)) continue;
    const practice = practiceOf(seed, e);
    for (let day = first; day <= last; day++) {
      const a = activityOnDay(seed, e, practice, day);
      if (a && a.started_at.getTime() > start && a.ended_at.getTime() <= end) out.push(a);
    }
  }
  return out;
}

/**
 * One activity of `employee` that has just ended at `now` (started whole seconds before it), in the
 * declared sport: what the live source adds as time goes by.
 */
export function liveActivity(rng: Rng, employee: SourceEmployee, now: Date): Activity {
  const sport = practising(employee) ? employee.declared_sport : rng.pick(OTHER_SPORTS);
  const { elapsed_s, distance_m } = session(rng, sport, EVENING_MAX_MIN);
  const ended = Math.floor(now.getTime() / 1000) * 1000;
  return {
    employee_id: employee.employee_id,
    started_at: new Date(ended - elapsed_s * 1000),
    ended_at: new Date(ended),
    elapsed_s,
    sport,
    distance_m,
    comment: rng.chance(0.3) ? rng.pick(COMMENTS) : null,
    source: 'strava',
  };
}

/** An activity as the source serves it (FORMATS.md §4, Strava-like): instants ISO UTC, durations in seconds. */
export interface SourceActivity {
  id_employee: number;
  start_date: string;
  end_date: string;
  elapsed_time: number;
  sport: string;
  distance_m: number | null;
  comment: string | null;
}

export function toSourceActivity(a: Activity): SourceActivity {
  return {
    id_employee: a.employee_id,
    start_date: a.started_at.toISOString(),
    end_date: a.ended_at.toISOString(),
    elapsed_time: a.elapsed_s,
    sport: a.sport,
    distance_m: a.distance_m,
    comment: a.comment,
  };
}
