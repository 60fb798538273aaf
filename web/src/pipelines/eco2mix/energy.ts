/**
 * The Energy page's data shaping: sources and their colours, the page's default range, observations laid
 * on one time line for a stacked chart, the days below full completeness, a region's latest hour, the mix
 * table's order. DOM-free and React-free: unit-tested (test/web/energy.test.ts).
 */
import { formatCount, formatNumber } from '../../lib/format.js';
import { isDay } from '../../lib/query.js';
import { daysBetween, numberOrNull } from '../../lib/series.js';
import { dayInZone, dayStart, toWallClock } from '../../lib/zone.js';
import type { EnergyObservation, EnergyRegion, EnergyStat, MixItem } from './api.js';

/** RTE's figures are Paris days (the stats' `day` grain) and the page shows Paris wall-clock time. */
export const PARIS = 'Europe/Paris';

/** The national total's code in `GET /energy/regions`: not one of the 12 regions the grid compares. */
export const FRANCE = 'FR';

/** A week at 15-minute pace is 672 instants: the server is asked for at most this many per chart. */
export const ENERGY_MAX_POINTS = 1200;

/** Beyond this many days, the stats fallback of the chart reads days instead of hours. */
const HOURLY_DAYS = 31;

export type Source =
  | 'consumption'
  | 'thermal'
  | 'nuclear'
  | 'wind'
  | 'wind_onshore'
  | 'wind_offshore'
  | 'solar'
  | 'hydro'
  | 'pumping'
  | 'bioenergy'
  | 'battery_charge'
  | 'battery_discharge'
  | 'exchanges';

interface SourceInfo {
  label: string;
  color: string;
}

/** Every source of the API, in the API's order, with the colours eCO2mix readers know (nuclear yellow, hydro blue…). */
export const SOURCES: Readonly<Record<Source, SourceInfo>> = {
  consumption: { label: 'Consumption', color: '#263238' },
  thermal: { label: 'Thermal', color: '#c62828' },
  nuclear: { label: 'Nuclear', color: '#f2b600' },
  wind: { label: 'Wind', color: '#4db6ac' },
  wind_onshore: { label: 'Wind onshore', color: '#4db6ac' },
  wind_offshore: { label: 'Wind offshore', color: '#00796b' },
  solar: { label: 'Solar', color: '#fb8c00' },
  hydro: { label: 'Hydro', color: '#1e88e5' },
  pumping: { label: 'Pumping', color: '#0d47a1' },
  bioenergy: { label: 'Bioenergy', color: '#2e7d32' },
  battery_charge: { label: 'Battery charge', color: '#ab47bc' },
  battery_discharge: { label: 'Battery discharge', color: '#8e24aa' },
  exchanges: { label: 'Exchanges', color: '#5c6bc0' },
};

function isSource(s: string): s is Source {
  return Object.hasOwn(SOURCES, s);
}

export function sourceLabel(s: string): string {
  return isSource(s) ? SOURCES[s].label : s;
}

/** A source's colour; grey for one the page does not know (a source added on the server later). */
export function sourceColor(s: string): string {
  return isSource(s) ? SOURCES[s].color : '#9e9e9e';
}

/**
 * The production stacked on the chart, from the steadiest at the bottom to the most variable on top.
 * `wind` is onshore + offshore: stacking it too would count the wind twice.
 */
export const STACKED: readonly Source[] = ['nuclear', 'hydro', 'bioenergy', 'thermal', 'wind_onshore', 'wind_offshore', 'solar', 'battery_discharge'];

/** The sources the regions' grid ranks for "main sources" (wind whole: the split says little at a glance). */
export const MAIN_SOURCES: readonly Source[] = ['nuclear', 'hydro', 'bioenergy', 'thermal', 'wind', 'solar', 'battery_discharge'];

const hasValue = (items: readonly EnergyObservation[], s: Source) => items.some((r) => numberOrNull(r[s]) !== null);

/**
 * The stacked sources that hold a value in `items`: a region without nuclear (Île-de-France) gets no empty
 * layer. Data in RTE's 2020 layout has no onshore/offshore split, only `wind`: then `wind` is the layer.
 */
export function stackedSources(items: readonly EnergyObservation[]): Source[] {
  const split = hasValue(items, 'wind_onshore') || hasValue(items, 'wind_offshore');
  const order = split ? STACKED : STACKED.flatMap((s) => (s === 'wind_onshore' ? ['wind' as const] : s === 'wind_offshore' ? [] : [s]));
  return order.filter((s) => hasValue(items, s));
}

