/**
 * A generic XLSX reader on exceljs's streaming reader: one worksheet at a time, one row at a time,
 * cells reduced to plain values (string, number, Date or null).
 *
 * Two exceljs 4.4 streaming quirks are handled here:
 *
 * - Sheet names. exceljs names a streamed worksheet only when `xl/_rels/workbook.xml.rels` has a
 *   target spelled exactly `worksheets/sheetN.xml`; workbooks whose relationships use absolute
 *   targets (`/xl/worksheets/sheet1.xml`, as openpyxl writes them) come out as `Sheet1`, `Sheet2`…
 *   (exceljs issues #1364, #2663, #3025). We therefore resolve each name ourselves: exceljs
 *   announces the part it is about to stream through its `entry` event (`{type:'worksheet', id:N}`,
 *   emitted synchronously just before the worksheet is handed out), and we look part
 *   `xl/worksheets/sheetN.xml` up in the parsed relationships and `xl/workbook.xml`, normalising
 *   relative and absolute targets. exceljs parks a worksheet in a temporary file until the end of
 *   the archive unless the shared strings and relationships come before it, so those parts are
 *   known when we look; if a name still cannot be found we fail loudly rather than invent `SheetN`.
 * - An archive storing a worksheet after the shared strings and relationships but before
 *   `xl/workbook.xml` makes exceljs 4.4 itself fail (it reads `model.sheets` before it exists).
 *   Excel, exceljs and openpyxl do not lay files out that way; we report it as a format error.
 * - Worksheets come in archive order, which is usually but not necessarily the tab order.
 *
 * Known exceljs limitation we cannot work around here: an *inline* rich-text string
 * (`<c t="inlineStr"><is><r>…</r><r>…</r></is>`) is read by the streaming reader as its last run
 * only. Rich text in the shared-strings table (what Excel and most writers produce) is read whole.
 */
import { open } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { posix } from 'node:path';
import type { Writable } from 'node:stream';
import ExcelJS from 'exceljs';

export type CellValue = string | number | Date | null;

export interface XlsxRow {
  /** 1-based spreadsheet row number, as Excel shows it. */
  rowNumber: number;
  /** Cell values by column: index 0 is column A. Gaps are null; trailing empty cells are dropped. */
  cells: CellValue[];
}

export interface XlsxSheet {
  /** The sheet's name as shown on its tab. */
  name: string;
  /**
   * The sheet's rows, in file order (empty rows are usually absent). Iterate at most once, and
   * before asking for the next sheet: the workbook is one stream, and rows left unread when the
   * next sheet is requested are skipped.
   */
  rows: AsyncIterable<XlsxRow>;
}

export interface XlsxReadOptions {
  /**
   * Read cell styles so that numbers with a date/time format come back as `Date` (on Excel's
   * epoch: a time-of-day cell is `1899-12-30T<time>Z`). Default true. With false, such cells are
   * plain numbers (serial days) and reading is somewhat faster.
   */
  dates?: boolean;
}

/** The file is not a readable XLSX workbook (not a zip, truncated, missing parts, unreadable XML). */
export class XlsxFormatError extends Error {
  override name = 'XlsxFormatError';
}

// Minimal shapes of the exceljs streaming objects we touch (its typings do not describe them).
interface StreamRow {
  number: number;
  values: unknown[] | Record<string, unknown>;
}
interface StreamWorksheet extends AsyncIterable<StreamRow> {
  name: string;
}
interface StreamWorkbook extends AsyncIterable<StreamWorksheet> {
  on(event: 'entry', listener: (entry: { type: string; id?: string }) => void): void;
  model?: { sheets?: Array<{ name?: string; rId?: string }> };
  workbookRels?: Array<{ Id?: string; Target?: string }>;
}

const ZIP_LOCAL_HEADER = 0x04034b50;
const ZIP_END_OF_CENTRAL_DIRECTORY = 0x06054b50;

/**
 * Checks that the file looks like a complete zip archive: it starts with a local file header and
 * ends with an end-of-central-directory record (a truncated download loses it). Done before any
 * row is read, so a broken file is refused as a whole instead of half-read.
 */
