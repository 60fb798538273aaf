import { Type } from '@sinclair/typebox';
import type { Config } from '../../config/config.js';
import { isInstant } from '../../time/instants.js';
import { dayBounds, DEFAULT_TIME_ZONE, parseDay, wallClock } from '../../time/zones.js';
import type { SqlParam } from '../../warehouse/warehouse.js';
import { ErrorBody, isMissingTable, isoInstant, list, nullable, Paging, rowsOrEmpty } from '../kit/routeHelpers.js';
import { badRequest, defineRoute, notFound, type RouteSpec } from '../kit/routeSpec.js';
import { activityKey, insertActivities, openCompanyDb, type Activity } from './companyDb.js';
import { listNotifications, NOTIFICATION_STATUSES } from './outbox.js';
import { limitKm, yearOf } from './rules.js';
import { rewardsConfig } from './settings.js';

/**
 * The rewards API (docs/pipelines/rewards.md): the year's totals, the rewards per employee, one employee's
 * file, the inconsistent declarations, the activities (listed and by month) and the Slack outbox; and the one
 * write, an activity declared by hand. Everything is read from the warehouse, never the company database,
 * except the write, which goes to the company database (the source of truth) like the activity pull.
 */

const TAGS = ['rewards'] as const;

const Reward = Type.Object(
  {
    year: Type.Integer(),
    employee_id: Type.Integer(),
    first_name: Type.String(),
    last_name: Type.String(),
    business_unit: nullable(Type.String()),
    commute_mode: Type.String(),
    gross_salary: Type.Number(),
    distance_km: nullable(Type.Number()),
    distance_source: nullable(Type.String({ description: 'hr-file or geocoder' })),
    distance_status: Type.String({ description: 'checked, unchecked, inconsistent, approved or not-applicable' }),
    bonus_eligible: Type.Boolean({ description: 'the bonus is paid (false for modes without one, and while an inconsistent declaration waits)' }),
    bonus_reason: Type.String(),
    bonus_eur: Type.Number(),
    bonus_withheld_eur: Type.Number(),
    activities_12m: Type.Integer(),
    wellbeing_days: Type.Integer(),
    computed_at: nullable(Type.String()),
  },
  { $id: 'Reward' },
);

const Employee = Type.Object({
  employee_id: Type.Integer(),
  last_name: Type.String(),
  first_name: Type.String(),
  business_unit: nullable(Type.String()),
  hired_on: nullable(Type.String()),
  gross_salary: Type.Number(),
  contract: nullable(Type.String()),
  home_address: nullable(Type.String()),
  commute_mode: Type.String(),
  declared_distance_km: nullable(Type.Number()),
  declared_sport: nullable(Type.String()),
  synced_at: nullable(Type.String()),
});

const Activity = Type.Object({
  employee_id: Type.Integer(),
  first_name: nullable(Type.String()),
  last_name: nullable(Type.String()),
  started_at: Type.String({ description: 'instant, UTC' }),
  ended_at: Type.String(),
  elapsed_s: Type.Integer(),
  sport: Type.String(),
  distance_m: nullable(Type.Number()),
  comment: nullable(Type.String()),
  source: Type.String({ description: 'strava (pulled) or declared (POST /rewards/activities)' }),
});

const Approval = Type.Object({
  approved_by: Type.String(),
  approved_at: Type.String(),
  note: nullable(Type.String()),
  commute_mode: nullable(Type.String()),
  home_address: nullable(Type.String()),
  distance_km: nullable(Type.Number()),
});

const Inconsistency = Type.Object({
  employee_id: Type.Integer(),
  first_name: Type.String(),
  last_name: Type.String(),
  business_unit: nullable(Type.String()),
  commute_mode: Type.String(),
  home_address: nullable(Type.String()),
  distance_km: nullable(Type.Number()),
  limit_km: nullable(Type.Number()),
  reason: Type.String(),
  bonus_withheld_eur: Type.Number(),
});

const Notification = Type.Object({
  activity_key: Type.String(),
  employee_id: Type.Integer(),
  started_at: Type.String(),
  message: Type.String(),
  status: Type.String({ description: 'pending, sending, sent, dead, unconfirmed or skipped' }),
  attempts: Type.Integer(),
  last_error: nullable(Type.String()),
  created_at: Type.String(),
  sent_at: nullable(Type.String()),
});

