import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { DEFAULT_WU_STATIONS, type StationConfig } from '../../../src/connectors/wunderground/stations.js';
import { stationForFileName, WUNDERGROUND_COLUMNS } from '../../../src/connectors/wunderground/format.js';
import { writeWundergroundWorkbook, wundergroundFileName } from '../../../src/connectors/wunderground/workbookWriter.js';
import { readXlsx } from '../../../src/engine/readers/xlsx.js';
import { wundergroundRow } from '../../fixtures/wunderground.js';

const ICHTEGEM = DEFAULT_WU_STATIONS.find((s) => s.id === 'IICHTE19') as StationConfig;
const LA_MADELEINE = DEFAULT_WU_STATIONS.find((s) => s.id === 'ILAMAD25') as StationConfig;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecluse-wu-writer-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const row = wundergroundRow;

test('wundergroundFileName gives the real name shape, and it maps back to the station', () => {
  assert.equal(wundergroundFileName(LA_MADELEINE), 'Weather+Underground+-+La+Madeleine,+FR.xlsx');
  assert.equal(wundergroundFileName(ICHTEGEM), 'Weather+Underground+-+Ichtegem,+BE.xlsx');
  for (const s of DEFAULT_WU_STATIONS) assert.equal(stationForFileName(wundergroundFileName(s), DEFAULT_WU_STATIONS)?.id, s.id);
});

test('the writer produces the real layout: DDMMYY sheets, header, empty row 2, time cells, rich text', async () => {
  const path = join(dir, 'layout.xlsx');
  await writeWundergroundWorkbook(path, LA_MADELEINE, [{ date: '2024-10-01', rows: [row(4), row(9, { uv: null, wind_dir: null })] }]);
  const sheets: Array<{ name: string; rows: Array<{ rowNumber: number; cells: unknown[] }> }> = [];
  for await (const sheet of readXlsx(path)) {
    const rows = [];
    for await (const r of sheet.rows) rows.push(r);
    sheets.push({ name: sheet.name, rows });
  }
  assert.equal(sheets.length, 1);
  const sheet = sheets[0];
  assert.ok(sheet);
  assert.equal(sheet.name, '011024');
  assert.deepEqual(sheet.rows[0]?.cells, [...WUNDERGROUND_COLUMNS]);
  assert.ok(!sheet.rows.some((r) => r.rowNumber === 2 && r.cells.length > 0), 'row 2 is empty');
  const first = sheet.rows.find((r) => r.rowNumber === 3);
  assert.ok(first);
  assert.equal((first.cells[0] as Date).toISOString(), '1899-12-30T00:04:00.000Z');
  assert.deepEqual(first.cells.slice(1), [
    '56.8\u00a0°F',
    '53.1\u00a0°F',
    '87\u00a0%',
    'WSW',
    '8.2\u00a0mph',
    '10.1\u00a0mph',
    '29.48\u00a0in',
    '0.00\u00a0in',
    '0.18\u00a0in',
    2,
    '345.7\u00a0w/m²',
  ]);
  const second = sheet.rows.find((r) => r.rowNumber === 4);
  assert.equal(second?.cells[4], null);
  assert.equal(second?.cells[10], null);

  // Value cells really are rich text in two runs with different fonts (exceljs in-memory reader).
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(path);
  const value = wb.getWorksheet('011024')?.getCell('B3').value as { richText: Array<{ text: string; font?: { size?: number } }> };
  assert.equal(value.richText.length, 2);
  assert.equal(value.richText[0]?.text, '56.8');
  assert.equal(value.richText[1]?.text, '\u00a0°F');
  assert.notEqual(value.richText[0]?.font?.size, value.richText[1]?.font?.size);
  // Distinct rich-text values stay distinct (exceljs's streaming writer would collapse them).
  const c3 = wb.getWorksheet('011024')?.getCell('C3').value as { richText: Array<{ text: string }> };
  assert.equal(c3.richText[0]?.text, '53.1');
});
