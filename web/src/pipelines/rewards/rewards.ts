/**
 * The Rewards page's data shaping: the year it shows, the months of its chart, monthly rows laid out as
 * stacked series (months × sports), euros, hours and kilometres as HR reads them, the Slack outbox's
 * statuses. DOM-free and React-free: unit-tested (test/web/rewards.test.ts).
 */
import { formatCount, formatNumber } from '../../lib/format.js';
import { numberOrNull } from '../../lib/series.js';
import { dayInZone } from '../../lib/zone.js';
import type { DistanceStatus, MonthlyActivity, NotificationCounts, NotificationStatus } from './api.js';

/** HR's year and months are Paris ones, as the server computes them. */
export const PARIS = 'Europe/Paris';

/** What the empty page tells HR to run: nothing is shown before the HR and sport files are loaded. */
export const IMPORT_COMMAND = 'ecluse rewards import --hr FILE --sports FILE';

/** Rows of the per-employee table per page. */
export const REWARDS_PAGE_SIZE = 25;

/** Messages of the notification feed shown at once (the latest). */
export const FEED_SIZE = 25;

const DASH = '—';

/** The Paris day (`YYYY-MM-DD`) of an instant (ms). */
export function parisToday(now: number): string {
  const iso = new Date(now).toISOString();
  return dayInZone(iso, PARIS) ?? iso.slice(0, 10);
}

/** The Paris year of an instant (ms): HR's year turns at midnight in Paris, an hour before UTC's. */
export function parisYear(now: number): number {
  return Number(parisToday(now).slice(0, 4));
}

/** The year a URL's `year` names, if it is one the page can ask for (four digits, 2000 to 2100). */
export function yearParam(v: string | undefined): number | null {
  if (v === undefined || !/^\d{4}$/.test(v)) return null;
  const n = Number(v);
  return n >= 2000 && n <= 2100 ? n : null;
}

/** The years of the selector: this year and the four before it, and the one shown when it is none of them; latest first. */
export function yearChoices(current: number, shown: number): number[] {
  const years = new Set<number>();
  for (let y = current; y > current - 5; y--) years.add(y);
  years.add(shown);
  return [...years].sort((a, b) => b - a);
}

/** A year as the days `GET /sport/activities/monthly` takes (`from`, `to` inclusive). */
export function yearRange(year: number): { from: string; to: string } {
  return { from: `${year}-01-01`, to: `${year}-12-31` };
}

/** The months (`YYYY-MM`) of a year the chart shows: all twelve of a past year, up to this month for this year, none of a future one. */
export function yearMonths(year: number, today: string): string[] {
  const thisYear = Number(today.slice(0, 4));
  const last = year < thisYear ? 12 : year === thisYear ? Number(today.slice(5, 7)) : 0;
  return Array.from({ length: last }, (_, i) => `${year}-${String(i + 1).padStart(2, '0')}`);
}

const MONTH = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', month: 'short', year: 'numeric' });

/** "2025-03" as "Mar 2025"; not a month: shown as given. */
export function monthLabel(month: string): string {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) return month;
  return MONTH.format(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
}

/** What the bars measure: the activities' count, their time, or their distance. */
export type Measure = 'activities' | 'hours' | 'distance_km';

export const MEASURES: Readonly<Record<Measure, { label: string; axis: string }>> = {
  activities: { label: 'Activities', axis: 'activities' },
  hours: { label: 'Hours', axis: 'hours' },
  distance_km: { label: 'Distance', axis: 'km' },
};

export function measureParam(v: string | undefined): Measure {
  return v !== undefined && Object.hasOwn(MEASURES, v) ? (v as Measure) : 'activities';
}

/** One sport's bars, a value per month of `months` (null: a distance the sport never has). */
interface SportSeries {
  sport: string;
  values: Array<number | null>;
  total: number;
}

export interface MonthlyChart {
  months: string[];
  sports: SportSeries[];
}

const FRENCH = new Intl.Collator('fr');

