import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { StationConfig } from '../../connectors/wunderground/stations.js';
import { readCsv } from '../../engine/readers/csv.js';
import { readJsonLines } from '../../engine/readers/jsonl.js';
import { repeatedKey, repeatedKeyReason } from '../../engine/readers/jsonKeys.js';
import { clip, decodeUtf8, FileFormatError, parseJson } from '../../engine/readers/text.js';
import { withZipContents, type ZipReadOptions } from '../../engine/readers/zip.js';
import { extensionOf } from '../../lake/raw.js';
import { INFOCLIMAT_FIELD_NAMES, readInfoclimatResponse } from './infoclimat.js';
import { stationForFileName } from '../../connectors/wunderground/format.js';
import type { ReportBatch, ReportSink } from './reportBatch.js';

export const SUPPORTED_EXTENSIONS = ['json', 'jsonl', 'csv', 'xlsx', 'zip'] as const;

export interface ReadContext {
  /** Configured stations (WU metadata; ids accepted in InfoClimat `hourly` without a `stations` entry). */
  stations: readonly StationConfig[];
  configuredIds: ReadonlySet<string>;
  /** ZIP archives: their limits, and the run's scratch folder they are extracted into. */
  zip?: ZipReadOptions;
}

/**
 * A JSON text holding a repeated key: the DuckDB fast path (infoclimatSql.ts) would read the first value and
 * JSON.parse keeps the last, so InfoClimat documents that repeat a key are refused on every path.
 */
class RepeatedKeyError extends Error {}

function parseUnique(text: string): unknown {
  const value: unknown = JSON.parse(text);
  const repeated = repeatedKey(text, value);
  if (repeated) throw new RepeatedKeyError(repeatedKeyReason(repeated));
  return value;
}

/** Airbyte wraps each InfoClimat response: `{_airbyte_ab_id, _airbyte_emitted_at, _airbyte_data}`. */
function airbyteData(value: unknown): unknown {
  if (!value || typeof value !== 'object' || !('_airbyte_data' in value)) return undefined;
  const data = (value as { _airbyte_data: unknown })._airbyte_data;
  return typeof data === 'string' ? parseUnique(data) : data;
}

/** Why `_airbyte_data` could not be read. */
function airbyteDataProblem(err: unknown): string {
  return err instanceof RepeatedKeyError ? `_airbyte_data: ${err.message}` : `_airbyte_data is not valid JSON (${(err as Error).message})`;
}

function readJsonFile(bytes: Uint8Array, file: string, sink: ReportSink, ctx: ReadContext): void {
  if (bytes.length === 0) throw new FileFormatError('empty file', 1);
  const text = decodeUtf8(bytes);
  const doc = parseJson(text);
  const repeated = repeatedKey(text, doc);
  if (repeated) throw new FileFormatError(`line ${repeated.line}: ${repeatedKeyReason(repeated)}`, repeated.line);
  // A single Airbyte record saved as .json is read like a JSONL line.
  const inner = airbyteData(doc);
  readInfoclimatResponse(inner ?? doc, file, sink, ctx.configuredIds);
}

function readAirbyteJsonl(bytes: Uint8Array, file: string, sink: ReportSink, ctx: ReadContext): void {
  if (bytes.length === 0) throw new FileFormatError('empty file', 1);
  const lines = readJsonLines(bytes, (line, message) => sink.rejectFile(file, `line ${line}: ${message}`, line), { uniqueKeys: true });
  for (const { line, value } of lines) {
    let data: unknown;
    try {
      data = airbyteData(value);
    } catch (err) {
      sink.rejectFile(file, `line ${line}: ${airbyteDataProblem(err)}`, line);
      continue;
    }
    if (data === undefined) {
      // Plain InfoClimat responses, one per line, are accepted as well.
      readInfoclimatResponse(value, file, sink, ctx.configuredIds, `line ${line}: `);
    } else {
      readInfoclimatResponse(data, file, sink, ctx.configuredIds, `line ${line}: `);
    }
  }
}

