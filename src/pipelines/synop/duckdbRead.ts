/**
 * The fast read path for large JSONL and `;` CSV files: DuckDB reads the file itself (`read_json` /
 * `read_csv`, every field as JSON text or VARCHAR, streaming) and SQL types the 82 fields and derives the
 * converted columns as readers.ts and convert.ts do. SQL keeps only the records it types exactly as the
 * TypeScript readers would ("clean" ones); every other line (a bad or out-of-range value, a missing key,
 * an unknown key, a quoted CSV cell, …) is handed back to the TypeScript reader, which stays the reference:
 * same rows, same rejects, same row numbers, in the same order. A file that does not suit this (a line that
 * is not one JSON object, blank lines, a quoted line break, too many lines to hand back, an engine error)
 * is read whole by the TypeScript reader instead: the caller falls back.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { literal, type DuckSession } from '../../engine/duckdb.js';
import { decodeUtf8, FileFormatError, isTruncatedJson } from '../../engine/readers/text.js';
import { SYNOP_FIELDS, type SynopField } from '../../connectors/opendatasoft/synop/fields.js';
import type { RecordLocation } from '../../quality/rejects.js';
import type { SynopObservation, SynopSink } from './batch.js';
import { PRECIP_PERIODS, RANGES } from './convert.js';
import { BATCH_INSERT_COLUMNS, STATION_KEY_PATTERN, SYNOP_BATCH, type SynopCsvSink } from './load.js';
import { csvLayout, shownNames, typeCsvCells, typeObject, type CsvLayout } from './readers.js';

/** Below this size the TypeScript reader is as fast and needs no engine round trips. */
export const SQL_READ_MIN_BYTES = 4 << 20;
/** More lines than this to hand back to TypeScript: the whole file is read there instead. */
const MAX_HANDED_BACK = 20_000;

/**
 * `typed`: DuckDB typed the values while parsing (every line had the dataset's shape, see `typedShape`);
 * `text`: every value read as JSON text and typed by SQL (slower; the shape of a line does not matter).
 */
type SqlReadPass = 'typed' | 'text';

export type SqlReadOutcome = { read: true; observations: number; handedBack: number; pass: SqlReadPass } | { read: false; reason: string };

/** The TypeScript reader's number spelling (readers.ts NUMBER), without surrounding spaces. */
const NUMBER_RE = '[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?';
/** The offset datetimes SQL types itself; anything else (fractions, a space, no offset) goes back to TypeScript. */
const DATETIME_RE = '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-](0[0-9]|1[0-8]):[0-5][0-9])';
/**
 * A coordinate written as JavaScript's `String(number)` writes it (no exponent, no trailing zero), so that
 * the `"lat, lon"` text SQL builds is the one `formatCoordinates` would.
 */
const CANON_RE = '-?(0|[1-9][0-9]{0,2})(\\.[0-9]{0,14}[1-9])?';

const q = (s: string) => literal(s);

/** Math.round(x * 100) / 100 exactly: ties go up (SQL round() sends them away from zero). */
function r2(x: string): string {
  return `((floor((${x}) * 100) + CASE WHEN (${x}) * 100 - floor((${x}) * 100) >= 0.5 THEN 1 ELSE 0 END) / 100)`;
}

/** What the raw values are: JSON text, CSV cells, or values read_json typed itself (coordonnees stays JSON). */
type RawKind = 'json' | 'csv' | 'typed';

/**
 * One field's raw value as the columns of the layer that reads it: `m` missing, `s` its text (a JSON
 * string's or the cell; NULL for a JSON value of another kind), `n` its number (a JSON number, or a cell
 * spelled as readers.ts NUMBER accepts), `g` for coordonnees the `"lat, lon"` text when canonical.
 */
