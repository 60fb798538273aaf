/**
 * Readers for every shape a user may hold of `donnees-synop-essentielles-omm` (docs/pipelines/synop.md, _Inputs_):
 * an Explore API response (`{"total_count","results":[…]}`), an export as a JSON array, JSONL, a `;`
 * CSV (BOM, header of field names or of French labels) and ZIP archives of those. Each record becomes
 * a typed `SynopObservation` (all 82 fields, converted columns) or a reject; nothing is dropped silently.
 */
import { readCsv, detectDelimiter, type CsvTable } from '../../engine/readers/csv.js';
import { readJsonLines } from '../../engine/readers/jsonl.js';
import { clip, decodeUtf8, FileFormatError, showValue } from '../../engine/readers/text.js';
import { type ZipReadOptions } from '../../engine/readers/zip.js';
import { readFileByType, readPathByType, type ReadersByType } from '../../engine/readers/byType.js';
import { jsonRecords } from '../../connectors/opendatasoft/files.js';
import { fieldIndex, mapHeader, SYNOP_FIELDS, SYNOP_INDEX, type SynopField } from '../../connectors/opendatasoft/synop/fields.js';
import {
  formatCoordinates,
  isoUtc,
  parseCoordinates,
  parseOffsetDateTime,
  type SynopValue,
  type SynopValues,
} from '../../connectors/opendatasoft/synop/values.js';
import type { RecordLocation } from '../../quality/rejects.js';
import type { SynopSink } from './batch.js';
import { convertObservation } from './convert.js';

export const SYNOP_EXTENSIONS = ['json', 'jsonl', 'ndjson', 'csv', 'zip'] as const;

export interface ReadSynopOptions {
  /** ZIP archives: their limits, and the run's scratch folder they are extracted into. */
  zip?: ZipReadOptions;
}

const N = SYNOP_FIELDS.length;
const STA = fieldIndex('numer_sta');
const DATE = fieldIndex('date');
const COORD = fieldIndex('coordonnees');
const LAT = fieldIndex('latitude');
const LON = fieldIndex('longitude');
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

type Typed = { value: SynopValue } | { error: string };

/** A raw value as a reject quotes it (bounded; deep nesting described rather than overflowing the stack). */
const shown = showValue;

/** Types one raw value (JSON value or CSV cell) for its field. Empty and null are missing. */
function typeValue(field: SynopField, raw: unknown): Typed {
  if (raw === undefined || raw === null || raw === '') return { value: null };
  switch (field.type) {
    case 'text':
      if (typeof raw === 'string') return { value: raw };
      if (typeof raw === 'number' || typeof raw === 'boolean') return { value: String(raw) };
      return { error: 'not a text value' };
    case 'integer':
    case 'number': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && NUMBER.test(raw.trim())) n = Number(raw.trim());
      else return { error: 'not a number' };
      if (!Number.isFinite(n)) return { error: 'not a finite number' };
      if (field.type === 'integer' && !Number.isInteger(n)) return { error: 'not an integer' };
      return { value: n };
    }
    case 'datetime': {
      if (typeof raw !== 'string') return { error: 'not a datetime string' };
      const t = parseOffsetDateTime(raw);
      if (t === 'no-offset') return { error: 'datetime without UTC offset (ambiguous; export with timezone=UTC or keep the offset)' };
      if (t === null) return { error: 'not an ISO 8601 datetime' };
      return { value: isoUtc(t) };
    }
    case 'geo_point': {
      const c = parseCoordinates(raw);
      if (c === undefined) return { error: 'not a coordinate pair ("lat, lon" or {"lon","lat"})' };
      return { value: c === null ? null : formatCoordinates(c.lat, c.lon) };
    }
  }
}

/** A WMO station number: text, leading zeros kept; a spreadsheet may have turned "07015" into 7015. */
function stationNumber(raw: unknown): string | null {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return String(raw).padStart(5, '0');
  if (typeof raw !== 'string') return null;
  const s = raw.trim();
  if (s === '') return null;
  return /^\d{1,4}$/.test(s) ? s.padStart(5, '0') : s;
}

