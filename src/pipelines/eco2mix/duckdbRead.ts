/**
 * The fast read path for large eco2mix JSONL files: DuckDB parses the file itself (`read_json_objects`,
 * on its threads) and SQL types the records the TypeScript reader would type without a word ("clean"
 * ones: a known region, an offset datetime, a known nature or none, every MW value a number in range or
 * missing), straight into the run's batch. Every other record (a bad value, a bad key, a repeated JSON key,
 * a string with escapes, …) is handed back to the TypeScript reader (record.ts), which stays the reference:
 * the same rows, rejects, counters and row numbers, in the same order. A file that does not suit this (lines
 * that are not one compact JSON object each, CR line ends, blank lines, JSON that DuckDB reads but
 * `JSON.parse` would refuse, too many records to hand back, an engine error) is read whole by the
 * TypeScript reader instead: the caller falls back.
 */
import { open, stat } from 'node:fs/promises';
import {
  ECO2MIX_FIELDS,
  ECO2MIX_NATURES,
  ECO2MIX_REGIONS,
  ECO2MIX_SOURCES,
  fieldOfKey,
  isIgnoredColumn,
  SOURCE_FIELDS,
} from '../../connectors/opendatasoft/eco2mix/fields.js';
import { literal, type DuckSession } from '../../engine/duckdb.js';
import { isTruncatedJson } from '../../engine/readers/text.js';
import type { Eco2mixSink } from './batch.js';
import { shownNames, typeObject } from './readers.js';

/** Below this size the TypeScript reader is as fast and needs no engine round trips. */
export const SQL_READ_MIN_BYTES = 4 << 20;
/** More records than this to hand back to TypeScript: the whole file is read there instead. */
const MAX_HANDED_BACK = 20_000;

export type SqlReadOutcome = { read: true; observations: number; emptySlots: number; handedBack: number; pass: Pass['name'] } | { read: false; reason: string };

/** What the fast path needs of the run's sink besides the reader's calls. */
export interface BulkSink extends Eco2mixSink {
  /** Records SQL typed itself: `observations` inserted into the batch, `emptySlots` skipped. */
  countBulk(observations: number, emptySlots: number): void;
  /** The arrival order (`seq`) the next observation takes: its line, as SQL numbers the rows it inserts. */
  seqOverride: number | null;
}

/** readers.ts NUMBER (record.ts), for a JSON string's content. */
const NUMBER_RE = '[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?';
/** record.ts MAX_ABS_MW. */
const MAX_ABS_MW = 100_000;

const REGION_PATH = 'code_insee_region';
const PATHS = [REGION_PATH, 'nature', 'date_heure', ...SOURCE_FIELDS.map((f) => f.name)];

/** SQL of a JSON string's content `j` (JSON text, re-serialized by DuckDB) when it has no escape; NULL otherwise. */
const stringContent = (j: string) => `CASE WHEN left(${j}, 1) = '"' AND NOT contains(${j}, '\\') THEN substr(${j}, 2, strlen(${j}) - 2) END`;

const REGION_TEXTS = `[${[...ECO2MIX_REGIONS.keys()].flatMap((c) => [literal(c), literal(`"${c}"`)]).join(', ')}]`;
const NATURE_TEXTS = `[${['""', '"-"', '"ND"', ...ECO2MIX_NATURES.map((n) => `"${n}"`)].map(literal).join(', ')}]`;

/** The UTC instant of `YYYY-MM-DDTHH:MM:SS±HH:MM` or `…Z`. */
function instantSql(s: string): string {
  const offsetMin = `(CASE WHEN right(${s}, 1) = 'Z' THEN 0 ELSE (CASE WHEN substr(${s}, 20, 1) = '-' THEN -1 ELSE 1 END) *
    (CAST(substr(${s}, 21, 2) AS INTEGER) * 60 + CAST(substr(${s}, 24, 2) AS INTEGER)) END)`;
  return `TRY_CAST(substr(${s}, 1, 19) AS TIMESTAMP) - to_minutes(${offsetMin})`;
}

