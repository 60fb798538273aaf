import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { StationConfig } from '../../config/config.js';
import { readCsv } from '../../engine/readers/csv.js';
import { readJsonLines } from '../../engine/readers/jsonl.js';
import { clip, decodeUtf8, FileFormatError, parseJson } from '../../engine/readers/text.js';
import { readZip } from '../../engine/readers/zip.js';
import { extensionOf } from '../../lake/raw.js';
import { INFOCLIMAT_FIELD_NAMES, readInfoclimatResponse } from '../../connectors/infoclimat/response.js';
import type { ReportBatch, ReportSink } from './reportBatch.js';

export const SUPPORTED_EXTENSIONS = ['json', 'jsonl', 'csv', 'xlsx', 'zip'] as const;

export interface ReadContext {
  /** Configured stations (WU metadata; ids accepted in InfoClimat `hourly` without a `stations` entry). */
  stations: readonly StationConfig[];
  configuredIds: ReadonlySet<string>;
}

/** Airbyte wraps each InfoClimat response: `{_airbyte_ab_id, _airbyte_emitted_at, _airbyte_data}`. */
function airbyteData(value: unknown): unknown {
  if (!value || typeof value !== 'object' || !('_airbyte_data' in value)) return undefined;
  const data = (value as { _airbyte_data: unknown })._airbyte_data;
  return typeof data === 'string' ? JSON.parse(data) : data;
}

function readJsonFile(bytes: Uint8Array, file: string, sink: ReportSink, ctx: ReadContext): void {
  if (bytes.length === 0) throw new FileFormatError('empty file', 1);
  const doc = parseJson(decodeUtf8(bytes));
  // A single Airbyte record saved as .json is read like a JSONL line.
  const inner = airbyteData(doc);
  readInfoclimatResponse(inner ?? doc, file, sink, ctx.configuredIds);
}

function readAirbyteJsonl(bytes: Uint8Array, file: string, sink: ReportSink, ctx: ReadContext): void {
  if (bytes.length === 0) throw new FileFormatError('empty file', 1);
  for (const { line, value } of readJsonLines(bytes, (line, message) => sink.rejectFile(file, `line ${line}: ${message}`, line))) {
    let data: unknown;
    try {
      data = airbyteData(value);
    } catch (err) {
      sink.rejectFile(file, `line ${line}: _airbyte_data is not valid JSON (${(err as Error).message})`, line);
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
      data = JSON.parse(text);
    } catch (err) {
      sink.rejectFile(file, `line ${line}: _airbyte_data is not valid JSON (${(err as Error).message})`, line);
      continue;
    }
    readInfoclimatResponse(data, file, sink, ctx.configuredIds, `line ${line}: `);
  }
}

async function readWorkbook(path: string, file: string, rawKey: string, batch: ReportBatch, ctx: ReadContext): Promise<void> {
  // Loaded on first use: exceljs alone costs a few hundred ms of start-up to every run, most of which read no workbook.
  const { readWundergroundWorkbook, stationForFileName, WUNDERGROUND_FIELD_NAMES } = await import('../../connectors/wunderground/xlsx.js');
  const station = stationForFileName(posix.basename(file), [...ctx.stations]);
  const sink = batch.forFile({ file, rawKey, source: 'wunderground', fieldNames: WUNDERGROUND_FIELD_NAMES });
  if (!station) {
    const known = ctx.stations.map((s) => `${s.city}${s.country ? `, ${s.country}` : ''}`).join('; ');
    sink.rejectFile(file, `no configured Weather Underground station matches this file name (expected "Weather+Underground+-+<City>,+<CC>.xlsx" with one of: ${known})`);
    return;
  }
  await readWundergroundWorkbook(path, { file, rawKey, source: 'wunderground', fieldNames: WUNDERGROUND_FIELD_NAMES, station }, sink);
}

/**
 * Reads one raw file of the `stations` pipeline into the batch, choosing the reader from its extension.
 * Problems with the file as a whole become file rejects; the run goes on with the next file.
 */
export async function readStationsFile(
  path: string,
  file: string,
  rawKey: string,
  batch: ReportBatch,
  ctx: ReadContext,
  bytes?: Uint8Array,
): Promise<void> {
  const ext = extensionOf(file);
  if (ext === 'xlsx') {
    if (bytes) {
      // The workbook reader streams from a path: give it one.
      const dir = await mkdtemp(join(tmpdir(), 'ecluse-xlsx-'));
      try {
        const p = join(dir, 'book.xlsx');
        await writeFile(p, bytes);
        await readWorkbook(p, file, rawKey, batch, ctx);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      return;
    }
    await readWorkbook(path, file, rawKey, batch, ctx);
    return;
  }
  const sink = batch.forFile({ file, rawKey, source: 'infoclimat', fieldNames: INFOCLIMAT_FIELD_NAMES });
  try {
    const data = bytes ?? (await readFile(path));
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
      case 'zip': {
        const entries = readZip(data, (name, reason) => sink.rejectFile(`${file}/${name}`, reason));
        for (const entry of entries) {
          const inner = `${file}/${entry.name}`;
          if (!(SUPPORTED_EXTENSIONS as readonly string[]).includes(extensionOf(entry.name)) || extensionOf(entry.name) === 'zip') {
            sink.rejectFile(inner, `unsupported file type in archive (accepted: json, jsonl, csv, xlsx)`);
            continue;
          }
          await readStationsFile(path, inner, rawKey, batch, ctx, entry.bytes);
        }
        break;
      }
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