/** Types one record given as raw values by field index (undefined: absent) and feeds the sink. */
function typeRecord(raw: readonly unknown[], loc: RecordLocation, sink: SynopSink): void {
  const sta = stationNumber(raw[STA]);
  if (sta === null) {
    const v = raw[STA];
    sink.rejectRecord(
      loc,
      'numer_sta',
      v === undefined || v === null ? null : shown(v),
      v === undefined || v === null || v === '' ? 'missing station number (numer_sta)' : 'not a station number',
    );
    return;
  }
  const rawDate = raw[DATE];
  if (rawDate === undefined || rawDate === null || rawDate === '') {
    sink.rejectRecord(loc, 'date', null, 'missing observation time (date)');
    return;
  }
  const date = typeValue(SYNOP_FIELDS[DATE] as SynopField, rawDate);
  if ('error' in date || date.value === null) {
    sink.rejectRecord(loc, 'date', shown(rawDate), 'error' in date ? date.error : 'missing observation time (date)');
    return;
  }
  const values: SynopValues = new Array<SynopValue>(N);
  values[STA] = sta;
  values[DATE] = date.value;
  for (let i = 0; i < N; i++) {
    if (i === STA || i === DATE) continue;
    const field = SYNOP_FIELDS[i] as SynopField;
    const typed = typeValue(field, raw[i]);
    if ('error' in typed) {
      sink.rejectValue(loc, field.name, shown(raw[i]), typed.error);
      values[i] = null;
    } else {
      values[i] = typed.value;
    }
  }
  // coordonnees and latitude/longitude describe the same point: fill whichever is absent.
  const coord = values[COORD];
  const lat = values[LAT];
  const lon = values[LON];
  if (coord === null && typeof lat === 'number' && typeof lon === 'number') {
    values[COORD] = formatCoordinates(lat, lon);
  } else if (typeof coord === 'string' && (lat === null || lon === null)) {
    const c = parseCoordinates(coord);
    if (c) {
      values[LAT] = c.lat;
      values[LON] = c.lon;
    }
  }
  const converted = convertObservation(values, (field, value, reason) => sink.rejectValue(loc, field, value, reason));
  sink.observation({ stationId: sta, observedAt: Date.parse(String(date.value)), values, converted, loc });
}

const MAX_NAMES_SHOWN = 20;

/** Unknown column or key names as their one reject lists them: each name and the list bounded, whatever the file holds. */
export function shownNames(names: Iterable<string>): string[] {
  const all = [...names];
  const shown = all.slice(0, MAX_NAMES_SHOWN).map((name) => clip(name, 100));
  if (all.length > MAX_NAMES_SHOWN) shown.push(`… and ${all.length - MAX_NAMES_SHOWN} more`);
  return shown;
}

/** Reads the keys of one JSON record; keys that are not fields are collected in `unknown`. */
export function typeObject(value: unknown, loc: RecordLocation, sink: SynopSink, unknown: Set<string>): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    sink.rejectRecord(loc, null, shown(value), 'not a JSON object');
    return;
  }
  const raw = new Array<unknown>(N);
  const obj = value as Record<string, unknown>;
  // for…in rather than Object.entries: no pair arrays per key on the 180k-record path.
  for (const key in obj) {
    const i = SYNOP_INDEX[key];
    if (i === undefined) unknown.add(key);
    else raw[i] = obj[key];
  }
  typeRecord(raw, loc, sink);
}

/**
 * Whether V8's JSON error points at the very end of the text: Node 20 reports a cut-off document as
 * "Expected ',' or '}' … at position N" (N = its length), which the engine's wording check misses.
 */
function readJson(file: string, bytes: Uint8Array, sink: SynopSink): void {
  const { records, sheet } = jsonRecords(bytes);
  const unknown = new Set<string>();
  records.forEach((r, k) => typeObject(r, { file, sheet, row: k + 1 }, sink, unknown));
  if (unknown.size > 0) sink.rejectColumns(file, shownNames(unknown));
}

function readJsonl(file: string, bytes: Uint8Array, sink: SynopSink): void {
  if (bytes.length === 0) throw new FileFormatError('empty file', 1);
  const unknown = new Set<string>();
  const onError = (line: number, message: string) => sink.rejectRecord({ file, sheet: null, row: line }, null, null, message);
  const lines = readJsonLines(bytes, onError);
  for (const { line, value } of lines) typeObject(value, { file, sheet: null, row: line }, sink, unknown);
  if (unknown.size > 0) sink.rejectColumns(file, shownNames(unknown));
}

/** The coded fields whose label their text twin repeats (docs/pipelines/synop.md, _Repeated labels_). */
const TWINS: ReadonlyMap<number, number> = new Map(
  (
    [
      ['cod_tend', 'type_de_tendance_barometrique'],
      ['ww', 'temps_present'],
      ['w1', 'temps_passe_1'],
    ] as const
  ).map(([code, text]) => [fieldIndex(code), fieldIndex(text)]),
);

/**
 * A labels export with only the text twin selected shows the repeated label once, and position maps it
 * to the coded field. When that twin is absent from the header and the column holds text, not codes,
 * it is the twin's column.
 */
function resolveTwins(header: readonly string[], columns: (number | null)[], rows: readonly { cells: string[] }[]): void {
  columns.forEach((idx, c) => {
    const twin = idx === null ? undefined : TWINS.get(idx);
    if (twin === undefined || columns.includes(twin) || SYNOP_INDEX[(header[c] ?? '').trim()] !== undefined) return;
    for (const { cells } of rows.slice(0, 100)) {
      const v = cells[c]?.trim();
      if (v && !NUMBER.test(v)) {
        columns[c] = twin;
        return;
      }
    }
  });
}