function readAirbyteCsv(bytes: Uint8Array, file: string, sink: ReportSink, ctx: ReadContext): void {
  const table = readCsv(bytes);
  const col = table.header.indexOf('_airbyte_data');
  if (col === -1) {
    throw new FileFormatError(`no _airbyte_data column (header: ${clip(table.header.join(', '), 200)}); expected an Airbyte delivery of InfoClimat`, 1);
  }
  for (const { line, cells } of table.rows) {
    const text = cells[col];
    if (text === undefined || text === '') {
      sink.rejectFile(file, `line ${line}: empty _airbyte_data`, line);
      continue;
    }
    let data: unknown;
    try {
      data = parseUnique(text);
    } catch (err) {
      sink.rejectFile(file, `line ${line}: ${airbyteDataProblem(err)}`, line);
      continue;
    }
    readInfoclimatResponse(data, file, sink, ctx.configuredIds, `line ${line}: `);
  }
}

async function readWorkbook(path: string, file: string, rawKey: string, batch: ReportBatch, ctx: ReadContext): Promise<void> {
  // Loaded on first use: exceljs alone costs a few hundred ms of start-up to every run, most of which read no workbook.
  const { readWundergroundWorkbook, WUNDERGROUND_FIELD_NAMES } = await import('./wunderground.js');
  const station = stationForFileName(posix.basename(file), [...ctx.stations]);
  const sink = batch.forFile({ file, rawKey, source: 'wunderground', fieldNames: WUNDERGROUND_FIELD_NAMES });
  if (!station) {
    const known = ctx.stations.map((s) => `${s.city}${s.country ? `, ${s.country}` : ''}`).join('; ');
    sink.rejectFile(
      file,
      `no configured Weather Underground station matches this file name (expected "Weather+Underground+-+<City>,+<CC>.xlsx" with one of: ${known})`,
    );
    return;
  }
  await readWundergroundWorkbook(path, { file, rawKey, source: 'wunderground', fieldNames: WUNDERGROUND_FIELD_NAMES, station }, sink);
}

/**
 * Reads a ZIP archive's entries, extracted to disk, each by its type. An entry refused by the archive reader
 * (limits, unsafe path, nested archive, damaged) or of another type is one reject naming it; the others load.
 */
async function readArchive(path: string, file: string, rawKey: string, batch: ReportBatch, ctx: ReadContext, sink: ReportSink): Promise<void> {
  await withZipContents(path, ctx.zip ?? {}, async ({ files, refused }) => {
    for (const r of refused) sink.rejectFile(`${file}/${r.name}`, r.reason);
    for (const entry of files) {
      const inner = `${file}/${entry.name}`;
      if (!(SUPPORTED_EXTENSIONS as readonly string[]).includes(extensionOf(entry.name))) {
        sink.rejectFile(inner, `unsupported file type in archive (accepted: json, jsonl, csv, xlsx)`);
        continue;
      }
      await readStationsFile(entry.path, inner, rawKey, batch, ctx);
    }
  });
}

/**
 * Reads one raw file of the `stations` pipeline into the batch, choosing the reader from its extension.
 * Problems with the file as a whole become file rejects; the run goes on with the next file.
 */
export async function readStationsFile(path: string, file: string, rawKey: string, batch: ReportBatch, ctx: ReadContext): Promise<void> {
  const ext = extensionOf(file);
  if (ext === 'xlsx') {
    await readWorkbook(path, file, rawKey, batch, ctx);
    return;
  }
  const sink = batch.forFile({ file, rawKey, source: 'infoclimat', fieldNames: INFOCLIMAT_FIELD_NAMES });
  try {
    if (ext === 'zip') {
      await readArchive(path, file, rawKey, batch, ctx, sink);
      return;
    }
    const data = await readFile(path);
    switch (ext) {
      case 'json':
        readJsonFile(data, file, sink, ctx);
        break;
      case 'jsonl':
      case 'ndjson':
        readAirbyteJsonl(data, file, sink, ctx);
        break;
      case 'csv':
        readAirbyteCsv(data, file, sink, ctx);
        break;
      default:
        sink.rejectFile(file, `unsupported file type ".${ext}" (accepted: ${SUPPORTED_EXTENSIONS.join(', ')})`);
    }
  } catch (err) {
    if (err instanceof FileFormatError) {
      sink.rejectFile(file, err.message, err.line);
      return;
    }
    throw err;
  }
}