async function lastByte(path: string, size: number): Promise<number> {
  if (size === 0) return -1;
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(1);
    await fh.read(buf, 0, 1, size - 1);
    return buf[0] as number;
  } finally {
    await fh.close();
  }
}

/** Keys as JSON.parse would enumerate them differ from the document's order for array-index-like names. */
const INDEX_LIKE = /^(?:0|[1-9]\d*)$/;

/** The lines `wanted` (1-based, ascending) of a file, read by a scan for line ends: only when records go back. */
async function fetchLines(path: string, wanted: readonly number[]): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  if (wanted.length === 0) return out;
  const fh = await open(path, 'r');
  try {
    const chunk = Buffer.alloc(4 << 20);
    let line = 1;
    let k = 0;
    let pending: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      let start = 0;
      const data = chunk.subarray(0, bytesRead);
      for (;;) {
        const nl = data.indexOf(10, start);
        const end = nl === -1 ? data.length : nl;
        if (line === wanted[k]) pending.push(Buffer.from(data.subarray(start, end)));
        if (nl === -1) break;
        if (line === wanted[k]) {
          out.set(line, Buffer.concat(pending).toString('utf8'));
          pending = [];
          if (++k === wanted.length) return out;
        }
        line++;
        start = nl + 1;
      }
    }
    if (line === wanted[k]) out.set(line, Buffer.concat(pending).toString('utf8'));
    return out;
  } finally {
    await fh.close();
  }
}

/** What a pass gives: the typed records in `tmp`, and whether the lines are known to be one compact record each. */
interface Pass {
  name: 'typed' | 'exact';
  /** The hand-back's text of a dirty record: the raw line (`fetch`) or the one DuckDB kept (column `json`). */
  rawText: 'fetch' | 'column';
  /** Every key of the file's records, when known to be the first record's (the typed pass). */
  keysOfAll: readonly string[] | null;
}

/**
 * SQL typing one record from its fields' JSON texts `raw(name)` (DuckDB's re-serialization; NULL when the key
 * is absent or, in the typed pass, null): the columns of the pass's table, `dirty` for a record to hand back.
 * Constants are matched with list_contains, not IN: a long IN list becomes a join, which loses the rows'
 * order, and the order is the line number.
 */
function typedColumns(raw: (name: string) => string, extraDirty: string, source: string): string {
  const mw = ECO2MIX_SOURCES.map((_, i) => i);
  const mwRaw = SOURCE_FIELDS.map((f) => raw(f.name));
  const region = raw(REGION_PATH);
  const nature = raw('nature');
  const list = (texts: readonly string[]) => `[${texts.map(literal).join(', ')}]`;
  const dt = raw('date_heure');
  // The datetimes SQL types: a subset of what parseOffsetDateTime reads (seconds, `Z` or `±HH:MM`, years
  // 1000–2999 so Date.UTC's two-digit years never arise), as a JSON string, fields in range; the cast then
  // refuses days that do not exist. Anything else goes back to TypeScript.
  const shape = `(left(${dt}, 2) IN ('"1', '"2') AND ((strlen(${dt}) = 27 AND ${dt} LIKE '"____-__-__T__:__:__+__:__"' OR ${dt} LIKE '"____-__-__T__:__:__-__:__"')
      AND substr(${dt}, 22, 2) <= '18' AND substr(${dt}, 25, 2) < '60' OR strlen(${dt}) = 22 AND ${dt} LIKE '"____-__-__T__:__:__Z"')
      AND substr(${dt}, 13, 2) < '24' AND substr(${dt}, 16, 2) < '60' AND substr(${dt}, 19, 2) < '60'
      AND NOT regexp_matches(${dt}, '[^0-9TZ:+"-]'))`;
  const typed = [
    `CASE WHEN list_contains(${REGION_TEXTS}, ${region}) THEN trim(${region}, '"') END AS region`,
    `CASE WHEN ${shape} THEN ${instantSql(`substr(${dt}, 2, strlen(${dt}) - 2)`)} END AS observed_at`,
    `(${nature} IS NULL OR ${nature} = 'null' OR list_contains(${NATURE_TEXTS}, ${nature})) AS nature_ok`,
    `CASE WHEN list_contains(${list(ECO2MIX_NATURES.map((n) => `"${n}"`))}, ${nature}) THEN trim(${nature}, '"') END AS nature_t`,
    ...mw.flatMap((i) => {
      const j = mwRaw[i] as string;
      // A JSON number's text casts as it is; only strings (rare) need their content looked at.
      const str = stringContent(j);
      return [
        `(${j} IS NULL OR ${j} = 'null' OR (left(${j}, 1) = '"' AND coalesce(list_contains(['', '-', 'ND', 'nd', 'Nd', 'nD'], ${str}), false))) AS miss_${i}`,
        `(CASE WHEN left(${j}, 1) = '"' THEN (CASE WHEN regexp_full_match(${str}, ${literal(NUMBER_RE)}) THEN TRY_CAST(${str} AS DOUBLE) END) ELSE TRY_CAST(${j} AS DOUBLE) END) AS num_${i}`,
      ];
    }),
  ];
  const ok = mw.map((i) => `(miss_${i} OR (num_${i} IS NOT NULL AND isfinite(num_${i}) AND abs(num_${i}) <= ${MAX_ABS_MW}))`).join(' AND ');
  return `SELECT *, NOT coalesce(region IS NOT NULL AND observed_at IS NOT NULL AND nature_ok AND ${ok} AND NOT (${extraDirty}), false) AS dirty,
      ${mw.map((i) => `(CASE WHEN miss_${i} THEN 0 ELSE 1 END)`).join(' + ')} AS present
    FROM (SELECT *, ${typed.join(',\n      ')} FROM ${source})`;
}

