/**
 * Sport Data Solution's rules (FORMATS.md §4), pure: the bonus, the distance check and the well-being days of
 * one employee for one year. No I/O: the refresh and the approval feed it what they read.
 */
import { DEFAULT_TIME_ZONE, wallClock, zonedWallToInstant } from '../../time/zones.js';
import type { RewardsRules } from './settings.js';

type DistanceStatus = 'checked' | 'unchecked' | 'inconsistent' | 'approved' | 'not-applicable';
export type DistanceSource = 'hr-file' | 'geocoder';

/** The home → office distance of one employee, or why there is none. */
export interface Distance {
  km: number | null;
  source: DistanceSource | null;
  /** Why no distance is known (null when one is). */
  reason: string | null;
}

/** What the rules need of an employee (the `rewards_employees` row). */
export interface RewardEmployee {
  employee_id: number;
  first_name: string;
  last_name: string;
  business_unit: string | null;
  commute_mode: string;
  gross_salary: number;
  home_address: string | null;
}

/** HR's approval of a declaration over the limit: valid for the mode and address it approved. */
export interface ApprovalMatch {
  commute_mode: string | null;
  home_address: string | null;
  approved_by: string;
  approved_at: Date | string;
}

export interface RewardInput {
  year: number;
  employee: RewardEmployee;
  distance: Distance;
  /** Activities in the year's 12-month window (see `activityWindow`). */
  activities12m: number;
  approval: ApprovalMatch | null;
  computedAt: Date;
}

/** A `rewards` row. */
export interface RewardRow {
  year: number;
  employee_id: number;
  first_name: string;
  last_name: string;
  business_unit: string | null;
  commute_mode: string;
  gross_salary: number;
  distance_km: number | null;
  distance_source: DistanceSource | null;
  distance_status: DistanceStatus;
  /** Paid this year: false for modes without a bonus, and while an inconsistent declaration waits for HR. */
  bonus_eligible: boolean;
  bonus_reason: string;
  bonus_eur: number;
  bonus_withheld_eur: number;
  activities_12m: number;
  wellbeing_days: number;
  computed_at: Date;
}

/** The distance limit of a mode earning the bonus (km), or null for a mode without a bonus. */
export function limitKm(mode: string, rules: RewardsRules): number | null {
  if (mode === 'Marche/running') return rules.walkingLimitKm;
  if (mode === 'Vélo/Trottinette/Autres') return rules.cyclingLimitKm;
  return null;
}

/** Whether an approval still holds: it was given for this mode and this address, not for whatever comes next. */
export function approvalMatches(approval: ApprovalMatch | null, employee: Pick<RewardEmployee, 'commute_mode' | 'home_address'>): boolean {
  if (!approval) return false;
  const norm = (s: string | null) => (s ?? '').trim().replace(/\s+/g, ' ');
  return approval.commute_mode === employee.commute_mode && norm(approval.home_address) === norm(employee.home_address);
}

/** Integer cents of `percent` % of `euros`: salaries are counted in cents so the sum of bonuses is exact. */
export function percentOfCents(euros: number, percent: number): number {
  const cents = Math.round(euros * 100);
  // The epsilon keeps an exact half cent (x.5 computed as x.4999…) rounding up, as by hand.
  return Math.round((cents * percent) / 100 + 1e-9);
}

/** `30 940` or `1 547.00`: thousands grouped by a space, as HR writes amounts. */
export function formatAmount(value: number, decimals: number): string {
  const [int, frac] = Math.abs(value).toFixed(decimals).split('.');
  const grouped = (int ?? '0').replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return `${value < 0 ? '-' : ''}${grouped}${frac ? `.${frac}` : ''}`;
}

const km = (v: number) => `${Number.isInteger(v) ? String(v) : String(Math.round(v * 10) / 10)} km`;
const day = (d: Date | string) => (typeof d === 'string' ? d : d.toISOString()).slice(0, 10);

