/**
 * Weather Underground XLSX reading: ecluse's reader (parse, convert, local → UTC, into a
 * ReportBatch) against a bare exceljs streaming read that only touches every cell. Rows per second
 * are `rows / ms * 1000` for each figure.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { DEFAULT_WU_STATIONS, type StationConfig } from '../src/connectors/wunderground/stations.js';
import { stationForFileName } from '../src/connectors/wunderground/format.js';
import { readWundergroundWorkbook, WUNDERGROUND_FIELD_NAMES } from '../src/pipelines/stations/wunderground.js';
import { ReportBatch } from '../src/pipelines/stations/reportBatch.js';

export async function benchXlsx(dir: string): Promise<{ rows: number; ecluseMs: number; exceljsMs: number }> {
  const files = (await readdir(dir)).filter((f) => f.toLowerCase().endsWith('.xlsx')).sort();
  const fallback = DEFAULT_WU_STATIONS[0] as StationConfig;

  const batch = new ReportBatch();
  let t = performance.now();
  for (const file of files) {
    const station = stationForFileName(file, DEFAULT_WU_STATIONS) ?? fallback;
    const ctx = { file, rawKey: `bench/${file}`, source: 'wunderground', fieldNames: WUNDERGROUND_FIELD_NAMES };
    await readWundergroundWorkbook(join(dir, file), { ...ctx, station }, batch.forFile(ctx));
  }
  const ecluseMs = performance.now() - t;

  let cells = 0;
  t = performance.now();
  for (const file of files) {
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(join(dir, file), {
      worksheets: 'emit',
      sharedStrings: 'cache',
      hyperlinks: 'ignore',
      styles: 'cache',
    });
    for await (const sheet of reader) {
      for await (const row of sheet) {
        row.eachCell({ includeEmpty: false }, (cell) => {
          if (cell.value !== null) cells++;
        });
      }
    }
  }
  const exceljsMs = performance.now() - t;
  void cells;

  return { rows: batch.rowsRead, ecluseMs, exceljsMs };
}
