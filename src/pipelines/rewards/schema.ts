/**
 * The rewards pipeline's warehouse tables: what the API and the dashboard read (never the company database
 * per request). Copies of the company's employees and activities, the computed rewards per employee and
 * year, HR's approvals, the geocoder's cache and the Slack notifier's outbox.
 */
import type { Dataset } from '../../warehouse/dataset.js';

/** The company's employees as last synchronised (the HR file's fields, in English). */
export const REWARDS_EMPLOYEES: Dataset = {
  name: 'rewards_employees',
  columns: [
    ['employee_id', 'INTEGER'],
    ['last_name', 'VARCHAR'],
    ['first_name', 'VARCHAR'],
    ['business_unit', 'VARCHAR'],
    ['hired_on', 'DATE'],
    ['gross_salary', 'DOUBLE PRECISION'],
    ['contract', 'VARCHAR'],
    ['home_address', 'VARCHAR'],
    ['commute_mode', 'VARCHAR'],
    ['declared_distance_km', 'DOUBLE PRECISION'],
    ['declared_sport', 'VARCHAR'],
    ['synced_at', 'TIMESTAMP'],
  ],
  primaryKey: ['employee_id'],
  required: ['last_name', 'first_name', 'gross_salary', 'commute_mode'],
};

/** The company's activities (instants UTC). */
export const SPORT_ACTIVITIES: Dataset = {
  name: 'sport_activities',
  columns: [
    ['employee_id', 'INTEGER'],
    ['started_at', 'TIMESTAMP'],
    ['ended_at', 'TIMESTAMP'],
    ['elapsed_s', 'INTEGER'],
    ['sport', 'VARCHAR'],
    ['distance_m', 'DOUBLE PRECISION'],
    ['comment', 'VARCHAR'],
    ['source', 'VARCHAR'],
    ['recorded_at', 'TIMESTAMP'],
  ],
  primaryKey: ['employee_id', 'started_at'],
  required: ['ended_at', 'elapsed_s', 'sport', 'source'],
};

/**
 * One row per employee and year: the bonus and why, the well-being days, the distance check.
 * `distance_status`: `checked` (within the mode's limit), `unchecked` (no distance known: the declaration is
 * accepted), `inconsistent` (over the limit: the bonus is withheld), `approved` (over, and HR approved it),
 * `not-applicable` (a mode that earns no bonus).
 */
export const REWARDS: Dataset = {
  name: 'rewards',
  columns: [
    ['year', 'INTEGER'],
    ['employee_id', 'INTEGER'],
    ['first_name', 'VARCHAR'],
    ['last_name', 'VARCHAR'],
    ['business_unit', 'VARCHAR'],
    ['commute_mode', 'VARCHAR'],
    ['gross_salary', 'DOUBLE PRECISION'],
    ['distance_km', 'DOUBLE PRECISION'],
    /** `hr-file`, `geocoder`, or null. */
    ['distance_source', 'VARCHAR'],
    ['distance_status', 'VARCHAR'],
    ['bonus_eligible', 'BOOLEAN'],
    /** Why (or why not), in a sentence HR can read. */
    ['bonus_reason', 'VARCHAR'],
    /** Paid: 0 when not eligible or withheld. */
    ['bonus_eur', 'DOUBLE PRECISION'],
    /** Earned by the declared mode but withheld until approved (inconsistent). */
    ['bonus_withheld_eur', 'DOUBLE PRECISION'],
    ['activities_12m', 'INTEGER'],
    ['wellbeing_days', 'INTEGER'],
    ['computed_at', 'TIMESTAMP'],
  ],
  primaryKey: ['year', 'employee_id'],
  required: ['distance_status', 'bonus_eligible', 'bonus_reason', 'bonus_eur', 'bonus_withheld_eur', 'activities_12m', 'wellbeing_days'],
};

/** HR's approval of a declaration found inconsistent: valid while the address and mode stay those approved. */
export const REWARDS_APPROVALS: Dataset = {
  name: 'rewards_approvals',
  columns: [
    ['employee_id', 'INTEGER'],
    ['commute_mode', 'VARCHAR'],
    ['home_address', 'VARCHAR'],
    ['distance_km', 'DOUBLE PRECISION'],
    ['approved_by', 'VARCHAR'],
    ['approved_at', 'TIMESTAMP'],
    ['note', 'VARCHAR'],
  ],
  primaryKey: ['employee_id'],
  required: ['approved_by', 'approved_at'],
};

/** Each address geocoded once: coordinates, or none found (null coordinates, kept so it is not asked again). */
export const REWARDS_GEOCODES: Dataset = {
  name: 'rewards_geocodes',
  columns: [
    ['address', 'VARCHAR'],
    ['longitude', 'DOUBLE PRECISION'],
    ['latitude', 'DOUBLE PRECISION'],
    ['label', 'VARCHAR'],
    ['score', 'DOUBLE PRECISION'],
    ['geocoded_at', 'TIMESTAMP'],
  ],
  primaryKey: ['address'],
  required: ['geocoded_at'],
};

/**
 * The Slack notifier's outbox: one row per activity, whatever the number of events about it, so a message is
 * posted at most once. `status`: `pending`, `sending` (a post under way), `sent`, `dead` (given up after the
 * attempts, `last_error` says why), `unconfirmed` (a post that timed out or whose sender died mid-post: Slack
 * may have shown it, so it is not posted again), `skipped` (too old to congratulate, or deleted before sent).
 */
export const REWARDS_NOTIFICATIONS: Dataset = {
  name: 'rewards_notifications',
  columns: [
    ['activity_key', 'VARCHAR'],
    ['event_id', 'VARCHAR'],
    ['employee_id', 'INTEGER'],
    ['started_at', 'TIMESTAMP'],
    ['message', 'VARCHAR'],
    ['status', 'VARCHAR'],
    ['attempts', 'INTEGER'],
    ['last_error', 'VARCHAR'],
    ['next_attempt_at', 'TIMESTAMP'],
    ['created_at', 'TIMESTAMP'],
    ['sent_at', 'TIMESTAMP'],
  ],
  primaryKey: ['activity_key'],
  required: ['employee_id', 'started_at', 'message', 'status', 'attempts', 'created_at'],
};

export const REWARDS_DATASETS = [REWARDS, REWARDS_EMPLOYEES, SPORT_ACTIVITIES, REWARDS_APPROVALS, REWARDS_GEOCODES, REWARDS_NOTIFICATIONS] as const;
