import { parse } from 'csv-parse/sync';
import { decodeUtf8, FileFormatError } from './text.js';

/** Picks the delimiter of a CSV from its header line: `;` (OpenDataSoft, French exports) or `,`. */
export function detectDelimiter(headerLine: string): ';' | ',' | '\t' {
  const counts = { ';': 0, ',': 0, '\t': 0 };
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch in counts) counts[ch as keyof typeof counts]++;
  }
  if (counts['\t'] > counts[';'] && counts['\t'] > counts[',']) return '\t';
  return counts[';'] >= counts[','] && counts[';'] > 0 ? ';' : ',';
}

export interface CsvTable {
  header: string[];
  /** Data rows; `line` is the 1-based line where the record starts. */
  rows: { line: number; cells: string[] }[];
  delimiter: string;
}

/** Reads a whole CSV (UTF-8, BOM tolerated, `;` or `,`), keeping the line of each record for error messages. */
export function readCsv(bytes: Uint8Array, delimiter?: string): CsvTable {
  const text = decodeUtf8(bytes).replace(/^\uFEFF/, '');
  if (text.trim() === '') throw new FileFormatError('empty file', 1);
  const firstLine = text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n'));
  const delim = delimiter ?? detectDelimiter(firstLine);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { delimiter: delim, relax_column_count: true, info: true, skip_empty_lines: true, bom: true }) as unknown as typeof records;
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new FileFormatError(`invalid CSV${e.lines ? ` at line ${e.lines}` : ''}: ${e.message}`, e.lines ?? null);
  }
  const [head, ...body] = records;
  if (!head) throw new FileFormatError('empty file', 1);
  return {
    header: head.record.map((h) => h.trim()),
    rows: body.map((r) => ({ line: r.info.lines, cells: r.record })),
    delimiter: delim,
  };
}