/**
 * Observations on one time line: sorted, instants moved to Paris wall clock (the chart draws in UTC, see
 * lib/zone.ts), and a null row wherever the time between two instants exceeds three steps (the server's
 * bucket, else the typical spacing), so every layer breaks at the same gap instead of bridging it.
 * Every series of the chart takes the same instants: the layers stack point for point.
 */
export interface Timeline {
  t: number[];
  rows: Array<EnergyObservation | null>;
}

export function timeline(items: readonly EnergyObservation[], bucketSeconds: number | null = null): Timeline {
  const sorted = items
    .map((r) => ({ at: Date.parse(r.observed_at), r }))
    .filter((x) => !Number.isNaN(x.at))
    .sort((a, b) => a.at - b.at);
  const steps = sorted
    .slice(1)
    .map((x, i) => x.at - (sorted[i] as { at: number }).at)
    .filter((d) => d > 0)
    .sort((a, b) => a - b);
  const step = bucketSeconds && bucketSeconds > 0 ? bucketSeconds * 1000 : (steps[Math.floor(steps.length / 2)] ?? null);
  const out: Timeline = { t: [], rows: [] };
  sorted.forEach((x, i) => {
    const prev = sorted[i - 1];
    if (prev && step !== null && x.at - prev.at > 3 * step) {
      out.t.push(toWallClock(prev.at + Math.round((x.at - prev.at) / 2), PARIS));
      out.rows.push(null);
    }
    out.t.push(toWallClock(x.at, PARIS));
    out.rows.push(x.r);
  });
  return out;
}

/** One source's points on the time line; null where it has no value or in a gap (never 0). */
export function seriesOf(tl: Timeline, source: Source): Array<[number, number | null]> {
  return tl.t.map((t, i) => {
    const r = tl.rows[i];
    return [t, r ? numberOrNull(r[source]) : null];
  });
}

/** The grain the chart's stats fallback asks for: hours up to a month, days beyond (a year of hours is 8,760 rows a source). */
export function statsGrain(from: string, to: string): 'hour' | 'day' {
  return daysBetween(from, to).length <= HOURLY_DAYS ? 'hour' : 'day';
}

/** An observation with no value: what a bucket without a sample holds. */
export const EMPTY_OBSERVATION: Omit<EnergyObservation, 'observed_at'> = {
  nature: null,
  consumption: null,
  thermal: null,
  nuclear: null,
  wind: null,
  wind_onshore: null,
  wind_offshore: null,
  solar: null,
  hydro: null,
  pumping: null,
  bioenergy: null,
  battery_charge: null,
  battery_discharge: null,
  exchanges: null,
};

/**
 * Hour or day stats as observations (each period's average power at its start), for a region the server
 * has no instants of (France, a sum of the regions' stats) or none in the range.
 */
export function statsAsObservations(rows: readonly EnergyStat[]): EnergyObservation[] {
  const byPeriod = new Map<string, EnergyObservation>();
  for (const r of rows) {
    if (!isSource(r.source)) continue;
    const at = r.grain === 'day' ? (isDay(r.period) ? new Date(dayStart(r.period, PARIS)).toISOString() : null) : r.period;
    if (at === null) continue;
    let o = byPeriod.get(at);
    if (!o) {
      o = { ...EMPTY_OBSERVATION, observed_at: at, nature: r.nature };
      byPeriod.set(at, o);
    }
    o[r.source] = numberOrNull(r.avg_mw);
  }
  return [...byPeriod.values()].sort((a, b) => Date.parse(a.observed_at) - Date.parse(b.observed_at));
}

/** The Paris day an instant falls on, or null. */
export function parisDay(iso: string | null | undefined): string | null {
  return iso ? dayInZone(iso, PARIS) : null;
}

export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The range the page shows: the URL's `from`/`to` when they are days (given backwards, swapped), else the
 * region's last 7 Paris days with data (today's week when it has none yet), never starting before its first.
 */
export function pageRange(q: { from?: string; to?: string }, region: EnergyRegion | undefined, today: string): { from: string; to: string } {
  const last = parisDay(region?.last_observed_at) ?? today;
  const first = parisDay(region?.first_observed_at);
  const to = isDay(q.to) ? q.to : last;
  let from = isDay(q.from) ? q.from : addDays(to, -6);
  if (!isDay(q.from) && first && first > from && first <= to) from = first;
  return from <= to ? { from, to } : { from: to, to: from };
}

/** The region a link names, by code or name (case ignored), or undefined. */
export function findRegion(regions: readonly EnergyRegion[], wanted: string | undefined): EnergyRegion | undefined {
  if (wanted === undefined) return undefined;
  const lower = wanted.toLowerCase();
  return regions.find((r) => r.code.toLowerCase() === lower || r.name.toLowerCase() === lower);
}