/** The pass's table: the typed values, `dirty`, `empty`, and what each pass keeps for its checks. */
function passTable(tmp: string, keep: string, typed: string): string {
  const mw = ECO2MIX_SOURCES.map((_, i) => i);
  return `CREATE OR REPLACE TEMP TABLE ${tmp} AS
    SELECT ${keep}, dirty, NOT dirty AND present = 0 AS empty,
      CASE WHEN NOT dirty AND present > 0 THEN region END AS region_code, observed_at, nature_t AS nature,
      ${mw.map((i) => `CASE WHEN NOT miss_${i} THEN num_${i} END AS m_${i}`).join(', ')}
    FROM (${typed})`;
}

/**
 * The typed pass: read_json with a column per key of the first record (every field, and its other keys), as
 * JSON text. It cannot see a key the first record lacks, nor tell an absent key from a null one, so it
 * proves the file has no other key by length: each line re-spelled compactly from its columns, plus its line
 * end, must add up to the file's size (a line with another key, a repeated key, spaces, or a value DuckDB
 * reads leniently is longer than its re-spelling). Then the first record's keys are every record's.
 */
async function typedPass(s: DuckSession, tmp: string, path: string, size: number, firstKeys: readonly string[]): Promise<Pass | null> {
  const names = [...new Set([...ECO2MIX_FIELDS.map((f) => f.name), ...firstKeys])];
  const col = (name: string) => `c_${names.indexOf(name)}`;
  const fixed = 2 + (names.length - 1) + names.reduce((n, k) => n + Buffer.byteLength(k) + 3, 0);
  const length = `${fixed} + ${names.map((k) => `coalesce(strlen(${col(k)}), 4)`).join(' + ')}`;
  // JSON.parse refuses NaN and Infinity, which DuckDB reads: such a record goes back to be rejected.
  const lenient = names.map((k) => `coalesce(${col(k)} IN ('NaN', 'Infinity', '-Infinity'), false)`).join(' OR ');
  const columns = names.map((k) => `${literal(k)}: 'JSON'`).join(', ');
  const source = `(SELECT ${length} AS len, (${lenient}) AS lenient, * FROM (SELECT ${names.map((k) => `${quoteName(k)}::VARCHAR AS ${col(k)}`).join(', ')}
    FROM read_json(${literal(path)}, format = 'newline_delimited', columns = {${columns}}, maximum_object_size = 16777216)))`;
  await s.run(passTable(tmp, 'len', typedColumns(col, 'lenient', source)));
  const [st] = await s.rows<{ bytes: bigint | null }>(`SELECT sum(len + 1) AS bytes FROM ${tmp}`);
  const expected = (await lastByte(path, size)) === 10 ? size : size + 1;
  if (Number(st?.bytes ?? 0) !== expected) return null;
  return { name: 'typed', rawText: 'fetch', keysOfAll: firstKeys };
}