/**
 * Monthly rows as stacked bars: one series per sport, a value per month. A month a sport has no row in is
 * 0 (nobody did it that month), except for the distance of a sport none of whose rows has one (yoga):
 * that sport has no distance bars at all rather than zeros. Months of the rows outside `months` are added,
 * so nothing the server answered is dropped. Sports by their total, largest first (the biggest at the
 * bottom of the stack), then by name.
 */
export function monthlySeries(items: readonly MonthlyActivity[], months: readonly string[], measure: Measure): MonthlyChart {
  const allMonths = [...new Set([...months, ...items.map((i) => i.month)])].sort();
  const index = new Map(allMonths.map((m, i) => [m, i]));
  const bySport = new Map<string, Array<number | null>>();
  for (const item of items) {
    let values = bySport.get(item.sport);
    if (!values) {
      values = allMonths.map(() => null);
      bySport.set(item.sport, values);
    }
    const i = index.get(item.month) as number;
    const v = numberOrNull(item[measure]);
    if (v !== null) values[i] = (values[i] ?? 0) + v;
  }
  const sports: SportSeries[] = [];
  for (const [sport, values] of bySport) {
    if (values.every((v) => v === null)) continue;
    const filled = values.map((v) => v ?? 0);
    sports.push({ sport, values: filled, total: filled.reduce((a, b) => a + b, 0) });
  }
  sports.sort((a, b) => b.total - a.total || FRENCH.compare(a.sport, b.sport));
  return { months: allMonths, sports };
}

/** A palette that stays readable stacked (12 colours; a 13th sport starts over). */
const PALETTE = ['#1565c0', '#2e7d32', '#f9a825', '#c62828', '#6a1b9a', '#00838f', '#ef6c00', '#5d4037', '#ad1457', '#558b2f', '#283593', '#757575'];

export function sportColor(index: number): string {
  return PALETTE[index % PALETTE.length] as string;
}

/** A measure's value as the tooltip shows it. */
export function formatMeasure(v: number | null | undefined, measure: Measure): string {
  if (measure === 'hours') return formatHours(v);
  if (measure === 'distance_km') return formatKm(v);
  return formatCount(v);
}

/** The stacked bar chart's ECharts option: months along x, a bar stacked per sport. */
export function monthlyChartOption(chart: MonthlyChart, measure: Measure) {
  return {
    animation: false,
    grid: { left: 60, right: 20, top: 50, bottom: 40 },
    legend: { top: 0, type: 'scroll' },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v: unknown) => formatMeasure(typeof v === 'number' ? v : null, measure) },
    xAxis: { type: 'category', data: chart.months.map(monthLabel) },
    yAxis: { type: 'value', name: MEASURES[measure].axis },
    series: chart.sports.map((s, i) => ({
      type: 'bar',
      id: `sport:${s.sport}`,
      name: s.sport,
      stack: 'sports',
      data: s.values,
      itemStyle: { color: sportColor(i) },
      emphasis: { focus: 'series' },
    })),
  };
}

