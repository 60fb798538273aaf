/**
 * Formatting shared by every page: numbers, sizes, durations, instants. DOM-free, unit-tested. Numbers,
 * dates and relative times go through Intl (en-US, the dashboard's language); unit symbols are written
 * here, because Intl's own ("12.3°C", "12.3 sec", "2 hr", "kB") are not the ones the pages use.
 */

const LOCALE = 'en-US';
const DASH = '—';

const isNumber = (v: number | null | undefined): v is number => v !== null && v !== undefined && Number.isFinite(v);

const fixedFormats = new Map<number, Intl.NumberFormat>();

/** `decimals` decimals, no grouping ("1013.3"); "negative": a value that rounds to zero has no sign ("-0.0" reads as a sign error). */
function fixed(decimals: number): Intl.NumberFormat {
  let f = fixedFormats.get(decimals);
  if (!f) {
    f = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: decimals, maximumFractionDigits: decimals, useGrouping: false, signDisplay: 'negative' });
    fixedFormats.set(decimals, f);
  }
  return f;
}

const COUNT = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0, signDisplay: 'negative' });
const TWO_DIGITS = new Intl.NumberFormat(LOCALE, { minimumIntegerDigits: 2, useGrouping: false });
const PLURAL = new Intl.PluralRules(LOCALE);
const RELATIVE = new Intl.RelativeTimeFormat(LOCALE, { numeric: 'always', style: 'long' });
const DAY = new Intl.DateTimeFormat(LOCALE, { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });

/** A number with a fixed count of decimals, without grouping; null or NaN is an em dash. */
export function formatNumber(v: number | null | undefined, decimals = 1): string {
  return isNumber(v) ? fixed(decimals).format(v) : DASH;
}

/** A number with a fixed count of decimals and its unit; null or NaN is an em dash, never "0". */
export function formatValue(v: number | null | undefined, unit = '', decimals = 1): string {
  if (!isNumber(v)) return DASH;
  const n = formatNumber(v, decimals);
  return unit ? `${n} ${unit}` : n;
}

/** A whole number with thousands separators: "2,054". */
export function formatCount(n: number | null | undefined): string {
  return isNumber(n) ? COUNT.format(n) : DASH;
}

/** "1 value", "2,054 values". */
export function plural(n: number, word: string, words = `${word}s`): string {
  return `${formatCount(n)} ${PLURAL.select(n) === 'one' ? word : words}`;
}

const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** Bytes in binary multiples (1 KB = 1024 B), one decimal above bytes. */
export function formatBytes(n: number | null | undefined): string {
  if (!isNumber(n) || n < 0) return DASH;
  let v = n;
  let i = 0;
  while (v >= 1024 && i < SIZE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${fixed(i === 0 ? 0 : 1).format(v)} ${SIZE_UNITS[i]}`;
}

/** A run duration: "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (!isNumber(ms) || ms < 0) return DASH;
  if (ms < 1000) return `${fixed(0).format(ms)} ms`;
  if (ms < 60_000) return `${fixed(1).format(ms / 1000)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${COUNT.format(Math.floor(s / 60))} min ${TWO_DIGITS.format(s % 60)} s`;
  const m = Math.round(s / 60);
  return `${COUNT.format(Math.floor(m / 60))} h ${TWO_DIGITS.format(m % 60)} min`;
}

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

/** Instant `t` as "YYYY-MM-DD HH:MM" on the wall clock of `zone` (an IANA zone; a RangeError for an unknown one). */
export function formatDateTime(t: number, zone = 'UTC'): string {
  let f = dateTimeFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat(LOCALE, {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    dateTimeFormats.set(zone, f);
  }
  const p: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const part of f.formatToParts(t)) p[part.type] = part.value;
  // ISO order whatever the locale orders them in.
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

/**
 * An instant as "YYYY-MM-DD HH:MM UTC" (the dashboard shows UTC, as the API does), or on the wall clock
 * of another zone, named after it: "2024-10-06 00:00 Europe/Paris". Not an instant: shown as given.
 */
export function formatInstant(iso: string | null | undefined, zone = 'UTC'): string {
  if (!iso) return DASH;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${formatDateTime(t, zone)} ${zone}`;
}

/** "3 minutes ago", "in 2 hours", relative to `now`; seconds under a minute, hours under two days. */
export function formatRelative(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return DASH;
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = t - now;
  const a = Math.abs(d);
  const [n, unit]: [number, Intl.RelativeTimeFormatUnit] =
    a < 60_000
      ? [Math.round(a / 1000), 'second']
      : a < 3_600_000
        ? [Math.round(a / 60_000), 'minute']
        : a < 172_800_000
          ? [Math.round(a / 3_600_000), 'hour']
          : [Math.round(a / 86_400_000), 'day'];
  // -0 is in the past for Intl: a run started this very millisecond reads "0 seconds ago".
  return RELATIVE.format(d <= 0 ? -n : n, unit);
}

/** "2024-07-14" as "14 Jul 2024" (the callouts' DATE); not a calendar day: shown as given. */
export function formatDay(day: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(day);
  if (!m) return day;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // Date.UTC rolls 2024-02-30 over to March: a day that does not exist is shown as given.
  if (new Date(t).toISOString().slice(0, 10) !== m[0]) return day;
  const p: Partial<Record<Intl.DateTimeFormatPartTypes, string>> = {};
  for (const part of DAY.formatToParts(t)) p[part.type] = part.value;
  return `${p.day} ${p.month} ${p.year}`;
}

/** Colour of a run status (the same in tables, badges and sparklines). */
export function statusColor(status: string | null | undefined, warnings?: readonly string[]): string {
  switch (status) {
    case 'succeeded':
      // Amber: succeeded, but did not load all it was given (see the run's warnings).
      return warnings && warnings.length > 0 ? '#d97706' : '#2e8540';
    case 'failed':
      return '#c62828';
    case 'running':
      return '#1565c0';
    case 'cancelled':
      return '#8d6e63';
    default:
      return '#757575';
  }
}