const quoteName = (k: string) => `"${k.replaceAll('"', '""')}"`;

/**
 * The exact pass, for files the typed pass cannot vouch for (keys that vary from record to record, spaces,
 * repeated keys): each record's JSON text, its keys and its fields' values, parsed again per function
 * (~3× slower), keeping the text of the records to hand back.
 */
async function exactPass(s: DuckSession, tmp: string, path: string, size: number, firstKeys: readonly string[]): Promise<Pass | null> {
  const known = ECO2MIX_FIELDS.map((f) => literal(f.name)).join(', ');
  const keysList = `[${firstKeys.map(literal).join(', ')}]::VARCHAR[]`;
  // DuckDB reads trailing commas, NaN and Infinity, which JSON.parse refuses: such records go back.
  const lenient = `(json_type(json) <> 'OBJECT' OR dup OR contains(json, ',}') OR contains(json, ',]') OR contains(json, 'NaN') OR contains(json, 'Infinity')
    OR (contains(json, ', ') AND regexp_matches(json, ',\\s+[\\]}]')))`;
  const source = `(SELECT json, len, wrapped, k, odd, odd AND len(list_distinct(k)) <> len(k) AS dup, v FROM (
      SELECT json, strlen(json) AS len, contains(json, chr(10)) OR contains(json, chr(13)) AS wrapped, json_keys(json) AS k,
        json_keys(json) <> ${keysList} AS odd, json_extract(json, [${PATHS.map(literal).join(', ')}])::VARCHAR[] AS v
      FROM read_json_objects(${literal(path)}, format = 'newline_delimited', maximum_object_size = 16777216)))`;
  const raw = (name: string) => `v[${PATHS.indexOf(name) + 1}]`;
  const keep = `len, wrapped, CASE WHEN odd THEN list_filter(k, x -> NOT list_contains([${known}], x)) END AS unknown, CASE WHEN dirty THEN json END AS json`;
  await s.run(passTable(tmp, keep, typedColumns(raw, lenient, source)));
  const [st] = await s.rows<{ bytes: bigint | null; wrapped: bigint }>(`SELECT sum(len + 1) AS bytes, count(*) FILTER (WHERE wrapped) AS wrapped FROM ${tmp}`);
  // One compact object per line and nothing else: the record's place is its line.
  const expected = (await lastByte(path, size)) === 10 ? size : size + 1;
  if (Number(st?.wrapped ?? 0) > 0 || Number(st?.bytes ?? 0) !== expected) return null;
  return { name: 'exact', rawText: 'column', keysOfAll: null };
}

/**
 * Reads the JSONL file `path` (shown as `file`) through DuckDB into `batch` (columns of load.ts's batch,
 * `file_seq` = `fileSeq`, `seq` = line) and the sink. On `read: false` nothing was added to either: read
 * the file with the TypeScript reader.
 */