function rawLayer(f: SynopField, i: number, r: string, layer: RawKind): string[] {
  const cols: string[] = [];
  if (layer === 'typed' && f.type !== 'geo_point') {
    // read_json typed it: a string or null for text and datetime fields, a number or null for numeric ones.
    if (f.type === 'text' || f.type === 'datetime') cols.push(`(${r} IS NULL OR ${r} = '') AS m_${i}`, `${r} AS s_${i}`);
    else cols.push(`${r} IS NULL AS m_${i}`, `${r} AS n_${i}`);
  } else if (layer !== 'csv') {
    cols.push(`(${r} IS NULL OR ${r} = 'null' OR ${r} = '""') AS m_${i}`);
    // A JSON string without escapes is its text between the quotes; with escapes the JSON functions decode it.
    if (f.type === 'text' || f.type === 'datetime') {
      cols.push(
        `CASE WHEN left(${r}, 1) = '"' THEN (CASE WHEN contains(${r}, '\\') THEN json_extract_string(${r}, '$') ELSE substr(${r}, 2, length(${r}) - 2) END) END AS s_${i}`,
      );
    }
    if (f.type === 'integer' || f.type === 'number') {
      // A JSON number's text casts; a string ('"…"'), true/false, an object do not (NaN and Infinity, which
      // JSON.parse refuses, fail isfinite later and go back to TypeScript).
      cols.push(`TRY_CAST(${r} AS DOUBLE) AS n_${i}`);
    }
    if (f.type === 'geo_point') {
      const lat = `json_extract(${r}, '$.lat')::VARCHAR`;
      const lon = `json_extract(${r}, '$.lon')::VARCHAR`;
      cols.push(`CASE WHEN left(${r}, 1) = '{' AND json_keys(${r}) IN (['lon', 'lat'], ['lat', 'lon'])
        AND regexp_full_match(${lat}, ${q(CANON_RE)}) AND regexp_full_match(${lon}, ${q(CANON_RE)})
        THEN ${lat} || ', ' || ${lon} END AS g_${i}`);
    }
  } else {
    cols.push(`(${r} IS NULL OR ${r} = '') AS m_${i}`);
    if (f.type === 'text' || f.type === 'datetime') cols.push(`${r} AS s_${i}`);
    if (f.type === 'integer' || f.type === 'number') {
      cols.push(`CASE WHEN regexp_full_match(${r}, ${q(NUMBER_RE)}) THEN TRY_CAST(${r} AS DOUBLE) END AS n_${i}`);
    }
    if (f.type === 'geo_point') cols.push(`CASE WHEN regexp_full_match(${r}, ${q(`${CANON_RE}, ${CANON_RE}`)}) THEN ${r} END AS g_${i}`);
  }
  return cols;
}

/** One field typed from its raw layer: `f_<i>` the value (NULL when missing or not typed here), `b_<i>` not typed here. */
function typedLayer(f: SynopField, i: number): string[] {
  const m = `m_${i}`;
  let ok: string;
  let value: string;
  switch (f.type) {
    case 'text':
      ok = `s_${i} IS NOT NULL`;
      value = `s_${i}`;
      break;
    case 'integer':
    case 'number': {
      const n = `n_${i}`;
      ok = f.type === 'integer' ? `(isfinite(${n}) AND ${n} = floor(${n}) AND abs(${n}) < 2147483648)` : `isfinite(${n})`;
      value = n;
      break;
    }
    case 'datetime':
      value = datetimeSql(`s_${i}`);
      ok = `${value} IS NOT NULL`;
      break;
    case 'geo_point': {
      // In range as parseCoordinates wants it.
      const g = `g_${i}`;
      ok = `(TRY_CAST(split_part(${g}, ', ', 1) AS DOUBLE) BETWEEN -90 AND 90 AND TRY_CAST(split_part(${g}, ', ', 2) AS DOUBLE) BETWEEN -180 AND 180)`;
      value = g;
      break;
    }
  }
  return [`CASE WHEN NOT ${m} AND coalesce(${ok}, false) THEN ${value} END AS f_${i}`, `NOT ${m} AND NOT coalesce(${ok}, false) AS b_${i}`];
}

/** `YYYY-MM-DDTHH:MM:SS` with `Z` or `±HH:MM` as a UTC TIMESTAMP; NULL for anything else or an impossible date. */
function datetimeSql(s: string): string {
  const offsetMin = `CASE WHEN right(${s}, 1) = 'Z' THEN 0 ELSE (CASE WHEN substr(${s}, 20, 1) = '-' THEN -1 ELSE 1 END)
    * (CAST(substr(${s}, 21, 2) AS INTEGER) * 60 + CAST(substr(${s}, 24, 2) AS INTEGER)) END`;
  return `CASE WHEN regexp_full_match(${s}, ${q(DATETIME_RE)}) THEN
    try_strptime(left(${s}, 19), '%Y-%m-%dT%H:%M:%S') - to_minutes(${offsetMin}) END`;
}

const N = SYNOP_FIELDS.length;
const idx = (name: string) => SYNOP_FIELDS.findIndex((f) => f.name === name);
const STA = idx('numer_sta');
const DATE = idx('date');
const COORD = idx('coordonnees');
const LAT = idx('latitude');
const LON = idx('longitude');

