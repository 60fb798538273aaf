/** Formatting shared by every page: numbers, sizes, durations, instants. DOM-free, unit-tested. */

/** A number with a fixed count of decimals and its unit; null or NaN is an em dash, never "0". */
export function formatValue(v: number | null | undefined, unit = '', decimals = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = v.toFixed(decimals);
  // "-0.0" reads as a sign error.
  const clean = Number(s) === 0 ? (0).toFixed(decimals) : s;
  return unit ? `${clean} ${unit}` : clean;
}

export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

/** "1 value", "2,054 values". */
export function plural(n: number, word: string, words = `${word}s`): string {
  return `${formatCount(n)} ${n === 1 ? word : words}`;
}

const SIZE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** Bytes in binary multiples (1 KB = 1024 B), one decimal above bytes. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return '—';
  let v = n;
  let i = 0;
  while (v >= 1024 && i < SIZE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${SIZE_UNITS[i]}`;
}

/** A run duration: "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** An instant as "YYYY-MM-DD HH:MM UTC" (the dashboard shows UTC everywhere, as the API does). */
export function formatInstant(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "3 min ago", "in 2 h", relative to `now`. */
export function formatRelative(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = t - now;
  const a = Math.abs(d);
  const text =
    a < 60_000
      ? `${Math.round(a / 1000)} s`
      : a < 3_600_000
        ? `${Math.round(a / 60_000)} min`
        : a < 172_800_000
          ? `${Math.round(a / 3_600_000)} h`
          : `${Math.round(a / 86_400_000)} d`;
  return d < 0 ? `${text} ago` : `in ${text}`;
}

/** "2024-07-14" as "14 Jul 2024" (the callouts' DATE). */
export function formatDay(day: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(day);
  if (!m) return day;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${Number(m[3])} ${months[Number(m[2]) - 1] ?? m[2]} ${m[1]}`;
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