/** The region opened without a choice: France when the server has the national total, else the first. */
export function defaultRegion(regions: readonly EnergyRegion[]): EnergyRegion | undefined {
  return regions.find((r) => r.code === FRANCE) ?? regions[0];
}

/** A day whose data is not whole: its completeness (0 to 1), samples and nature; `samples` 0 for a day without a row. */
export interface IncompleteDay {
  day: string;
  completeness: number;
  samples: number;
  nature: string | null;
}

/**
 * The days of `days` whose `source` (consumption: what every other figure is a share of) has a day row
 * below 100 % complete, or none at all (0 %). Rows of other sources and grains are ignored.
 */
export function incompleteDays(days: readonly string[], rows: readonly EnergyStat[], source: Source = 'consumption'): IncompleteDay[] {
  const byDay = new Map<string, EnergyStat>();
  for (const r of rows) if (r.grain === 'day' && r.source === source) byDay.set(r.period, r);
  const out: IncompleteDay[] = [];
  for (const day of days) {
    const r = byDay.get(day);
    const completeness = r ? (numberOrNull(r.completeness) ?? 0) : 0;
    if (completeness < 1) out.push({ day, completeness, samples: r?.samples ?? 0, nature: r?.nature ?? null });
  }
  return out;
}

/** The days of the range the region has data for (its first to its last Paris day): outside them a day is not "incomplete", it is not there yet. */
export function observedDays(from: string, to: string, region: EnergyRegion): string[] {
  const first = parisDay(region.first_observed_at);
  const last = parisDay(region.last_observed_at);
  if (!first || !last) return [];
  const a = from > first ? from : first;
  const b = to < last ? to : last;
  return a <= b ? daysBetween(a, b) : [];
}

/** A region's latest hour: its start (UTC instant), the consumption's row, and its main sources, largest first. */
export interface LatestHour {
  period: string;
  consumption: EnergyStat | null;
  main: EnergyStat[];
}

/**
 * The latest hour among hour stats (the latest hour with consumption, when any has it: an hour where only
 * a source reported says little), and its `top` largest production sources by average power.
 */
export function latestHour(rows: readonly EnergyStat[], top = 3): LatestHour | null {
  const hours = rows.filter((r) => r.grain === 'hour' && !Number.isNaN(Date.parse(r.period)));
  const withConsumption = hours.filter((r) => r.source === 'consumption' && numberOrNull(r.avg_mw) !== null);
  const pool = withConsumption.length > 0 ? withConsumption : hours;
  let period: string | null = null;
  for (const r of pool) if (period === null || Date.parse(r.period) > Date.parse(period)) period = r.period;
  if (period === null) return null;
  const at = hours.filter((r) => r.period === period);
  const main = at
    .filter((r) => (MAIN_SOURCES as readonly string[]).includes(r.source) && (numberOrNull(r.avg_mw) ?? 0) > 0)
    .sort((a, b) => (numberOrNull(b.avg_mw) ?? 0) - (numberOrNull(a.avg_mw) ?? 0))
    .slice(0, top);
  return { period, consumption: at.find((r) => r.source === 'consumption') ?? null, main };
}

/** The mix table's order: sources by energy, largest first; those without a share of production (the region produced nothing) after, in the API's order. */
export function mixRows(items: readonly MixItem[]): MixItem[] {
  const order = Object.keys(SOURCES);
  const rank = (s: string) => (order.includes(s) ? order.indexOf(s) : order.length);
  const produced = items.filter((i) => i.share_of_production !== null).sort((a, b) => b.energy_mwh - a.energy_mwh);
  const others = items.filter((i) => i.share_of_production === null).sort((a, b) => rank(a.source) - rank(b.source));
  return [...produced, ...others];
}

/** A share (0 to 1) as "12.3 %"; null is a dash. */
export function formatShare(v: number | null | undefined): string {
  const n = formatNumber(v === null || v === undefined ? null : v * 100, 1);
  return n === '—' ? n : `${n} %`;
}

/** Power, whole megawatts with thousands separators: "12,345 MW". */
export function formatMw(v: number | null | undefined): string {
  const n = formatCount(v);
  return n === '—' ? n : `${n} MW`;
}

/** Energy, whole megawatt-hours with thousands separators: "1,234,567 MWh". */
export function formatMwh(v: number | null | undefined): string {
  const n = formatCount(v);
  return n === '—' ? n : `${n} MWh`;
}