interface TypedSelect {
  /** The raw layer: m_, s_, n_, g_ columns over the raw values. */
  raw: string[];
  /** f_<i> typed values and b_<i> flags, over the raw layer. */
  typed: string[];
  /** The batch's observation columns, over f_<i>. */
  columns: string[];
  /** Whether the line goes back to TypeScript, over f_<i> and b_<i>. */
  dirty: string;
}

/**
 * The SELECT lists turning raw values `raw(i)` (JSON text or a cell; NULL for a field absent from the
 * file) into the batch columns (after file_seq, seq), layer by layer so that each expression is computed once.
 */
function typedSelect(raw: (i: number) => string | null, layer: RawKind): TypedSelect {
  const present = SYNOP_FIELDS.map((_, i) => raw(i) !== null);
  const rawCols = SYNOP_FIELDS.flatMap((f, i) => (present[i] ? rawLayer(f, i, raw(i) as string, layer) : []));
  const v = (name: string) => `f_${idx(name)}`;
  // The key: numer_sta as readers.ts stationNumber() and the sink's STATION_KEY accept it (a JSON number goes back).
  const sta = `s_${STA}`;
  const typed = SYNOP_FIELDS.flatMap((f, i) => {
    if (!present[i]) return [`NULL AS f_${i}`, `false AS b_${i}`];
    if (i === STA) {
      return [
        `CASE WHEN regexp_full_match(${sta}, ${q(STATION_KEY_PATTERN)}) THEN (CASE WHEN regexp_full_match(${sta}, '[0-9]{1,4}') THEN lpad(${sta}, 5, '0') ELSE ${sta} END) END AS f_${i}`,
        `false AS b_${i}`,
      ];
    }
    return typedLayer(f, i);
  });
  const bads = [`f_${STA} IS NULL`, `f_${DATE} IS NULL`, ...SYNOP_FIELDS.map((_, i) => `b_${i}`)];
  for (const [field, min, max] of RANGES) bads.push(`coalesce(${v(field)} NOT BETWEEN ${min} AND ${max}, false)`);
  for (const [field] of PRECIP_PERIODS) bads.push(`coalesce(${v(field)} < 0 AND ${v(field)} <> -0.1, false)`);
  // coordonnees from latitude/longitude would need JavaScript's number spelling.
  bads.push(`(f_${COORD} IS NULL AND f_${LAT} IS NOT NULL AND f_${LON} IS NOT NULL)`);
  const fillLatLon = `f_${COORD} IS NOT NULL AND (f_${LAT} IS NULL OR f_${LON} IS NULL)`;
  const columns = SYNOP_FIELDS.map((_, i) => {
    if (i === LAT) return `CASE WHEN ${fillLatLon} THEN TRY_CAST(split_part(f_${COORD}, ', ', 1) AS DOUBLE) ELSE f_${LAT} END`;
    if (i === LON) return `CASE WHEN ${fillLatLon} THEN TRY_CAST(split_part(f_${COORD}, ', ', 2) AS DOUBLE) ELSE f_${LON} END`;
    return `f_${i}`;
  });
  const t = v('t');
  const tc = v('tc');
  const td = v('td');
  const pmer = v('pmer');
  const ff = v('ff');
  const gust = `coalesce(${v('raf10')}, ${v('rafper')})`;
  columns.push(
    `f_${DATE}`,
    `CASE WHEN ${t} IS NOT NULL THEN ${r2(`${t} - 273.15`)} WHEN ${tc} IS NOT NULL THEN ${r2(tc)} END`,
    `CASE WHEN ${td} IS NOT NULL THEN ${r2(`${td} - 273.15`)} END`,
    `CASE WHEN ${pmer} IS NOT NULL THEN ${r2(`${pmer} / 100`)} END`,
    `CASE WHEN ${ff} IS NOT NULL THEN ${r2(`${ff} * 3.6`)} END`,
    `CASE WHEN ${gust} IS NOT NULL THEN ${r2(`${gust} * 3.6`)} END`,
  );
  for (const [field] of PRECIP_PERIODS) {
    columns.push(`CASE WHEN ${v(field)} = -0.1 THEN 0 ELSE ${v(field)} END`, `${v(field)} = -0.1`);
  }
  // The typed values are computed once, in an inner SELECT, as f_<i> (b_<i>: present but not typed).
  return { raw: rawCols, typed, columns, dirty: bads.join(' OR ') };
}

