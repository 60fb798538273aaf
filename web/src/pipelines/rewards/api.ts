/**
 * The rewards pipeline's answers, as the Rewards page reads them. They mirror the API contract of the
 * rewards routes (issue 18, `GET /rewards/summary`, `/rewards`, `/rewards/inconsistencies`,
 * `/sport/activities/monthly`, `/rewards/notifications`) by hand: the routes were written alongside this
 * page, so `lib/api.generated.ts` did not hold them yet. Once it does, these can become
 * `ApiGet<'/rewards/summary'>`… like the other pipelines' (a field renamed there then fails to compile here).
 */

/** A year's totals (`year`: the one asked for, by default the current one in Europe/Paris). */
export interface RewardsSummary {
  year: number;
  employees: number;
  bonus_employees: number;
  bonus_total_eur: number;
  bonus_withheld_eur: number;
  wellbeing_employees: number;
  wellbeing_days_total: number;
  inconsistencies: number;
  unchecked: number;
}

/** How a declared commute was checked against its mode's distance limit. */
export type DistanceStatus = 'checked' | 'unchecked' | 'inconsistent' | 'approved' | 'not-applicable';

/** One employee's rewards for one year: a row of the `rewards` table. */
interface Reward {
  year: number;
  employee_id: number;
  first_name: string;
  last_name: string;
  business_unit: string | null;
  /** As the HR file has it, in French (`Marche/running`, `Vélo/Trottinette/Autres`…). */
  commute_mode: string;
  gross_salary: number;
  distance_km: number | null;
  /** `hr-file`, `geocoder`, or null (no distance known). */
  distance_source: string | null;
  /** One of DistanceStatus; typed wider so a value added on the server later still shows. */
  distance_status: string;
  bonus_eligible: boolean;
  bonus_reason: string;
  bonus_eur: number;
  bonus_withheld_eur: number;
  activities_12m: number;
  wellbeing_days: number;
  computed_at: string | null;
}

export interface RewardsList {
  year: number;
  items: Reward[];
  total: number;
  limit: number;
  offset: number;
}

/** A declared commute over its mode's limit: the bonus is withheld until HR approves it. */
interface Inconsistency {
  employee_id: number;
  first_name: string;
  last_name: string;
  business_unit: string | null;
  commute_mode: string;
  home_address: string | null;
  distance_km: number | null;
  limit_km: number | null;
  reason: string;
  bonus_withheld_eur: number;
}

export interface Inconsistencies {
  year: number;
  items: Inconsistency[];
}

/** One sport's activities in one month (`YYYY-MM`, Europe/Paris). */
export interface MonthlyActivity {
  month: string;
  /** As declared, in French (`Randonnée`, `Course à pied`…). */
  sport: string;
  activities: number;
  hours: number;
  distance_km: number | null;
}

export interface MonthlyActivities {
  items: MonthlyActivity[];
}

/** Where a congratulation stands in the Slack outbox (see the `rewards_notifications` table). */
export type NotificationStatus = 'pending' | 'sending' | 'sent' | 'dead' | 'unconfirmed' | 'skipped';

export type NotificationCounts = Record<NotificationStatus, number>;

interface RewardNotification {
  activity_key: string;
  employee_id: number;
  started_at: string;
  message: string;
  /** One of NotificationStatus; typed wider so a value added on the server later still shows. */
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

export interface Notifications {
  counts: NotificationCounts;
  items: RewardNotification[];
  total: number;
  limit: number;
  offset: number;
}