/** How a CSV file's columns map to fields, read from its header (and, for label twins, its first rows). */
export interface CsvLayout {
  width: number;
  /** Field index of each column, null for a column the dataset does not have. */
  columns: (number | null)[];
  /** Unknown header names, reported once per file. */
  unknown: string[];
}

/**
 * Checks a CSV's header and maps its columns; `text` is the file's beginning (at least the header; the
 * first rows resolve label twins). Throws a FileFormatError for a file that cannot be read as SYNOP.
 */
export function csvLayout(text: string): CsvLayout {
  checkHeaderLine(text);
  return layoutOf(readCsv(Buffer.from(text), ';'));
}

/** Checks the header line before parsing: a `,` file parsed with `;` would give one huge column. */
function checkHeaderLine(text: string): void {
  const head = text.replace(/^\uFEFF/, '');
  const firstLine = head.split(/\r?\n/, 1)[0] ?? '';
  if (firstLine.trim() === '') throw new FileFormatError('empty file (no header line)', 1);
  // A one-column header has no delimiter at all: read it as `;`.
  const delimiter = /[,\t]/.test(firstLine) ? detectDelimiter(firstLine) : ';';
  if (delimiter !== ';') {
    const name = delimiter === '\t' ? 'tabs' : `'${delimiter}'`;
    throw new FileFormatError(
      `columns are separated by ${name}, expected ';' (OpenDataSoft CSV exports use ';'); re-export with delimiter=; or convert the file`,
      1,
    );
  }
}

function layoutOf(table: CsvTable): CsvLayout {
  const map = mapHeader(table.header);
  const mapped = map.columns.filter((c) => c !== null).length;
  if (mapped === 0)
    throw new FileFormatError(`no column of donnees-synop-essentielles-omm in the header (${clip(table.header.slice(0, 5).join('; '), 200)}…)`, 1);
  for (const key of ['numer_sta', 'date']) {
    if (!map.columns.includes(SYNOP_INDEX[key] as number)) {
      const label = (SYNOP_FIELDS[SYNOP_INDEX[key] as number] as SynopField).label;
      throw new FileFormatError(`no ${key} column ("${label}" in a labels export): the records have no key`, 1);
    }
  }
  resolveTwins(table.header, map.columns, table.rows);
  return { width: table.header.length, columns: map.columns, unknown: shownNames(map.unknown) };
}

/** Types one CSV record (its cells as parsed) by the file's layout and feeds the sink. */
export function typeCsvCells(layout: CsvLayout, cells: readonly string[], loc: RecordLocation, sink: SynopSink, raw = new Array<unknown>(N)): void {
  const { width, columns } = layout;
  if (cells.length !== width) {
    sink.rejectRecord(loc, null, null, `${cells.length} cells where the header has ${width} columns`);
    return;
  }
  raw.fill(undefined);
  for (let c = 0; c < width; c++) {
    const i = columns[c];
    if (i !== null && i !== undefined) raw[i] = cells[c];
  }
  typeRecord(raw, loc, sink);
}

function readSynopCsv(file: string, bytes: Uint8Array, sink: SynopSink): void {
  checkHeaderLine(decodeUtf8(bytes.subarray(0, Math.min(bytes.length, 64 * 1024))));
  const table = readCsv(bytes, ';');
  const layout = layoutOf(table);
  if (layout.unknown.length > 0) sink.rejectColumns(file, layout.unknown);
  const raw = new Array<unknown>(N);
  for (const { line, cells } of table.rows) typeCsvCells(layout, cells, { file, sheet: null, row: line }, sink, raw);
}

/**
 * Reads one SYNOP file (by its extension) into the sink. A problem with the file as a whole — wrong
 * delimiter, truncated JSON — becomes a file reject naming it; the caller goes on. ZIP archives are read
 * from disk, by `readSynopPath`.
 */
export function readSynopFile(file: string, bytes: Uint8Array, sink: SynopSink): void {
  readFileByType(file, bytes, sink, readersFor(sink));
}

/** Reads one SYNOP file from disk into the sink: a ZIP archive entry by entry, any other file whole. */
export async function readSynopPath(file: string, path: string, sink: SynopSink, opts: ReadSynopOptions = {}): Promise<void> {
  await readPathByType(file, path, sink, readersFor(sink), opts.zip);
}

function readersFor(sink: SynopSink): ReadersByType {
  return {
    json: (f, b) => readJson(f, b, sink),
    jsonl: (f, b) => readJsonl(f, b, sink),
    ndjson: (f, b) => readJsonl(f, b, sink),
    csv: (f, b) => readSynopCsv(f, b, sink),
  };
}