/** What one streaming look at the file found: the lines' byte lengths, and whether it suits the SQL path. */
interface Scan {
  lines: number;
  /** Byte length of each line (JSONL; a first line's BOM excluded). */
  lengths: Int32Array;
  /** Lines the SQL path must hand back whatever their values (CSV lines with quotes). */
  quoted: number[];
  /** Why the file must be read by TypeScript, if it must. */
  unsuitable: string | null;
  /** JSONL: every line has the shape `typedShape` accepts, so read_json may type the values itself. */
  typed: boolean;
}

const BOM = [0xef, 0xbb, 0xbf];

const enum Shape {
  Text,
  Number,
  Object,
}
const FIELD_NAMES = SYNOP_FIELDS.map((f) => Buffer.from(f.name));
const FIELD_SHAPES = SYNOP_FIELDS.map((f) => (f.type === 'text' || f.type === 'datetime' ? Shape.Text : f.type === 'geo_point' ? Shape.Object : Shape.Number));

/** Whether bytes b[s…] spell field j's name followed by its closing quote. */
function isFieldName(b: Uint8Array, s: number, j: number): boolean {
  const name = FIELD_NAMES[j] as Buffer;
  for (let k = 0; k < name.length; k++) if (b[s + k] !== name[k]) return false;
  return b[s + name.length] === 0x22;
}

/**
 * Whether the line b[s, e), which holds no backslash, is a compact JSON object whose keys are fields of the
 * dataset in its own order (each once; absent ones allowed) and whose values are null or of their field's
 * JSON kind (a string for text and datetime, a number for numeric fields, a flat object for coordonnees).
 * On such lines read_json's typed columns hold exactly what JSON.parse would give; anything else (an unknown
 * or repeated key, a number as a string, an escape, …) makes the file take the text pass. What read_json
 * refuses itself (a control character in a string, a malformed number) fails the typed pass the same way.
 */
function typedShape(b: Buffer, s: number, e: number): boolean {
  if (b[s] !== 0x7b || b[e - 1] !== 0x7d) return false;
  let p = s + 1;
  if (p === e - 1) return true;
  let next = 0;
  for (;;) {
    if (b[p] !== 0x22) return false;
    let j = next;
    while (j < N && !isFieldName(b, p + 1, j)) j++;
    if (j === N) return false;
    next = j + 1;
    p += (FIELD_NAMES[j] as Buffer).length + 2;
    if (b[p] !== 0x3a) return false;
    const c = b[p + 1] as number;
    p += 2;
    if (c === 0x6e) {
      if (b[p] !== 0x75 || b[p + 1] !== 0x6c || b[p + 2] !== 0x6c) return false;
      p += 3;
    } else if (c === 0x22) {
      if (FIELD_SHAPES[j] !== Shape.Text) return false;
      // A byte loop: Buffer.indexOf costs more per call than these short strings take to walk.
      while (p < e && b[p] !== 0x22) p++;
      if (++p >= e) return false;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      if (FIELD_SHAPES[j] !== Shape.Number) return false;
      for (let x = b[p] as number; (x >= 0x30 && x <= 0x39) || x === 0x2e || x === 0x65 || x === 0x45 || x === 0x2b || x === 0x2d; x = b[++p] as number);
    } else if (c === 0x7b) {
      if (FIELD_SHAPES[j] !== Shape.Object) return false;
      for (let x = b[p] as number; x !== 0x7d; x = b[++p] as number) if (x === 0x7b || p >= e) return false;
      p++;
    } else return false;
    if (p === e - 1) return true;
    if (b[p] !== 0x2c) return false;
    p++;
  }
}

/**
 * Looks at every line once, streaming: a JSONL line must be one object (`{` first, `}` last) and a CSV line
 * hold no line break in quotes; no blank lines, no CR. These make DuckDB's rows the file's lines, in order.
 */