const Year = Type.Integer({ minimum: 2000, maximum: 2100, description: 'default: the current year (Europe/Paris)' });
const Day = (what: string) => Type.String({ description: `${what}: a calendar day YYYY-MM-DD (Europe/Paris), inclusive`, examples: ['2025-01-01'] });

const cents = (v: unknown) => Math.round(Number(v ?? 0) * 100) / 100;
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown) => (v === null || v === undefined ? null : String(v));
const bool = (v: unknown) => v === true || v === 'true' || v === 1;

function rewardItem(r: Record<string, unknown>) {
  return {
    year: Number(r.year),
    employee_id: Number(r.employee_id),
    first_name: String(r.first_name),
    last_name: String(r.last_name),
    business_unit: strOrNull(r.business_unit),
    commute_mode: String(r.commute_mode),
    gross_salary: Number(r.gross_salary),
    distance_km: numOrNull(r.distance_km),
    distance_source: strOrNull(r.distance_source),
    distance_status: String(r.distance_status),
    bonus_eligible: bool(r.bonus_eligible),
    bonus_reason: String(r.bonus_reason),
    bonus_eur: cents(r.bonus_eur),
    bonus_withheld_eur: cents(r.bonus_withheld_eur),
    activities_12m: Number(r.activities_12m),
    wellbeing_days: Number(r.wellbeing_days),
    computed_at: isoInstant(r.computed_at),
  };
}

function activityItem(r: Record<string, unknown>) {
  return {
    employee_id: Number(r.employee_id),
    first_name: strOrNull(r.first_name),
    last_name: strOrNull(r.last_name),
    started_at: isoInstant(r.started_at) ?? '',
    ended_at: isoInstant(r.ended_at) ?? '',
    elapsed_s: Number(r.elapsed_s),
    sport: String(r.sport),
    distance_m: numOrNull(r.distance_m),
    comment: strOrNull(r.comment),
    source: String(r.source),
  };
}

/** A naive UTC timestamp parameter, as the warehouse stores instants. */
const ts = (d: Date) => d.toISOString().slice(0, 23).replace('T', ' ');

/** The `[from, to)` instants of a range of Paris days (both days inclusive); either side may be open. */
function dayRange(from: string | undefined, to: string | undefined): { from: Date | null; to: Date | null } {
  const bound = (name: string, day: string | undefined, edge: 'from' | 'to') => {
    if (day === undefined) return null;
    if (parseDay(day) === null) throw badRequest(`${name} must be a calendar day YYYY-MM-DD, got "${day}"`);
    return dayBounds(day, DEFAULT_TIME_ZONE)[edge];
  };
  const range = { from: bound('from', from, 'from'), to: bound('to', to, 'to') };
  if (range.from && range.to && range.from >= range.to) throw badRequest(`from (${from}) is after to (${to})`);
  return range;
}