export async function readEco2mixJsonlSql(
  s: DuckSession,
  batch: string,
  file: string,
  path: string,
  fileSeq: number,
  rawFile: string,
  sink: BulkSink,
): Promise<SqlReadOutcome> {
  const size = (await stat(path)).size;
  const tmp = `eco2mix_sqlread_${fileSeq}`;
  let inserted = false;
  try {
    // The first record's keys: most files write every record with the same keys in the same order.
    const first = await s.rows<{ k: string[] | null }>(
      `SELECT json_keys(json) AS k FROM read_json_objects(${literal(path)}, format = 'newline_delimited', maximum_object_size = 16777216) LIMIT 1`,
    );
    if (first.length === 0) return { read: false, reason: 'no record' };
    const firstKeys = first[0]?.k ?? [];
    const repeats = new Set(firstKeys).size !== firstKeys.length;
    let pass: Pass | null = null;
    if (!repeats) {
      try {
        pass = await typedPass(s, tmp, path, size, firstKeys);
      } catch {
        // read_json refused a record (a repeated key, a line that is no object, …): the exact pass decides.
        pass = null;
      }
    }
    pass ??= await exactPass(s, tmp, path, size, firstKeys);
    if (!pass) return { read: false, reason: 'lines are not one compact JSON object each' };
    const [st] = await s.rows<{ records: bigint; dirty: bigint; empty: bigint }>(
      `SELECT count(*) AS records, count(*) FILTER (WHERE dirty) AS dirty, count(*) FILTER (WHERE empty) AS empty FROM ${tmp}`,
    );
    const records = Number(st?.records ?? 0);
    const dirty = Number(st?.dirty ?? 0);
    if (dirty > MAX_HANDED_BACK) return { read: false, reason: `${dirty} records need the TypeScript reader` };
    // Unknown keys in the order JSON.parse would meet them: the first record's, then the others' by line.
    const unknown = new Set<string>();
    const note = (keys: readonly string[]) => {
      for (const k of keys) if (fieldOfKey(k) === undefined && !isIgnoredColumn(k)) unknown.add(k);
    };
    note(firstKeys);
    if (!pass.keysOfAll) {
      for (const r of await s.rows<{ unknown: string[] }>(`SELECT unknown FROM ${tmp} WHERE len(unknown) > 0 ORDER BY rowid`)) note(r.unknown);
    }
    if ([...unknown].some((k) => INDEX_LIKE.test(k))) return { read: false, reason: 'an unknown key JSON.parse would list out of order' };
    const regionName = `CASE region_code ${[...ECO2MIX_REGIONS].map(([c, n]) => `WHEN ${literal(c)} THEN ${literal(n)}`).join(' ')} END`;
    const back =
      dirty === 0
        ? []
        : pass.rawText === 'column'
          ? (await s.rows<{ line: bigint; json: string }>(`SELECT rowid + 1 AS line, json FROM ${tmp} WHERE dirty ORDER BY rowid`)).map((r) => ({
              line: Number(r.line),
              text: r.json,
            }))
          : await (async () => {
              const lines = (await s.rows<{ line: bigint }>(`SELECT rowid + 1 AS line FROM ${tmp} WHERE dirty ORDER BY rowid`)).map((r) => Number(r.line));
              const texts = await fetchLines(path, lines);
              return lines.map((line) => ({ line, text: texts.get(line) ?? '' }));
            })();
    await s.run(
      `INSERT INTO ${batch} SELECT ${fileSeq}, rowid + 1, region_code, observed_at, ${regionName}, nature, ${ECO2MIX_SOURCES.map((_, i) => `m_${i}`).join(', ')}, ${literal(rawFile)}
       FROM ${tmp} WHERE region_code IS NOT NULL`,
    );
    inserted = true;
    const emptySlots = Number(st?.empty ?? 0);
    const observations = records - dirty - emptySlots;
    sink.countBulk(observations, emptySlots);
    const ignored = new Set<string>();
    for (const { line, text } of back) {
      const loc = { file, sheet: null, row: line };
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        // readJsonLines' reject for a line JSON.parse refuses.
        const message = (err as Error).message;
        sink.rejectRecord(loc, null, null, isTruncatedJson(message, text) ? 'truncated JSON line' : `invalid JSON: ${message}`);
        continue;
      }
      sink.seqOverride = line;
      try {
        typeObject(value, loc, sink, ignored);
      } finally {
        sink.seqOverride = null;
      }
    }
    if (unknown.size > 0) sink.rejectColumns(file, shownNames(unknown));
    return { read: true, observations, emptySlots, handedBack: dirty, pass: pass.name };
  } catch (err) {
    if (inserted) throw err;
    // The engine refused the file (not UTF-8, a line DuckDB cannot parse, …): the TypeScript reader says why.
    return { read: false, reason: (err as Error).message.split('\n', 1)[0] ?? 'engine error' };
  } finally {
    await s.run(`DROP TABLE IF EXISTS ${tmp}`);
  }
}