/** The bonus, distance check and well-being days of one employee for one year. */
export function computeReward(input: RewardInput, rules: RewardsRules): RewardRow {
  const { employee: e, distance, year } = input;
  const base = {
    year,
    employee_id: e.employee_id,
    first_name: e.first_name,
    last_name: e.last_name,
    business_unit: e.business_unit,
    commute_mode: e.commute_mode,
    gross_salary: e.gross_salary,
    distance_km: distance.km,
    distance_source: distance.km === null ? null : distance.source,
    activities_12m: input.activities12m,
    wellbeing_days: input.activities12m >= rules.wellbeingActivities ? rules.wellbeingDays : 0,
    computed_at: input.computedAt,
  };
  const limit = limitKm(e.commute_mode, rules);
  if (limit === null) {
    return {
      ...base,
      distance_status: 'not-applicable',
      bonus_eligible: false,
      bonus_reason: `${e.commute_mode}: this commute mode earns no sport bonus`,
      bonus_eur: 0,
      bonus_withheld_eur: 0,
    };
  }
  const cents = percentOfCents(e.gross_salary, rules.bonusPercent);
  const amount = cents / 100;
  const computation = `${formatAmount(rules.bonusPercent, Number.isInteger(rules.bonusPercent) ? 0 : 2)} % of ${formatAmount(e.gross_salary, Number.isInteger(e.gross_salary) ? 0 : 2)} € = ${formatAmount(amount, 2)} €`;
  if (distance.km === null) {
    return {
      ...base,
      distance_status: 'unchecked',
      bonus_eligible: true,
      bonus_reason: `${e.commute_mode}, distance unchecked (${distance.reason ?? 'no distance known'}), declaration accepted: ${computation}`,
      bonus_eur: amount,
      bonus_withheld_eur: 0,
    };
  }
  if (distance.km <= limit) {
    return {
      ...base,
      distance_status: 'checked',
      bonus_eligible: true,
      bonus_reason: `${e.commute_mode}, ${km(distance.km)} ≤ ${km(limit)}: ${computation}`,
      bonus_eur: amount,
      bonus_withheld_eur: 0,
    };
  }
  if (approvalMatches(input.approval, e)) {
    return {
      ...base,
      distance_status: 'approved',
      bonus_eligible: true,
      bonus_reason: `${e.commute_mode}, ${km(distance.km)} > ${km(limit)}, approved by ${input.approval!.approved_by} on ${day(input.approval!.approved_at)}: ${computation}`,
      bonus_eur: amount,
      bonus_withheld_eur: 0,
    };
  }
  return {
    ...base,
    distance_status: 'inconsistent',
    bonus_eligible: false,
    bonus_reason: `${e.commute_mode}, ${km(distance.km)} > ${km(limit)}: inconsistent declaration, bonus of ${formatAmount(amount, 2)} € withheld until HR approves it`,
    bonus_eur: 0,
    bonus_withheld_eur: amount,
  };
}

/** The calendar year of an instant in Europe/Paris (the company's year). */
export function yearOf(instant: Date): number {
  return wallClock(instant.getTime(), DEFAULT_TIME_ZONE).year;
}

/**
 * The "last 12 months" of year `year` seen at `now`. The reference instant is min(now, the last instant of
 * the year in Europe/Paris — 31 December 23:59:59.999 local); the window is (reference − 12 months,
 * reference]: exclusive at the start, inclusive at the end, so a year gone by counts exactly its calendar
 * year, and the current year counts the 12 months up to now. "− 12 months" is taken on Paris's wall clock
 * (same day and time a year earlier; 29 February → 28 February), so DST never shifts the edge by an hour.
 */
export function activityWindow(year: number, now: Date): { from: Date; to: Date } {
  const endOfYear = zonedWallToInstant(Date.UTC(year + 1, 0, 1), DEFAULT_TIME_ZONE) - 1;
  const reference = Math.min(now.getTime(), endOfYear);
  const w = wallClock(reference, DEFAULT_TIME_ZONE);
  const lastDay = new Date(Date.UTC(w.year - 1, w.month, 0)).getUTCDate();
  const wall = Date.UTC(w.year - 1, w.month - 1, Math.min(w.day, lastDay), w.hour, w.minute, w.second, ((reference % 1000) + 1000) % 1000);
  return { from: new Date(zonedWallToInstant(wall, DEFAULT_TIME_ZONE)), to: new Date(reference) };
}

/** How many of these start instants fall in the window (from, to]. */
export function countInWindow(startedAt: readonly (Date | number)[], window: { from: Date; to: Date }): number {
  const from = window.from.getTime();
  const to = window.to.getTime();
  let n = 0;
  for (const s of startedAt) {
    const t = typeof s === 'number' ? s : s.getTime();
    if (t > from && t <= to) n++;
  }
  return n;
}