function activityFilter(query: { from?: string; to?: string; sport?: string }): { where: string; params: SqlParam[] } {
  const { from, to } = dayRange(query.from, query.to);
  const clauses: string[] = [];
  const params: SqlParam[] = [];
  if (from) {
    params.push(ts(from));
    clauses.push(`a.started_at >= CAST($${params.length} AS TIMESTAMP)`);
  }
  if (to) {
    params.push(ts(to));
    clauses.push(`a.started_at < CAST($${params.length} AS TIMESTAMP)`);
  }
  if (query.sport) {
    params.push(query.sport);
    clauses.push(`a.sport = $${params.length}`);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

const currentYear = (year: number | undefined) => year ?? yearOf(new Date());

const rewardsSettings = (config: Config | undefined) => {
  if (!config) throw new Error('the rewards routes need the platform configuration');
  return rewardsConfig.settings(config);
};

/** Validates a declared activity; throws a 400 saying what is wrong. */
export function declaredActivity(body: DeclaredActivity): Activity {
  const instant = (name: string, v: string) => {
    if (!isInstant(v)) throw badRequest(`${name} must be an ISO 8601 instant with a zone (2025-08-17T08:00:00Z), got "${v}"`);
    return new Date(v);
  };
  const started = instant('started_at', body.started_at);
  const sport = body.sport.trim();
  if (!sport) throw badRequest('sport must not be empty');
  let ended: Date;
  let elapsed: number;
  if (body.ended_at !== undefined) {
    ended = instant('ended_at', body.ended_at);
    if (ended <= started) throw badRequest(`ended_at (${body.ended_at}) must be after started_at (${body.started_at})`);
    elapsed = body.elapsed_s ?? Math.round((ended.getTime() - started.getTime()) / 1000);
    if (elapsed <= 0) throw badRequest('elapsed_s must be greater than 0');
  } else if (body.elapsed_s !== undefined) {
    elapsed = body.elapsed_s;
    if (elapsed <= 0) throw badRequest('elapsed_s must be greater than 0');
    ended = new Date(started.getTime() + elapsed * 1000);
  } else {
    throw badRequest('give ended_at or elapsed_s');
  }
  if (body.distance_m !== undefined && body.distance_m !== null && !(body.distance_m >= 0)) throw badRequest('distance_m must be 0 or more');
  return {
    employee_id: body.employee_id,
    started_at: started,
    ended_at: ended,
    elapsed_s: elapsed,
    sport,
    distance_m: body.distance_m ?? null,
    comment: body.comment?.trim() || null,
    source: 'declared',
  };
}

const DeclaredActivityBody = Type.Object(
  {
    employee_id: Type.Integer({ minimum: 1 }),
    started_at: Type.String({ description: 'ISO 8601 instant with its zone', examples: ['2025-08-17T08:00:00+02:00'] }),
    ended_at: Type.Optional(Type.String({ description: 'ISO 8601 instant, after started_at (or give elapsed_s)' })),
    elapsed_s: Type.Optional(Type.Integer({ description: 'seconds, > 0 (or give ended_at)' })),
    sport: Type.String({ maxLength: 100 }),
    distance_m: Type.Optional(nullable(Type.Number({ description: 'metres, ≥ 0, for distance sports' }))),
    comment: Type.Optional(nullable(Type.String({ maxLength: 1000 }))),
  },
  { additionalProperties: false },
);
type DeclaredActivity = {
  employee_id: number;
  started_at: string;
  ended_at?: string;
  elapsed_s?: number;
  sport: string;
  distance_m?: number | null;
  comment?: string | null;
};

export const rewardsRoutes: RouteSpec[] = [
  defineRoute({
    method: 'GET',
    url: '/rewards/summary',
    summary: 'The year’s totals: employees, bonuses paid and withheld, well-being days, inconsistent and unchecked declarations',
    tags: TAGS,
    cacheable: true,
    schema: {
      querystring: Type.Object({ year: Type.Optional(Year) }),
      response: {
        200: Type.Object({
          year: Type.Integer(),
          employees: Type.Integer(),
          bonus_employees: Type.Integer(),
          bonus_total_eur: Type.Number(),
          bonus_withheld_eur: Type.Number(),
          wellbeing_employees: Type.Integer(),
          wellbeing_days_total: Type.Integer(),
          inconsistencies: Type.Integer(),
          unchecked: Type.Integer(),
        }),
      },
    },
    async handler({ warehouse, query }) {
      const year = currentYear(query.year);
      const [r] = await rowsOrEmpty(
        warehouse,
        `SELECT count(*) AS employees,
           sum(CASE WHEN bonus_eur > 0 THEN 1 ELSE 0 END) AS bonus_employees,
           sum(bonus_eur) AS bonus_total_eur,
           sum(bonus_withheld_eur) AS bonus_withheld_eur,
           sum(CASE WHEN wellbeing_days > 0 THEN 1 ELSE 0 END) AS wellbeing_employees,
           sum(wellbeing_days) AS wellbeing_days_total,
           sum(CASE WHEN distance_status = 'inconsistent' THEN 1 ELSE 0 END) AS inconsistencies,
           sum(CASE WHEN distance_status = 'unchecked' THEN 1 ELSE 0 END) AS unchecked
         FROM rewards WHERE year = $1`,
        [year],
      );
      const n = (k: string) => Number(r?.[k] ?? 0);
      return {
        year,
        employees: n('employees'),
        bonus_employees: n('bonus_employees'),
        bonus_total_eur: cents(r?.bonus_total_eur),
        bonus_withheld_eur: cents(r?.bonus_withheld_eur),
        wellbeing_employees: n('wellbeing_employees'),
        wellbeing_days_total: n('wellbeing_days_total'),
        inconsistencies: n('inconsistencies'),
        unchecked: n('unchecked'),
      };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/rewards',
    summary: 'The rewards of a year, one row per employee (by name)',
    tags: TAGS,
    access: 'read',
    cacheable: true,
    schema: {
      querystring: Type.Object({ year: Type.Optional(Year), ...Paging }),
      response: { 200: Type.Composite([Type.Object({ year: Type.Integer() }), list(Reward)]) },
    },
    async handler({ warehouse, query }) {
      const year = currentYear(query.year);
      const items = await rowsOrEmpty(
        warehouse,
        `SELECT * FROM rewards WHERE year = $1 ORDER BY last_name, first_name, employee_id LIMIT ${query.limit} OFFSET ${query.offset}`,
        [year],
      );
      const total = Number((await rowsOrEmpty(warehouse, `SELECT count(*) AS n FROM rewards WHERE year = $1`, [year]))[0]?.n ?? 0);
      return { year, items: items.map(rewardItem), total, limit: query.limit, offset: query.offset };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/rewards/employees/:id',
    summary: 'One employee: HR data, rewards by year (latest first), HR’s approval, latest 50 activities',
    tags: TAGS,
    access: 'read',
    cacheable: true,
    schema: {
      params: Type.Object({ id: Type.Integer({ minimum: 0 }) }),
      response: {
        200: Type.Object({ employee: Employee, rewards: Type.Array(Reward), approval: nullable(Approval), activities: Type.Array(Activity) }),
        404: ErrorBody,
      },
    },
    async handler({ warehouse, params }) {
      const id = params.id;
      const [e] = await rowsOrEmpty(warehouse, `SELECT * FROM rewards_employees WHERE employee_id = $1`, [id]);
      if (!e) throw notFound(`no employee ${id}`);
      const rewards = await rowsOrEmpty(warehouse, `SELECT * FROM rewards WHERE employee_id = $1 ORDER BY year DESC`, [id]);
      const [a] = await rowsOrEmpty(warehouse, `SELECT * FROM rewards_approvals WHERE employee_id = $1`, [id]);
      const activities = await rowsOrEmpty(
        warehouse,
        `SELECT a.*, e.first_name, e.last_name FROM sport_activities a LEFT JOIN rewards_employees e ON e.employee_id = a.employee_id
         WHERE a.employee_id = $1 ORDER BY a.started_at DESC LIMIT 50`,
        [id],
      );
      return {
        employee: {
          employee_id: Number(e.employee_id),
          last_name: String(e.last_name),
          first_name: String(e.first_name),
          business_unit: strOrNull(e.business_unit),
          hired_on: strOrNull(e.hired_on)?.slice(0, 10) ?? null,
          gross_salary: Number(e.gross_salary),
          contract: strOrNull(e.contract),
          home_address: strOrNull(e.home_address),
          commute_mode: String(e.commute_mode),
          declared_distance_km: numOrNull(e.declared_distance_km),
          declared_sport: strOrNull(e.declared_sport),
          synced_at: isoInstant(e.synced_at),
        },
        rewards: rewards.map(rewardItem),
        approval: a
          ? {
              approved_by: String(a.approved_by),
              approved_at: isoInstant(a.approved_at) ?? '',
              note: strOrNull(a.note),
              commute_mode: strOrNull(a.commute_mode),
              home_address: strOrNull(a.home_address),
              distance_km: numOrNull(a.distance_km),
            }
          : null,
        activities: activities.map(activityItem),
      };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/rewards/inconsistencies',
    summary: 'Declarations over the distance limit of their mode: listed with the distance and why, bonus withheld until approved',
    tags: TAGS,
    access: 'read',
    cacheable: true,
    schema: {
      querystring: Type.Object({ year: Type.Optional(Year) }),
      response: { 200: Type.Object({ year: Type.Integer(), items: Type.Array(Inconsistency) }) },
    },
    async handler({ warehouse, query, config }) {
      const year = currentYear(query.year);
      const { rules } = rewardsSettings(config);
      const rows = await rowsOrEmpty(
        warehouse,
        `SELECT r.employee_id, r.first_name, r.last_name, r.business_unit, r.commute_mode, e.home_address, r.distance_km, r.bonus_reason,
           r.bonus_withheld_eur
         FROM rewards r LEFT JOIN rewards_employees e ON e.employee_id = r.employee_id
         WHERE r.year = $1 AND r.distance_status = 'inconsistent'
         ORDER BY r.distance_km DESC, r.last_name, r.first_name, r.employee_id`,
        [year],
      );
      return {
        year,
        items: rows.map((r) => ({
          employee_id: Number(r.employee_id),
          first_name: String(r.first_name),
          last_name: String(r.last_name),
          business_unit: strOrNull(r.business_unit),
          commute_mode: String(r.commute_mode),
          home_address: strOrNull(r.home_address),
          distance_km: numOrNull(r.distance_km),
          limit_km: limitKm(String(r.commute_mode), rules),
          reason: String(r.bonus_reason),
          bonus_withheld_eur: cents(r.bonus_withheld_eur),
        })),
      };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/sport/activities',
    summary: 'Activities, latest first: a range of days (Europe/Paris, both inclusive), a sport',
    tags: TAGS,
    access: 'read',
    cacheable: true,
    schema: {
      querystring: Type.Object({ from: Type.Optional(Day('first day')), to: Type.Optional(Day('last day')), sport: Type.Optional(Type.String()), ...Paging }),
      response: { 200: list(Activity), 400: ErrorBody },
    },
    async handler({ warehouse, query }) {
      const { where, params } = activityFilter(query);
      const items = await rowsOrEmpty(
        warehouse,
        `SELECT a.*, e.first_name, e.last_name FROM sport_activities a LEFT JOIN rewards_employees e ON e.employee_id = a.employee_id
         ${where} ORDER BY a.started_at DESC, a.employee_id LIMIT ${query.limit} OFFSET ${query.offset}`,
        params,
      );
      const total = Number((await rowsOrEmpty(warehouse, `SELECT count(*) AS n FROM sport_activities a ${where}`, params))[0]?.n ?? 0);
      return { items: items.map(activityItem), total, limit: query.limit, offset: query.offset };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/sport/activities/monthly',
    summary: 'Activities by month (Europe/Paris) and sport: count, hours, km',
    tags: TAGS,
    cacheable: true,
    schema: {
      querystring: Type.Object({ from: Type.Optional(Day('first day')), to: Type.Optional(Day('last day')) }),
      response: {
        200: Type.Object({
          items: Type.Array(
            Type.Object({
              month: Type.String({ description: 'YYYY-MM' }),
              sport: Type.String(),
              activities: Type.Integer(),
              hours: Type.Number(),
              distance_km: nullable(Type.Number({ description: 'null for a sport without distance (no activity of the group had one)' })),
            }),
          ),
        }),
        400: ErrorBody,
      },
    },
    async handler({ warehouse, query }) {
      const { where, params } = activityFilter(query);
      // Months of Paris's calendar, counted here: time-zone conversion in SQL is spelt differently by each warehouse.
      const rows = await rowsOrEmpty(warehouse, `SELECT a.started_at, a.sport, a.elapsed_s, a.distance_m FROM sport_activities a ${where}`, params);
      const groups = new Map<string, { month: string; sport: string; activities: number; seconds: number; metres: number | null }>();
      for (const r of rows) {
        const w = wallClock(Date.parse(isoInstant(r.started_at) ?? ''), DEFAULT_TIME_ZONE);
        const month = `${w.year}-${String(w.month).padStart(2, '0')}`;
        const sport = String(r.sport);
        const key = `${month}\u0000${sport}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { month, sport, activities: 0, seconds: 0, metres: null }));
        g.activities++;
        g.seconds += Number(r.elapsed_s ?? 0);
        if (r.distance_m !== null && r.distance_m !== undefined) g.metres = (g.metres ?? 0) + Number(r.distance_m);
      }
      const items = [...groups.values()]
        .sort((a, b) => (a.month === b.month ? a.sport.localeCompare(b.sport) : a.month < b.month ? -1 : 1))
        .map((g) => ({
          month: g.month,
          sport: g.sport,
          activities: g.activities,
          hours: Math.round((g.seconds / 3600) * 100) / 100,
          distance_km: g.metres === null ? null : Math.round(g.metres / 100) / 10,
        }));
      return { items };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/rewards/notifications',
    summary: 'The Slack congratulations: counts by status and the feed (latest first), dead letters with their last error',
    tags: TAGS,
    access: 'read',
    cacheable: true,
    schema: {
      querystring: Type.Object({ status: Type.Optional(Type.Union(NOTIFICATION_STATUSES.map((s) => Type.Literal(s)))), ...Paging }),
      response: {
        200: Type.Composite([
          Type.Object({ counts: Type.Object(Object.fromEntries(NOTIFICATION_STATUSES.map((s) => [s, Type.Integer()]))) }),
          list(Notification),
        ]),
      },
    },
    async handler({ warehouse, query }) {
      let answer;
      try {
        answer = await listNotifications(warehouse, { status: query.status, limit: query.limit, offset: query.offset });
      } catch (err) {
        // No outbox yet (the notifier never ran): an empty feed.
        if (!isMissingTable(err)) throw err;
        const counts = Object.fromEntries(NOTIFICATION_STATUSES.map((s) => [s, 0]));
        return { counts, items: [], total: 0, limit: query.limit, offset: query.offset };
      }
      return {
        ...answer,
        items: answer.items.map((r) => ({
          ...r,
          started_at: isoInstant(r.started_at) ?? '',
          created_at: isoInstant(r.created_at) ?? '',
          sent_at: isoInstant(r.sent_at),
        })),
      };
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/rewards/activities',
    summary: 'Declares an activity by hand (source declared); an activity already known (same employee and start) is left as it is',
    tags: TAGS,
    access: 'write',
    status: 201,
    schema: {
      body: DeclaredActivityBody,
      response: {
        201: Type.Object({ activity_key: Type.String(), inserted: Type.Boolean({ description: 'false: an activity of that employee already started then' }) }),
        400: ErrorBody,
      },
    },
    async handler({ warehouse, config, body }) {
      const activity = declaredActivity(body as DeclaredActivity);
      // Opened per declaration (a hand-made one now and then): no pool outlives the request.
      const company = await openCompanyDb(rewardsSettings(config).database, warehouse);
      try {
        const known = await company.query(`SELECT 1 AS known FROM employees WHERE employee_id = $1`, [activity.employee_id]);
        if (known.length === 0) throw badRequest(`employee ${activity.employee_id} is not in the company's employees`);
        const inserted = await insertActivities(company, [activity]);
        return { activity_key: activityKey(activity.employee_id, activity.started_at), inserted: inserted > 0 };
      } finally {
        await company.close();
      }
    },
  }),
  defineRoute({
    method: 'POST',
    url: '/rewards/employees/:id/approval',
    summary: "HR approves an employee's declaration found inconsistent: the withheld bonus is paid (who and when recorded)",
    description: 'The approval holds while the commute mode and the home address stay those approved (ecluse rewards approve).',
    tags: TAGS,
    access: 'write',
    status: 201,
    schema: {
      params: Type.Object({ id: Type.Integer({ minimum: 1 }) }),
      body: Type.Object(
        { by: Type.String({ minLength: 1, description: 'who approves' }), note: Type.Optional(Type.String({ description: 'why, kept with the approval' })) },
        { additionalProperties: false },
      ),
      response: { 201: Type.Object({ approval: Approval, reward: Reward }), 400: ErrorBody },
    },
    async handler({ warehouse, config, params, body }) {
      const { approveEmployee, ApprovalError } = await import('./approve.js');
      const { by, note } = body as { by: string; note?: string };
      try {
        const { approval, reward } = await approveEmployee({
          warehouse,
          employeeId: params.id,
          by,
          note,
          now: new Date(),
          rules: rewardsSettings(config).rules,
        });
        return {
          approval: { ...approval, approved_at: approval.approved_at.toISOString() },
          reward: rewardItem({ ...reward, computed_at: reward.computed_at.toISOString() }),
        };
      } catch (err) {
        if (err instanceof ApprovalError) throw badRequest(err.message);
        throw err;
      }
    },
  }),
];
