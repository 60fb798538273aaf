import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { readXlsx, XlsxFormatError, type XlsxRow } from '../../../src/engine/readers/xlsx.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecluse-xlsx-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readAll(path: string, options?: { dates?: boolean }): Promise<Array<{ name: string; rows: XlsxRow[] }>> {
  const out: Array<{ name: string; rows: XlsxRow[] }> = [];
  for await (const sheet of readXlsx(path, options)) {
    const rows: XlsxRow[] = [];
    for await (const row of sheet.rows) rows.push(row);
    out.push({ name: sheet.name, rows });
  }
  return out;
}

/** A two-sheet workbook written by exceljs (in memory writer: rich text goes to the shared strings). */
async function sampleWorkbook(path: string): Promise<void> {
  const wb = new ExcelJS.Workbook();
  const first = wb.addWorksheet('Summary');
  first.addRow(['name', 'value', null, 'flag']);
  first.getCell('A3').value = { richText: [{ text: '56.8' }, { font: { size: 8, name: 'Arial' }, text: '\u00a0°F' }] };
  first.getCell('B3').value = { formula: '1+1', result: 2 };
  first.getCell('D3').value = true;
  first.getCell('A5').value = 0.0027777777777777779; // 00:04
  first.getCell('A5').numFmt = 'h:mm AM/PM';
  first.getCell('B5').value = 12.5;
  const second = wb.addWorksheet('011024');
  second.addRow(['Time', 'UV']);
  second.getCell('A3').value = 0.5;
  second.getCell('A3').numFmt = 'hh:mm';
  second.getCell('B3').value = 4;
  await wb.xlsx.writeFile(path);
}

test('readXlsx gives sheet names, row numbers and plain cell values', async () => {
  const path = join(dir, 'sample.xlsx');
  await sampleWorkbook(path);
  const sheets = await readAll(path);
  assert.deepEqual(
    sheets.map((s) => s.name),
    ['Summary', '011024'],
  );
  const [summary, day] = sheets;
  assert.ok(summary && day);
  assert.deepEqual(
    summary.rows.map((r) => r.rowNumber),
    [1, 3, 5],
  );
  assert.deepEqual(summary.rows[0]?.cells, ['name', 'value', null, 'flag']);
  // Rich text joined into one string, formula gives its result, gaps are null.
  assert.deepEqual(summary.rows[1]?.cells, ['56.8\u00a0°F', 2, null, 'TRUE']);
  const time = summary.rows[2]?.cells[0];
  assert.ok(time instanceof Date, 'a time-formatted cell is a Date');
  assert.equal(time.toISOString(), '1899-12-30T00:04:00.000Z');
  assert.equal(summary.rows[2]?.cells[1], 12.5);
  assert.equal((day.rows[1]?.cells[0] as Date).toISOString(), '1899-12-30T12:00:00.000Z');
  assert.equal(day.rows[1]?.cells[1], 4);
});

test('readXlsx with dates:false gives time cells as day fractions', async () => {
  const path = join(dir, 'sample-nodates.xlsx');
  await sampleWorkbook(path);
  const sheets = await readAll(path, { dates: false });
  const cell = sheets[0]?.rows[2]?.cells[0];
  assert.equal(typeof cell, 'number');
  assert.ok(Math.abs((cell as number) - 4 / 1440) < 1e-12);
});

test('readXlsx skips rows a caller leaves unread and still names every sheet', async () => {
  const path = join(dir, 'sample-skip.xlsx');
  await sampleWorkbook(path);
  const names: string[] = [];
  let rowsOfSecond = 0;
  for await (const sheet of readXlsx(path)) {
    names.push(sheet.name);
    if (sheet.name === 'Summary') {
      for await (const _ of sheet.rows) break; // leave early
    } else {
      for await (const _ of sheet.rows) rowsOfSecond++;
    }
  }
  assert.deepEqual(names, ['Summary', '011024']);
  assert.equal(rowsOfSecond, 2);
});

/**
 * Rewrites an exceljs workbook the way other writers lay it out: workbook parts first (so exceljs
 * streams worksheets directly instead of parking them), absolute relationship targets (as openpyxl
 * writes them), and tab order different from the part numbers.
 */