const EUR = new Intl.NumberFormat('fr-FR', { style: 'currency', currency: 'EUR', minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** Euros as the HR team writes them: "1 547,00 €" (French grouping and decimal comma); null is a dash. */
export function formatEur(v: number | null | undefined): string {
  const n = numberOrNull(v);
  return n === null ? DASH : EUR.format(n);
}

/** Hours as "12 h 05 min", "45 min" (to the minute); null is a dash. */
export function formatHours(h: number | null | undefined): string {
  const n = numberOrNull(h);
  if (n === null || n < 0) return DASH;
  const minutes = Math.round(n * 60);
  const hh = Math.floor(minutes / 60);
  const mm = minutes % 60;
  if (hh === 0) return `${mm} min`;
  return `${formatCount(hh)} h ${String(mm).padStart(2, '0')} min`;
}

/** Kilometres with one decimal: "27.3 km"; null is a dash. */
export function formatKm(v: number | null | undefined, decimals = 1): string {
  const n = numberOrNull(v);
  return n === null ? DASH : `${formatNumber(n, decimals)} km`;
}

/** How far over its limit a declared distance is, in km (null when either is unknown). */
export function overLimit(distance: number | null | undefined, limit: number | null | undefined): number | null {
  const d = numberOrNull(distance);
  const l = numberOrNull(limit);
  return d === null || l === null ? null : d - l;
}

/** "27.3 km / 25.0 km limit", with what is over: the inconsistencies table's distance column. */
export function distanceVsLimit(distance: number | null | undefined, limit: number | null | undefined): string {
  const over = overLimit(distance, limit);
  const base = `${formatKm(distance)} / ${formatKm(limit)}`;
  return over !== null && over > 0 ? `${base} (+${formatKm(over)})` : base;
}

export function employeeName(r: { first_name: string | null; last_name: string | null }): string {
  return [r.first_name, r.last_name].filter((s) => s).join(' ') || DASH;
}

interface StatusInfo {
  label: string;
  color: string;
  /** What HR should know of it (a tooltip). */
  meaning: string;
  /** Needs someone to look: a message given up, or one that may or may not have reached Slack. */
  alarming: boolean;
}

/** The outbox's statuses in the order a message goes through them, then the ones it ends in. */
const NOTIFICATION_STATUSES: Readonly<Record<NotificationStatus, StatusInfo>> = {
  pending: { label: 'Pending', color: '#1565c0', meaning: 'waiting to be posted', alarming: false },
  sending: { label: 'Sending', color: '#00838f', meaning: 'a post is under way', alarming: false },
  sent: { label: 'Sent', color: '#2e7d32', meaning: 'posted to Slack', alarming: false },
  unconfirmed: {
    label: 'Unconfirmed',
    color: '#e65100',
    meaning: 'the post timed out or its sender stopped mid-post: Slack may have shown it, so it is not posted again',
    alarming: true,
  },
  dead: { label: 'Dead letter', color: '#c62828', meaning: 'given up after its attempts (see the last error)', alarming: true },
  skipped: { label: 'Skipped', color: '#757575', meaning: 'too old to congratulate, or deleted before it was sent', alarming: false },
};

function isNotificationStatus(s: string): s is NotificationStatus {
  return Object.hasOwn(NOTIFICATION_STATUSES, s);
}

export function statusInfo(status: string): StatusInfo {
  return isNotificationStatus(status) ? NOTIFICATION_STATUSES[status] : { label: status, color: '#757575', meaning: status, alarming: false };
}

export interface StatusCount {
  status: NotificationStatus;
  label: string;
  count: number;
  color: string;
  meaning: string;
  /** Dead letters or unconfirmed posts there are some of: shown in the warning colour. */
  highlight: boolean;
}

/** The counts of `GET /rewards/notifications` in the outbox's order; a status the answer lacks counts 0. */
export function statusCounts(counts: Partial<NotificationCounts> | null | undefined): StatusCount[] {
  return (Object.keys(NOTIFICATION_STATUSES) as NotificationStatus[]).map((status) => {
    const info = NOTIFICATION_STATUSES[status];
    const count = numberOrNull(counts?.[status]) ?? 0;
    return { status, label: info.label, count, color: info.color, meaning: info.meaning, highlight: info.alarming && count > 0 };
  });
}

/** The outbox's messages in all: the counts' sum. */
export function totalMessages(counts: Partial<NotificationCounts> | null | undefined): number {
  return statusCounts(counts).reduce((n, c) => n + c.count, 0);
}

export function notificationStatusParam(v: string | undefined): NotificationStatus | null {
  return v !== undefined && isNotificationStatus(v) ? v : null;
}

/** The distance check's statuses as the rewards table shows them. */
const DISTANCE_STATUSES: Readonly<Record<DistanceStatus, { label: string; color: string }>> = {
  checked: { label: 'checked', color: '#2e7d32' },
  unchecked: { label: 'distance unchecked', color: '#757575' },
  inconsistent: { label: 'inconsistent', color: '#c62828' },
  approved: { label: 'approved', color: '#1565c0' },
  'not-applicable': { label: 'not applicable', color: '#9e9e9e' },
};

export function distanceStatusInfo(status: string): { label: string; color: string } {
  return Object.hasOwn(DISTANCE_STATUSES, status) ? DISTANCE_STATUSES[status as DistanceStatus] : { label: status, color: '#757575' };
}