async function checkZip(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw new XlsxFormatError(`cannot open the file: ${(err as Error).message}`);
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) throw new XlsxFormatError('not an XLSX workbook: the file is empty');
    const head = Buffer.alloc(4);
    await handle.read(head, 0, Math.min(4, size), 0);
    if (head.readUInt32LE(0) !== ZIP_LOCAL_HEADER) {
      throw new XlsxFormatError('not an XLSX workbook: the file is not a zip archive');
    }
    if (size < 22) throw new XlsxFormatError(`not a complete XLSX workbook: the zip archive is truncated (${size} bytes)`);
    // The end record is 22 bytes plus a comment of at most 65,535 bytes.
    const tailLength = Math.min(size, 22 + 65535);
    const tail = Buffer.alloc(tailLength);
    await handle.read(tail, 0, tailLength, size - tailLength);
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === ZIP_END_OF_CENTRAL_DIRECTORY) return;
    }
    throw new XlsxFormatError('not a complete XLSX workbook: the zip archive is truncated (no end-of-central-directory record)');
  } finally {
    await handle.close();
  }
}

/** `xl/worksheets/sheet1.xml` for the targets `worksheets/sheet1.xml`, `/xl/worksheets/sheet1.xml`, `./worksheets/…`. */
function partOfTarget(target: string): string {
  const t = target.trim();
  return t.startsWith('/') ? posix.normalize(t.slice(1)) : posix.normalize(posix.join('xl', t));
}

function sheetNameOfPart(workbook: StreamWorkbook, partNo: string): string | null {
  const part = `xl/worksheets/sheet${partNo}.xml`;
  const rel = (workbook.workbookRels ?? []).find((r) => r.Target !== undefined && partOfTarget(r.Target) === part);
  if (!rel) return null;
  const sheet = (workbook.model?.sheets ?? []).find((s) => s.rId === rel.Id);
  return sheet?.name ?? null;
}

function plainCell(v: unknown): CellValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number') return v;
  if (v instanceof Date) return v;
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Array.isArray(o.richText)) {
      let s = '';
      for (const run of o.richText as Array<{ text?: unknown }>) if (typeof run?.text === 'string') s += run.text;
      return s;
    }
    // Formula cells (plain or shared): their cached result, or null when never calculated.
    if ('formula' in o || 'sharedFormula' in o) return plainCell(o.result);
    if (typeof o.error === 'string') return o.error;
    // Hyperlink cells: the text shown.
    if ('text' in o) return plainCell(o.text);
  }
  return String(v);
}

function toRow(row: StreamRow): XlsxRow {
  const values = row.values;
  const cells: CellValue[] = [];
  if (Array.isArray(values)) {
    // exceljs's `values` is 1-based and sparse.
    for (let col = 1; col < values.length; col++) cells.push(plainCell(values[col]));
  }
  while (cells.length > 0 && cells[cells.length - 1] === null) cells.pop();
  return { rowNumber: row.number, cells };
}

function formatError(err: unknown): XlsxFormatError {
  if (err instanceof XlsxFormatError) return err;
  const message = (err as Error)?.message ?? String(err);
  if (message === 'FILE_ENDED') return new XlsxFormatError('not a complete XLSX workbook: the zip archive ends early');
  if (/invalid signature/i.test(message)) return new XlsxFormatError(`not a valid XLSX workbook: corrupt zip archive (${message})`);
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new XlsxFormatError(`not a valid XLSX workbook: corrupt zip archive, an entry does not decompress (${message})`);
  }
  if (/reading 'sheets'/.test(message)) {
    return new XlsxFormatError('unsupported XLSX layout: a worksheet is stored before xl/workbook.xml in the archive');
  }
  if (/^\d+:\d+: /.test(message)) return new XlsxFormatError(`not a valid XLSX workbook: malformed XML (${message})`);
  // exceljs takes every part it needs for granted: one missing or damaged surfaces as a TypeError inside it,
  // whose words name its own code, not the file.
  if (err instanceof TypeError) {
    const reading = /reading '([^']+)'/.exec(message)?.[1];
    return new XlsxFormatError(`not a valid XLSX workbook: a part it needs is missing or damaged${reading ? ` (its ${reading})` : ''}`);
  }
  return new XlsxFormatError(`not a readable XLSX workbook: ${message}`);
}

