/**
 * Readers for every shape a user may hold of `eco2mix-regional-tr` / `eco2mix-regional-cons-def`: an
 * Explore API response (`{"total_count","results":[…]}`), an export as a JSON array, JSONL, a `;` CSV
 * (BOM, header of field names or French labels, either layout) and ZIP archives of those. The same
 * shapes, and the same structure, as the SYNOP readers (src/pipelines/synop/readers.ts).
 */
import { detectDelimiter, readCsv } from '../../engine/readers/csv.js';
import { readJsonLines } from '../../engine/readers/jsonl.js';
import { clip, decodeUtf8, FileFormatError, showValue } from '../../engine/readers/text.js';
import { type ZipReadOptions } from '../../engine/readers/zip.js';
import { readFileByType, readPathByType, type ReadersByType } from '../../engine/readers/byType.js';
import { jsonRecords } from '../../connectors/opendatasoft/files.js';
import { ECO2MIX_FIELDS, fieldOfKey, isIgnoredColumn, mapHeader } from '../../connectors/opendatasoft/eco2mix/fields.js';
import type { RecordLocation } from '../../quality/rejects.js';
import type { Eco2mixSink } from './batch.js';
import { DATE_HEURE, FIELD_COUNT, REGION, typeRecord } from './record.js';

/** The file types the eco2mix readers take. */
export const ECO2MIX_EXTENSIONS = ['json', 'jsonl', 'ndjson', 'csv', 'zip'] as const;

export interface ReadEco2mixOptions {
  /** ZIP archives: their limits, and the run's scratch folder they are extracted into. */
  zip?: ZipReadOptions;
}

const MAX_NAMES_SHOWN = 20;

/** Unknown names as their one reject lists them: each name and the list bounded, whatever the file holds. */
export function shownNames(names: Iterable<string>): string[] {
  const all = [...names];
  const shown = all.slice(0, MAX_NAMES_SHOWN).map((name) => clip(name, 100));
  if (all.length > MAX_NAMES_SHOWN) shown.push(`… and ${all.length - MAX_NAMES_SHOWN} more`);
  return shown;
}

export function typeObject(value: unknown, loc: RecordLocation, sink: Eco2mixSink, unknown: Set<string>): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    sink.rejectRecord(loc, null, showValue(value), 'not a JSON object');
    return;
  }
  const raw = new Array<unknown>(FIELD_COUNT);
  const obj = value as Record<string, unknown>;
  for (const key in obj) {
    const i = fieldOfKey(key);
    if (i !== undefined) raw[i] = obj[key];
    else if (!isIgnoredColumn(key)) unknown.add(key);
  }
  typeRecord(raw, loc, sink);
}

function readJson(file: string, bytes: Uint8Array, sink: Eco2mixSink): void {
  const { records, sheet } = jsonRecords(bytes);
  const unknown = new Set<string>();
  records.forEach((r, k) => typeObject(r, { file, sheet, row: k + 1 }, sink, unknown));
  if (unknown.size > 0) sink.rejectColumns(file, shownNames(unknown));
}

function readJsonl(file: string, bytes: Uint8Array, sink: Eco2mixSink): void {
  if (bytes.length === 0) throw new FileFormatError('empty file', 1);
  const unknown = new Set<string>();
  const onError = (line: number, message: string) => sink.rejectRecord({ file, sheet: null, row: line }, null, null, message);
  for (const { line, value } of readJsonLines(bytes, onError)) typeObject(value, { file, sheet: null, row: line }, sink, unknown);
  if (unknown.size > 0) sink.rejectColumns(file, shownNames(unknown));
}

/** Checks the header line before parsing: a `,` file parsed with `;` would give one huge column. */
function checkHeaderLine(bytes: Uint8Array): void {
  const head = decodeUtf8(bytes.subarray(0, Math.min(bytes.length, 64 * 1024)));
  const firstLine = head.split(/\r?\n/, 1)[0] ?? '';
  if (firstLine.trim() === '') throw new FileFormatError('empty file (no header line)', 1);
  const delimiter = /[,\t]/.test(firstLine) ? detectDelimiter(firstLine) : ';';
  if (delimiter !== ';') {
    const name = delimiter === '\t' ? 'tabs' : `'${delimiter}'`;
    throw new FileFormatError(
      `columns are separated by ${name}, expected ';' (OpenDataSoft CSV exports use ';'); re-export with delimiter=; or convert the file`,
      1,
    );
  }
}

function readEco2mixCsv(file: string, bytes: Uint8Array, sink: Eco2mixSink): void {
  checkHeaderLine(bytes);
  const table = readCsv(bytes, ';');
  const { columns, unknown } = mapHeader(table.header);
  for (const key of [REGION, DATE_HEURE]) {
    if (!columns.includes(key)) {
      const f = ECO2MIX_FIELDS[key] as { name: string; label: string };
      throw new FileFormatError(`no ${f.name} column ("${f.label}" in a labels export): the records have no key`, 1);
    }
  }
  if (!columns.some((i) => i !== null && ECO2MIX_FIELDS[i]?.source !== null)) {
    throw new FileFormatError('no power column (Consommation, Nucléaire, …): the file holds no value to load', 1);
  }
  if (unknown.length > 0) sink.rejectColumns(file, shownNames(unknown));
  const width = columns.length;
  const raw = new Array<unknown>(FIELD_COUNT);
  for (const { line, cells } of table.rows) {
    const loc = { file, sheet: null, row: line };
    // A trailing `;` more or less only touches the always-empty last column: the cells still line up.
    const extra = cells.slice(width);
    const short = columns.slice(cells.length);
    if (extra.some((c) => c.trim() !== '') || short.some((i) => i !== null)) {
      sink.rejectRecord(loc, null, null, `${cells.length} cells where the header has ${width} columns`);
      continue;
    }
    raw.fill(undefined);
    for (let c = 0; c < Math.min(width, cells.length); c++) {
      const i = columns[c];
      if (i !== null && i !== undefined) raw[i] = cells[c];
    }
    typeRecord(raw, loc, sink);
  }
}

/**
 * Reads one eco2mix file (by its extension) into the sink. A problem with the file as a whole — wrong
 * delimiter, truncated JSON, no key column — becomes a file reject naming it; the caller goes on.
 */
export function readEco2mixFile(file: string, bytes: Uint8Array, sink: Eco2mixSink): void {
  readFileByType(file, bytes, sink, readersFor(sink));
}

/** Reads one eco2mix file from disk into the sink: a ZIP archive entry by entry, any other file whole. */
export async function readEco2mixPath(file: string, path: string, sink: Eco2mixSink, opts: ReadEco2mixOptions = {}): Promise<void> {
  await readPathByType(file, path, sink, readersFor(sink), opts.zip);
}

function readersFor(sink: Eco2mixSink): ReadersByType {
  return {
    json: (f, b) => readJson(f, b, sink),
    jsonl: (f, b) => readJsonl(f, b, sink),
    ndjson: (f, b) => readJsonl(f, b, sink),
    csv: (f, b) => readEco2mixCsv(f, b, sink),
  };
}
