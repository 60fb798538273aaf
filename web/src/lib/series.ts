/**
 * Turning API rows into chart series. Missing data must show as gaps: a null value stays null (ECharts
 * breaks the line there), and a stretch of time without any report gets a null point inserted, so the
 * line does not bridge it. Nothing is ever replaced by 0.
 */

export type Point = [number, number | null];

/**
 * Station charts ask the server for at most this many rows (`max_points`: the min and max of each of 600
 * time buckets, so peaks survive): about one bucket per pixel of a chart at 1280 px, and a year at
 * 10-minute resolution (~52k reports) arrives as 1200 rows.
 */
export const STATION_MAX_POINTS = 1200;

/** A finite number, or null for null/undefined/NaN/non-numeric: never 0 for "missing". */
export function numberOrNull(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

/** The median spacing of sorted instants (ms), or null with fewer than two. */
function typicalStep(times: readonly number[]): number | null {
  const steps: number[] = [];
  for (let i = 1; i < times.length; i++) {
    const d = (times[i] as number) - (times[i - 1] as number);
    if (d > 0) steps.push(d);
  }
  if (steps.length === 0) return null;
  steps.sort((a, b) => a - b);
  return steps[Math.floor(steps.length / 2)] as number;
}

/**
 * A series of `field` from rows holding `timeField` (ISO instants), sorted by time. Where two reports are
 * more than `gapFactor` typical steps apart, a null point is put between them: the chart shows a gap.
 */
export function timeSeries(rows: ReadonlyArray<Record<string, unknown>>, field: string, timeField = 'observed_at', gapFactor = 3): Point[] {
  const pts: Point[] = [];
  for (const r of rows) {
    const t = Date.parse(String(r[timeField]));
    if (!Number.isNaN(t)) pts.push([t, numberOrNull(r[field])]);
  }
  pts.sort((a, b) => a[0] - b[0]);
  const step = typicalStep(pts.map((p) => p[0]));
  if (step === null) return pts;
  const out: Point[] = [];
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i] as Point;
    const prev = pts[i - 1];
    if (prev && p[0] - prev[0] > step * gapFactor) out.push([prev[0] + Math.round((p[0] - prev[0]) / 2), null]);
    out.push(p);
  }
  return out;
}

/** Points that hold a value (what a chart actually draws). */
export function countValues(points: ReadonlyArray<readonly [unknown, number | null]>): number {
  let n = 0;
  for (const p of points) if (p[1] !== null) n++;
  return n;
}

export interface Extreme {
  value: number;
  /** The row's label (a day): the first one reaching the extreme. */
  at: string;
}

/**
 * The largest (or smallest) value of `field` over rows, ignoring nulls only: a genuine 0 °C is a real
 * minimum, not missing data. Null when no row has a value.
 */
export function extreme(rows: ReadonlyArray<Record<string, unknown>>, field: string, kind: 'max' | 'min', labelField = 'day'): Extreme | null {
  let best: Extreme | null = null;
  for (const r of rows) {
    const v = numberOrNull(r[field]);
    if (v === null) continue;
    if (best === null || (kind === 'max' ? v > best.value : v < best.value)) best = { value: v, at: String(r[labelField]) };
  }
  return best;
}

/** Daily series `[day, value]` of a field, with null kept for days whose value is missing. */
export function daySeries(rows: ReadonlyArray<Record<string, unknown>>, field: string): Array<[string, number | null]> {
  return rows.map((r) => [String(r.day).slice(0, 10), numberOrNull(r[field])]);
}

/** Every day from `from` to `to` (inclusive), `YYYY-MM-DD`: the x axis, so a missing day is a gap, not a skipped tick. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end && out.length < 4000; t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** Aligns a daily series on a full list of days: days absent from the rows get null. */
export function alignDays(days: readonly string[], series: ReadonlyArray<[string, number | null]>): Array<number | null> {
  const byDay = new Map(series);
  return days.map((d) => byDay.get(d) ?? null);
}

/** The last day of a month, `YYYY-MM-DD`. */
export function monthEnd(year: number, month: number): string {
  const d = new Date(Date.UTC(year, month, 0));
  return d.toISOString().slice(0, 10);
}

/**
 * The months of `year` that hold data, for a page opened without a choice: from the first day's month
 * (when the data starts that year) to the last day's (when it ends that year). A year outside the data,
 * or no known range, is the whole year.
 */
export function dataMonths(year: number, firstDay: string | null | undefined, lastDay: string | null | undefined): { m1: number; m2: number } {
  const first = firstDay ? /^(\d{4})-(\d{2})/.exec(firstDay) : null;
  const last = lastDay ? /^(\d{4})-(\d{2})/.exec(lastDay) : null;
  if (!first || !last) return { m1: 1, m2: 12 };
  const [fy, fm, ly, lm] = [Number(first[1]), Number(first[2]), Number(last[1]), Number(last[2])];
  if (year < fy || year > ly) return { m1: 1, m2: 12 };
  return { m1: year === fy ? fm : 1, m2: year === ly ? lm : 12 };
}

/**
 * The min–max band as two stacked series: an invisible base at the minimum and, on top of it, the span
 * (max − min), which is the one shaded. A day missing either end is a gap in the band too.
 */
export function minMaxBand(min: ReadonlyArray<number | null>, max: ReadonlyArray<number | null>): { base: Array<number | null>; span: Array<number | null> } {
  const base: Array<number | null> = [];
  const span: Array<number | null> = [];
  for (let i = 0; i < Math.max(min.length, max.length); i++) {
    const lo = min[i] ?? null;
    const hi = max[i] ?? null;
    const both = lo !== null && hi !== null;
    base.push(both ? lo : null);
    span.push(both ? hi - lo : null);
  }
  return { base, span };
}
