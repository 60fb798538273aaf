import type { ApiGet, ApiItem } from '../../lib/api.js';

/** The rewards pipeline's answers, as the Rewards page reads them (types from the server's OpenAPI). */

/** A year's totals (`year`: the one asked for, by default the current one in Europe/Paris). */
export type RewardsSummary = ApiGet<'/rewards/summary'>;
/** One row per employee of a year's `rewards` table, paged. */
export type RewardsList = ApiGet<'/rewards'>;
/** Declared commutes over their mode's limit: the bonus is withheld until HR approves them. */
export type Inconsistencies = ApiGet<'/rewards/inconsistencies'>;
/** Activities by Paris month (`YYYY-MM`) and sport (as declared, in French). */
export type MonthlyActivities = ApiGet<'/sport/activities/monthly'>;
export type MonthlyActivity = ApiItem<'/sport/activities/monthly'>;
/** The Slack outbox: counts by status and the feed. */
export type Notifications = ApiGet<'/rewards/notifications'>;
export type NotificationCounts = Notifications['counts'];
/** Where a congratulation stands in the Slack outbox (the `status` filter the API takes). */
export type NotificationStatus = keyof NotificationCounts;

/**
 * How a declared commute was checked against its mode's distance limit. The API types `distance_status` as
 * a string (a value added on the server later still shows); these are the ones the page explains.
 */
export type DistanceStatus = 'checked' | 'unchecked' | 'inconsistent' | 'approved' | 'not-applicable';
