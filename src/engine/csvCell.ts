/**
 * The one CSV writer of ecluse (RFC 4180 quoting), for the bulk files DuckDB `read_csv` loads (with
 * `allow_quoted_nulls = false`), the rows sent to PostgreSQL `COPY … (FORMAT csv)` and the generator's `;`
 * exports. DuckDB and PostgreSQL read an unquoted empty field as NULL and a quoted one as an empty string
 * (csv-parse reads both as '' unless asked), so null is written as nothing and '' as `""`: one rule fits
 * every consumer.
 */

export type CsvValue = string | number | boolean | null | undefined;

/** The characters that force quotes besides the delimiter; white space at either end is quoted too, since some readers trim it unquoted. */
const SPECIAL = '"\r\n';
const SPACE = /\s/;
const byDelimiter = new Map<string, RegExp>();

function specialChars(delimiter: string): RegExp {
  let re = byDelimiter.get(delimiter);
  if (!re) {
    if (delimiter.length !== 1 || SPECIAL.includes(delimiter))
      throw new RangeError(`a CSV delimiter is one character other than a quote or a line end, got ${JSON.stringify(delimiter)}`);
    re = new RegExp(`[${(SPECIAL + delimiter).replace(/[\\\]^-]/g, '\\$&')}]`);
    byDelimiter.set(delimiter, re);
  }
  return re;
}

const COMMA = specialChars(',');

/** White space (or a control character) at code unit `i`; a code-point test rather than a regex over the whole cell, which doubled the cost of writing a text cell. */
function spaceAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c <= 32 || (c > 126 && SPACE.test(text[i] as string));
}

/** One field: null/undefined empty (read back as NULL), '' as `""`, text quoted when it holds the delimiter, a quote, CR, LF or white space at an end. */
export function csvCell(v: CsvValue, delimiter = ','): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') return String(v);
  if (v === '' || (delimiter === ',' ? COMMA : specialChars(delimiter)).test(v) || spaceAt(v, 0) || spaceAt(v, v.length - 1))
    return `"${v.replace(/"/g, '""')}"`;
  return v;
}

/** One record, without its line end. */
export function csvLine(values: readonly CsvValue[], delimiter = ','): string {
  return values.map((v) => csvCell(v, delimiter)).join(delimiter);
}
