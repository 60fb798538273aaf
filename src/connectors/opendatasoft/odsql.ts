import { isDay } from '../../time/days.js';
import { isInstant } from '../../time/instants.js';

/**
 * The few pieces of ODSQL (the OpenDataSoft query language) ecluse writes: field names, string and date
 * literals, date windows. Every value that reaches a `where` goes through `odsqlString`, so a value can
 * never end a literal early and inject a clause.
 */

/** Control characters: refused in names and literals rather than guessed at. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f]/;
const PLAIN_FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Words ODSQL reads as operators or literals; a field named like one must be back-quoted. */
const KEYWORDS = new Set([
  'and',
  'or',
  'not',
  'in',
  'like',
  'is',
  'null',
  'true',
  'false',
  'select',
  'where',
  'group',
  'order',
  'by',
  'limit',
  'as',
  'asc',
  'desc',
]);

/** A field name as ODSQL reads it: bare when it is a plain identifier, back-quoted otherwise. */
export function odsqlField(name: string): string {
  if (name.length === 0) throw new Error('ODSQL: empty field name');
  if (PLAIN_FIELD.test(name) && !KEYWORDS.has(name.toLowerCase())) return name;
  if (/[`\\]/.test(name) || CONTROL.test(name)) throw new Error(`ODSQL: unusable field name ${JSON.stringify(name)}`);
  return `\`${name}\``;
}

/**
 * A string literal. ODSQL accepts `"…"` or `'…'`; the quote and the backslash are escaped with a
 * backslash. Control characters are refused rather than guessed at.
 */
export function odsqlString(value: string, quote: '"' | "'" = '"'): string {
  if (CONTROL.test(value)) throw new Error(`ODSQL: control character in a string literal ${JSON.stringify(value)}`);
  return `${quote}${value.replace(/\\/g, '\\\\').split(quote).join(`\\${quote}`)}${quote}`;
}

/**
 * A date literal, `date'2024-01-01'` or `date'2024-01-01T03:00:00+00:00'`. A day is read by the API in the
 * request's `timezone` (ecluse always sends `UTC`).
 */
export function odsqlDate(value: string): string {
  if (!isDay(value) && !isInstant(value)) {
    throw new Error(`ODSQL: ${JSON.stringify(value)} is neither a day YYYY-MM-DD nor an ISO instant with an offset`);
  }
  return `date${odsqlString(value, "'")}`;
}

export interface DateWindow {
  /** Inclusive lower bound: a day or an instant with offset. */
  from?: string;
  /** Exclusive upper bound: a day or an instant with offset. */
  to?: string;
}

/** `date >= date'2024-01-01' AND date < date'2024-02-01'`; either bound may be left open. */
export function dateWindowWhere(field: string, window: DateWindow): string {
  const f = odsqlField(field);
  const parts: string[] = [];
  if (window.from !== undefined) parts.push(`${f} >= ${odsqlDate(window.from)}`);
  if (window.to !== undefined) parts.push(`${f} < ${odsqlDate(window.to)}`);
  if (window.from !== undefined && window.to !== undefined && Date.parse(window.from) >= Date.parse(window.to)) {
    throw new Error(`ODSQL: empty date window [${window.from}, ${window.to})`);
  }
  return andWhere(...parts);
}

/** `field = "value"`, the value escaped. */
export function equalsWhere(field: string, value: string): string {
  return `${odsqlField(field)} = ${odsqlString(value)}`;
}

/** Joins clauses with AND, each parenthesised when it holds an OR; empty clauses are dropped. */
export function andWhere(...clauses: (string | undefined | null)[]): string {
  const kept = clauses.filter((c): c is string => typeof c === 'string' && c.trim().length > 0);
  if (kept.length === 1) return kept[0]!;
  return kept.map((c) => (/\bor\b/i.test(c) ? `(${c})` : c)).join(' AND ');
}