async function relayout(source: string, target: string): Promise<void> {
  const files = unzipSync(new Uint8Array(await readFile(source)));
  const get = (name: string) => {
    const f = files[name];
    assert.ok(f, `${name} in the archive`);
    return f;
  };
  const rels = strFromU8(get('xl/_rels/workbook.xml.rels')).replace(/Target="worksheets\//g, 'Target="/xl/worksheets/');
  // Swap the tabs: the sheet listed first in workbook.xml is now part 2.
  const workbook = strFromU8(get('xl/workbook.xml'))
    .replace(/name="Summary"/, 'name="__A__"')
    .replace(/name="011024"/, 'name="Summary"')
    .replace(/name="__A__"/, 'name="011024"');
  const ordered: Record<string, Uint8Array> = {
    '[Content_Types].xml': get('[Content_Types].xml'),
    '_rels/.rels': get('_rels/.rels'),
    'xl/workbook.xml': strToU8(workbook),
    'xl/_rels/workbook.xml.rels': strToU8(rels),
    'xl/styles.xml': get('xl/styles.xml'),
    'xl/sharedStrings.xml': get('xl/sharedStrings.xml'),
    'xl/theme/theme1.xml': get('xl/theme/theme1.xml'),
    'xl/worksheets/sheet1.xml': get('xl/worksheets/sheet1.xml'),
    'xl/worksheets/sheet2.xml': get('xl/worksheets/sheet2.xml'),
  };
  await writeFile(target, zipSync(ordered));
}

test('readXlsx names sheets from workbook.xml even with absolute relationship targets', async () => {
  const plain = join(dir, 'plain.xlsx');
  await sampleWorkbook(plain);
  const moved = join(dir, 'absolute-targets.xlsx');
  await relayout(plain, moved);
  const sheets = await readAll(moved);
  // Part 1 (the rows of the former "Summary") is now named "011024", and part 2 "Summary".
  assert.deepEqual(
    sheets.map((s) => [s.name, s.rows.length]),
    [
      ['011024', 3],
      ['Summary', 2],
    ],
  );
  assert.deepEqual(sheets[0]?.rows[1]?.cells, ['56.8\u00a0°F', 2, null, 'TRUE']);
});

async function expectFormatError(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(readAll(path), (err: unknown) => {
    assert.ok(err instanceof XlsxFormatError, `XlsxFormatError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('readXlsx refuses truncated, empty, non-zip and non-workbook files with a clear reason', async () => {
  const good = join(dir, 'good.xlsx');
  await sampleWorkbook(good);
  const bytes = await readFile(good);

  const half = join(dir, 'half.xlsx');
  await writeFile(half, bytes.subarray(0, Math.floor(bytes.length / 2)));
  await expectFormatError(half, /truncated/);

  const empty = join(dir, 'empty.xlsx');
  await writeFile(empty, '');
  await expectFormatError(empty, /empty/);

  const text = join(dir, 'text.xlsx');
  await writeFile(text, 'Time;Temperature\n00:04;56.8\n');
  await expectFormatError(text, /not a zip/);

  const otherZip = join(dir, 'other.xlsx');
  await writeFile(otherZip, zipSync({ 'readme.txt': strToU8('hello') }));
  await expectFormatError(otherZip, /no xl\/workbook\.xml/);

  // A zip whose central directory is intact but one entry's data is damaged.
  const damaged = Buffer.from(bytes);
  const at = damaged.indexOf('xl/worksheets/sheet1.xml');
  assert.ok(at > 0);
  damaged.fill(0x41, at + 60, at + 400);
  const corrupt = join(dir, 'corrupt.xlsx');
  await writeFile(corrupt, damaged);
  await assert.rejects(readAll(corrupt), XlsxFormatError);

  const missing = join(dir, 'does-not-exist.xlsx');
  await expectFormatError(missing, /cannot open/);

  // Malformed XML inside a worksheet part.
  const files = unzipSync(new Uint8Array(bytes));
  files['xl/worksheets/sheet1.xml'] = strToU8('<?xml version="1.0"?><worksheet><sheetData><row r="1"></rowx></sheetData></worksheet>');
  const badXml = join(dir, 'bad-xml.xlsx');
  await writeFile(badXml, zipSync(files));
  await expectFormatError(badXml, /malformed XML/);
});

test('readXlsx refuses to invent a name for a worksheet part that workbook.xml does not list', async () => {
  const good = join(dir, 'unnamed-source.xlsx');
  await sampleWorkbook(good);
  const files = unzipSync(new Uint8Array(await readFile(good)));
  const rels = files['xl/_rels/workbook.xml.rels'];
  assert.ok(rels);
  files['xl/_rels/workbook.xml.rels'] = strToU8(strFromU8(rels).replace('worksheets/sheet1.xml', 'worksheets/elsewhere.xml'));
  const path = join(dir, 'unnamed.xlsx');
  await writeFile(path, zipSync(files));
  await expectFormatError(path, /part 1 is not listed/);
});