/**
 * The worksheets of the workbook at `path`, streamed. Errors due to the file (not a zip, truncated,
 * corrupt XML) are thrown as `XlsxFormatError`, either at the start or while iterating.
 */
export async function* readXlsx(path: string, options: XlsxReadOptions = {}): AsyncGenerator<XlsxSheet> {
  await checkZip(path);

  // exceljs pipes our file stream into its unzipper. Errors must end the iteration, but exceljs
  // misses some of them: `pipe` does not forward read errors, and when a damaged entry fails to
  // inflate the unzipper emits 'error' while exceljs waits for that entry to finish, forever. So we
  // take hold of the unzipper as it is piped to, and race every step of exceljs against its errors.
  const source = createReadStream(path);
  let failure: { error: unknown } | null = null;
  let abortStep: ((err: unknown) => void) | null = null;
  const onError = (err: unknown) => {
    failure ??= { error: err };
    abortStep?.(err);
  };
  const pipe = source.pipe.bind(source);
  source.pipe = (<T extends NodeJS.WritableStream>(destination: T, opts?: { end?: boolean }): T => {
    source.once('error', (err) => {
      onError(err);
      (destination as unknown as Writable).destroy(err);
    });
    destination.on('error', onError);
    return pipe(destination, opts);
  }) as typeof source.pipe;
  /** Awaits one step of exceljs, or the first stream error, whichever comes first. */
  const step = async <T>(promise: Promise<T>): Promise<T> => {
    try {
      if (failure) throw failure.error;
      return await new Promise<T>((resolve, reject) => {
        abortStep = reject;
        promise.then(resolve, reject);
      });
    } catch (err) {
      throw formatError(err);
    } finally {
      abortStep = null;
    }
  };

  const workbook = new ExcelJS.stream.xlsx.WorkbookReader(source, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    hyperlinks: 'ignore',
    styles: options.dates === false ? 'ignore' : 'cache',
    entries: 'emit',
  }) as unknown as StreamWorkbook;

  // The part number of the worksheet exceljs is about to hand out (see the note at the top).
  const announced: { part: string | null } = { part: null };
  workbook.on('entry', (entry) => {
    if (entry.type === 'worksheet' && entry.id !== undefined) announced.part = entry.id;
  });

  const sheets = workbook[Symbol.asyncIterator]();
  let sheetCount = 0;
  try {
    for (;;) {
      const next = await step(sheets.next());
      if (next.done) break;
      const worksheet = next.value;
      sheetCount++;
      const partNo = announced.part;
      announced.part = null;
      const name = partNo !== null ? sheetNameOfPart(workbook, partNo) : null;
      if (name === null) {
        throw new XlsxFormatError(`worksheet part ${partNo ?? '?'} is not listed in xl/workbook.xml and its relationships, so its name is unknown`);
      }
      const it = worksheet[Symbol.asyncIterator]();
      let done = false;
      const pull = async (): Promise<IteratorResult<StreamRow>> => {
        const r = await step(it.next());
        if (r.done) done = true;
        return r;
      };
      let started = false;
      const rows = async function* (): AsyncGenerator<XlsxRow> {
        if (started) throw new Error(`the rows of sheet "${name}" can be read only once`);
        started = true;
        while (!done) {
          const r = await pull();
          if (r.done) break;
          yield toRow(r.value);
        }
      };
      yield { name, rows: { [Symbol.asyncIterator]: rows } };
      // Rows left unread (or a loop left early): skip them, so the archive stream moves on.
      while (!done) await pull();
    }
    if (workbook.model === undefined) throw new XlsxFormatError('not an XLSX workbook: the archive has no xl/workbook.xml');
    if (sheetCount === 0 && (workbook.model.sheets ?? []).length > 0) {
      throw new XlsxFormatError('not a readable XLSX workbook: xl/workbook.xml lists sheets but the archive holds none');
    }
  } finally {
    // Stopping early (break, error): close the file rather than leave it open until collected.
    source.destroy();
  }
}