async function scanFile(path: string, kind: Kind): Promise<Scan> {
  let lengths = new Int32Array(1 << 16);
  const quoted: number[] = [];
  let line = 1;
  let len = 0;
  let first = -1;
  let last = -1;
  let quotes = 0;
  let unsuitable: string | null = null;
  let typed = kind === 'jsonl';
  // The start of a JSONL line that continues in the next chunk, while the lines are still typed-shaped.
  let carry: Buffer[] = [];
  const endLine = (final: boolean) => {
    if (final && len === 0) return;
    if (len === 0) unsuitable ??= `blank line ${line}`;
    else if (kind === 'jsonl' && (first !== 0x7b || last !== 0x7d)) unsuitable ??= `line ${line} is not one JSON object`;
    if (quotes % 2 === 1) unsuitable ??= `a quoted line break at line ${line}`;
    else if (quotes > 0) quoted.push(line);
    if (line > lengths.length) {
      const grown = new Int32Array(lengths.length * 2);
      grown.set(lengths);
      lengths = grown;
    }
    lengths[line - 1] = len;
    line++;
    len = 0;
    first = -1;
    quotes = 0;
  };
  /** The next backslash at or after a position of the current chunk (Infinity: none left). */
  let backslash = -1;
  let backslashChunk: Buffer | null = null;
  const backslashFrom = (chunk: Buffer, from: number) => {
    if (chunk !== backslashChunk || (backslash !== Infinity && backslash < from)) {
      const at = chunk.indexOf(0x5c, from);
      backslash = at === -1 ? Infinity : at;
      backslashChunk = chunk;
    }
    return backslash;
  };
  /** The JSONL shape of the line chunk[start, nl) (with what `carry` holds of its beginning). */
  const shapeLine = (chunk: Buffer, start: number, nl: number) => {
    if (!typed) return;
    if (carry.length === 0) typed = backslashFrom(chunk, start) >= nl && typedShape(chunk, start, nl);
    else {
      const whole = Buffer.concat([...carry, chunk.subarray(start, nl)]);
      carry = [];
      typed = whole.indexOf(0x5c) === -1 && typedShape(whole, 0, whole.length);
    }
  };
  let atStart = true;
  let tail: Buffer | null = null;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    if (atStart) {
      atStart = false;
      if (chunk.length >= 3 && BOM.every((b, k) => chunk[k] === b)) start = 3;
    }
    if (chunk.indexOf(13, start) !== -1) return { lines: 0, lengths, quoted, unsuitable: 'CR line ends', typed: false };
    if (kind === 'csv') {
      // Quotes are rare: count them per line by their positions.
      for (let q = chunk.indexOf(34, start); q !== -1; q = chunk.indexOf(34, q + 1)) {
        let nl = chunk.indexOf(10, start);
        while (nl !== -1 && nl < q) {
          len += nl - start;
          if (first === -1 && nl > start) first = chunk[start] as number;
          if (nl > start) last = chunk[nl - 1] as number;
          endLine(false);
          start = nl + 1;
          nl = chunk.indexOf(10, start);
        }
        quotes++;
      }
    }
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      if (nl > start) {
        if (first === -1) first = chunk[start] as number;
        last = chunk[nl - 1] as number;
      }
      len += nl - start;
      if (kind === 'jsonl') shapeLine(chunk, start, nl);
      endLine(false);
      start = nl + 1;
    }
    if (start < chunk.length) {
      if (first === -1) first = chunk[start] as number;
      last = chunk[chunk.length - 1] as number;
      len += chunk.length - start;
      if (typed) carry.push(chunk.subarray(start));
    }
    tail = chunk;
  }
  if (len > 0 && tail) shapeLine(tail, tail.length, tail.length);
  endLine(true);
  return { lines: line - 1, lengths: lengths.subarray(0, line - 1), quoted, unsuitable, typed: typed && unsuitable === null };
}

/** The text of the given lines (sorted), streaming the file again. */
async function fetchLines(path: string, wanted: readonly number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (wanted.length === 0) return out;
  let k = 0;
  let line = 1;
  let pending: Buffer[] = [];
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10); ; nl = chunk.indexOf(10, start)) {
      const end = nl === -1 ? chunk.length : nl;
      if (line === wanted[k]) pending.push(chunk.subarray(start, end));
      if (nl === -1) break;
      if (line === wanted[k]) {
        out.set(line, decodeUtf8(Buffer.concat(pending)));
        pending = [];
        k++;
        if (k === wanted.length) return out;
      }
      line++;
      start = nl + 1;
    }
  }
  if (line === wanted[k]) out.set(line, decodeUtf8(Buffer.concat(pending)));
  return out;
}

/** Replays the handed-back lines' reading on the real sink once the whole file is known to read here. */
class Recorder implements SynopSink {
  readonly calls: Array<(sink: SynopCsvSink) => void> = [];
  observation(obs: SynopObservation): void {
    this.calls.push((s) => {
      s.atSeq(obs.loc.row ?? 0);
      s.observation(obs);
    });
  }
  rejectValue(loc: RecordLocation, field: string, value: string | null, reason: string): void {
    this.calls.push((s) => s.rejectValue(loc, field, value, reason));
  }
  rejectRecord(loc: RecordLocation, field: string | null, value: string | null, reason: string): void {
    this.calls.push((s) => s.rejectRecord(loc, field, value, reason));
  }
  rejectColumns(file: string, names: readonly string[]): void {
    this.calls.push((s) => s.rejectColumns(file, names));
  }
  rejectFile(file: string, reason: string, row: number | null = null): void {
    this.calls.push((s) => s.rejectFile(file, reason, row));
  }
}

export type Kind = 'jsonl' | 'csv';

export function sqlReadKind(ext: string): Kind | null {
  return ext === 'jsonl' || ext === 'ndjson' ? 'jsonl' : ext === 'csv' ? 'csv' : null;
}

async function readHead(path: string, max: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await fh.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Reads `path` (shown as `file`) through DuckDB into `synop_batch` (file_seq `fileSeq`, seq = line) and
 * the sink. On `read: false` nothing was added to either: read the file with the TypeScript reader.
 */
export async function readSynopFileSql(s: DuckSession, file: string, path: string, kind: Kind, fileSeq: number, sink: SynopCsvSink): Promise<SqlReadOutcome> {
  let layout: CsvLayout | null = null;
  if (kind === 'csv') {
    // The header (and the first rows, for label twins) as readers.ts sees them; a bad header is the
    // TypeScript reader's to report.
    const head = await readHead(path, 1 << 20);
    try {
      layout = csvLayout(decodeUtf8(head.subarray(0, head.lastIndexOf(10) + 1)));
    } catch (err) {
      if (err instanceof FileFormatError) return { read: false, reason: `header: ${err.message}` };
      throw err;
    }
  }
  const mine = `FROM ${SYNOP_BATCH} WHERE file_seq = ${fileSeq}`;
  const lens = `synop_sqlread_lens_${fileSeq}`;
  // A JSONL file usually has the typed shape: DuckDB's typed pass runs on its threads while this one scans
  // the file to find out, and is thrown away when it has not.
  const typedPass = kind === 'jsonl' ? typedRead(s, fileSeq, path) : null;
  const [scanned, typedOk] = await Promise.allSettled([scanFile(path, kind), typedPass]);
  if (scanned.status === 'rejected') throw scanned.reason;
  const scan = scanned.value;
  // typedRead never throws: a refusal is `false`.
  const typed = typedOk.status === 'fulfilled' && typedOk.value === true;
  if (typed && !scan.typed) await s.run(`DELETE ${mine}`);
  if (scan.unsuitable) return { read: false, reason: scan.unsuitable };
  // An empty JSONL file is a reject ("empty file"), and only the TypeScript reader says so.
  if (scan.lines === 0) {
    if (typed) await s.run(`DELETE ${mine}`);
    return { read: false, reason: 'empty file' };
  }
  if (scan.quoted.length > MAX_HANDED_BACK) return { read: false, reason: `${scan.quoted.length} quoted lines` };
  let read = false;
  try {
    const pass: SqlReadPass = typed && scan.typed ? 'typed' : 'text';
    if (pass === 'text' && layout) {
      await sqlPass(s, fileSeq, path, { csv: layout });
      await numberByInsertOrder(s, fileSeq, 2);
      // Cells with quotes are the CSV parser's to read: those lines go back to TypeScript.
      if (scan.quoted.length > 0)
        await s.run(`UPDATE ${SYNOP_BATCH} SET dirty = true WHERE file_seq = ${fileSeq} AND seq IN (SELECT unnest(${literalIntegers(scan.quoted)}))`);
    } else if (pass === 'text') {
      await writeLineTable(s, lens, scan);
      await sqlPass(s, fileSeq, path, { lens });
    }
    const stats = (
      await s.rows<{ rows: bigint; dirty: bigint; unmatched: bigint }>(
        `SELECT count(*) AS rows, count(*) FILTER (WHERE dirty) AS dirty, count(*) FILTER (WHERE seq IS NULL) AS unmatched ${mine}`,
      )
    )[0];
    const expected = kind === 'csv' ? scan.lines - 1 : scan.lines;
    if (Number(stats?.rows) !== expected || Number(stats?.unmatched) !== 0) {
      return { read: false, reason: `${Number(stats?.rows)} rows read where the file has ${expected} lines` };
    }
    const handedBack = Number(stats?.dirty ?? 0);
    if (handedBack > MAX_HANDED_BACK) return { read: false, reason: `${handedBack} lines need the TypeScript reader` };
    const recorder = new Recorder();
    const dirtyLines = (await s.rows<{ seq: bigint }>(`SELECT seq ${mine} AND dirty ORDER BY seq`)).map((r) => Number(r.seq));
    if (!(await handBack(path, dirtyLines, file, kind, layout, recorder))) return { read: false, reason: 'a CSV line the CSV parser refuses' };
    // The file reads here: the clean rows stay in the batch, the rest replays on the sink, in line order.
    if (handedBack > 0) await s.run(`DELETE ${mine} AND dirty`);
    read = true;
    const observations = Number(stats?.rows) - handedBack;
    sink.startFile(fileSeq);
    if (layout && layout.unknown.length > 0) sink.rejectColumns(file, layout.unknown);
    sink.countBulk(observations);
    for (const call of recorder.calls) call(sink);
    return { read: true, observations, handedBack, pass };
  } catch (err) {
    // The engine refused the file (not UTF-8, a record DuckDB cannot parse, …): the TypeScript reader says why.
    return { read: false, reason: (err as Error).message.split('\n', 1)[0] ?? 'engine error' };
  } finally {
    if (!read) await s.run(`DELETE ${mine}`);
    await s.run(`DROP TABLE IF EXISTS ${lens}`);
  }
}

/**
 * The typed pass over a JSONL file into the batch, numbered by line. False when read_json refused to type
 * it (1e999, a malformed number, a string where a number was expected, …): nothing was added.
 */
async function typedRead(s: DuckSession, fileSeq: number, path: string): Promise<boolean> {
  const mine = `FROM ${SYNOP_BATCH} WHERE file_seq = ${fileSeq}`;
  try {
    await sqlPass(s, fileSeq, path, 'typed');
    await numberByInsertOrder(s, fileSeq, 1);
    return true;
  } catch {
    await s.run(`DELETE ${mine}`);
    return false;
  }
}

/**
 * Numbers a file's rows by line (`firstLine` the first data line): a pass that reads in parallel, without a
 * line table, relies on the batch keeping the file's order (DuckDB preserves insertion order), so a row's
 * line is its place among the rows its one INSERT added.
 */
async function numberByInsertOrder(s: DuckSession, fileSeq: number, firstLine: number): Promise<void> {
  await s.run(
    `UPDATE ${SYNOP_BATCH} SET seq = rowid - (SELECT min(rowid) FROM ${SYNOP_BATCH} WHERE file_seq = ${fileSeq}) + ${firstLine} WHERE file_seq = ${fileSeq}`,
  );
}

function literalIntegers(values: readonly number[]): string {
  return `[${values.map((v) => String(Math.trunc(v))).join(', ')}]::INTEGER[]`;
}

/** `lens`: each JSONL line's number and byte length, for the text pass to join by position. */
async function writeLineTable(s: DuckSession, lens: string, scan: Scan): Promise<void> {
  await s.run(`CREATE OR REPLACE TEMP TABLE ${lens} (line INTEGER, len INTEGER)`);
  const app = await s.connection.createAppender(lens, 'main', 'temp');
  for (let k = 0; k < scan.lines; k++) {
    app.appendInteger(k + 1);
    app.appendInteger(scan.lengths[k] as number);
    app.endRow();
  }
  app.closeSync();
}

/** The column types of the typed pass: numbers as DOUBLE (integrality is checked after), coordonnees as JSON. */
const READ_JSON_TYPES: Record<SynopField['type'], string> = { text: 'VARCHAR', datetime: 'VARCHAR', integer: 'DOUBLE', number: 'DOUBLE', geo_point: 'JSON' };

/** The one pass over the file: every record typed, with its `dirty` flag. */
/** What a pass reads: JSONL typed by read_json, JSONL as text joined with its line table, a CSV by header position. */
type PassInput = 'typed' | { lens: string } | { csv: CsvLayout };

async function sqlPass(s: DuckSession, fileSeq: number, path: string, input: PassInput): Promise<void> {
  let source: string;
  let select: TypedSelect;
  let exact = 'true';
  if (input === 'typed') {
    // Every line has the shape typedShape checks: no unknown or repeated key, each value of its field's kind.
    const cols = SYNOP_FIELDS.map((f) => `${literal(f.name)}: ${literal(READ_JSON_TYPES[f.type])}`).join(', ');
    select = typedSelect((i) => `r_${i}`, 'typed');
    // No POSITIONAL JOIN with the line table: it would make the scan single-threaded (2.2× slower here).
    source = `(SELECT NULL::INTEGER AS line, false AS quoted, ${SYNOP_FIELDS.map((f, i) => `"${f.name}"${f.type === 'geo_point' ? '::VARCHAR' : ''} AS r_${i}`).join(', ')}
      FROM read_json(${literal(path)}, format = 'newline_delimited', columns = {${cols}}, maximum_object_size = 16777216))`;
  } else if ('lens' in input) {
    const cols = SYNOP_FIELDS.map((f) => `${literal(f.name)}: 'JSON'`).join(', ');
    select = typedSelect((i) => `r_${i}`, 'json');
    source = `(SELECT line, len, false AS quoted, ${SYNOP_FIELDS.map((f, i) => `"${f.name}"::VARCHAR AS r_${i}`).join(', ')}
      FROM read_json(${literal(path)}, format = 'newline_delimited', columns = {${cols}}, maximum_object_size = 16777216)
      POSITIONAL JOIN ${input.lens})`;
    // The line is exactly the compact JSON of the 82 fields (nulls written out): no other key, no
    // duplicate, nothing DuckDB spells differently from the file. Otherwise TypeScript reads it.
    const fixed = 2 + (N - 1) + SYNOP_FIELDS.reduce((n, f) => n + Buffer.byteLength(f.name) + 3, 0);
    exact = `len = ${fixed} + ${SYNOP_FIELDS.map((_, i) => `coalesce(strlen(r_${i}), 4)`).join(' + ')}`;
  } else {
    const layout = input.csv;
    const cols = layout.columns;
    select = typedSelect((i) => {
      const c = cols.indexOf(i);
      return c === -1 ? null : `c_${c}`;
    }, 'csv');
    const names = layout.columns.map((_, c) => `'c_${c}': 'VARCHAR'`).join(', ');
    // Numbered by insertion order afterwards, as the typed pass: a POSITIONAL JOIN would make the scan single-threaded.
    source = `(SELECT NULL::INTEGER AS line, false AS quoted, * FROM read_csv(${literal(path)}, header = true, delim = ';', quote = '"', escape = '"',
      auto_detect = false, columns = {${names}}, strict_mode = true, null_padding = false))`;
  }
  // Straight into the batch: a copy of a year of wide rows costs as much as typing them.
  await s.run(`INSERT INTO ${SYNOP_BATCH} (${BATCH_INSERT_COLUMNS}, dirty)
    SELECT ${fileSeq}, line, ${select.columns.join(', ')}, dirty
    FROM (
      SELECT *, quoted OR NOT exact OR coalesce(${select.dirty}, true) AS dirty
      FROM (SELECT line, quoted, exact, ${select.typed.join(', ')}
        FROM (SELECT line, quoted, ${exact} AS exact, ${select.raw.join(', ')} FROM ${source}))
    )`);
}

/** Reads the handed-back lines with the TypeScript reader, in line order, into the recorder. */
async function handBack(path: string, lines: readonly number[], file: string, kind: Kind, layout: CsvLayout | null, rec: Recorder): Promise<boolean> {
  const unknown = new Set<string>();
  const texts = await fetchLines(path, lines);
  for (const line of lines) {
    const loc = { file, sheet: null, row: line };
    // readJsonLines trims each line, and decodeUtf8 drops a BOM.
    let text = texts.get(line) ?? '';
    if (line === 1) text = text.replace(/^\uFEFF/, '');
    if (kind === 'jsonl') {
      text = text.trim();
      if (text === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        const message = (err as Error).message;
        rec.rejectRecord(loc, null, null, isTruncatedJson(message, text) ? 'truncated JSON line' : `invalid JSON: ${message}`);
        continue;
      }
      typeObject(value, loc, rec, unknown);
    } else {
      let cells: string[][];
      try {
        cells = parse(text, { delimiter: ';', relax_column_count: true }) as string[][];
      } catch {
        return false;
      }
      if (cells.length !== 1 || !layout) return false;
      typeCsvCells(layout, cells[0] as string[], loc, rec);
    }
  }
  if (unknown.size > 0) rec.rejectColumns(file, shownNames(unknown));
  return true;
}
