import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { DEFAULT_WU_STATIONS, type StationConfig } from '../../../src/connectors/wunderground/stations.js';
import { WUNDERGROUND_COLUMNS } from '../../../src/connectors/wunderground/format.js';
import { readWundergroundWorkbook, WUNDERGROUND_FIELD_NAMES } from '../../../src/pipelines/stations/wunderground.js';
import {
  writeWundergroundWorkbook,
  wundergroundFileName,
  type WundergroundDay,
  type WundergroundRow,
} from '../../../src/connectors/wunderground/workbookWriter.js';
import { wundergroundRow } from '../../fixtures/wunderground.js';
import { ReportBatch, type MeasureValues, type ReportSink } from '../../../src/pipelines/stations/reportBatch.js';
import { MEASURES, type StationRow } from '../../../src/pipelines/stations/schema.js';
import type { RecordLocation } from '../../../src/quality/rejects.js';

const ICHTEGEM = DEFAULT_WU_STATIONS.find((s) => s.id === 'IICHTE19') as StationConfig; // Europe/Brussels
const LA_MADELEINE = DEFAULT_WU_STATIONS.find((s) => s.id === 'ILAMAD25') as StationConfig; // Europe/Paris

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecluse-wu-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Report {
  loc: RecordLocation;
  stationId: string;
  at: string;
  values: MeasureValues;
}
interface Rejected {
  loc: RecordLocation;
  field: string | null;
  value: string | null;
  reason: string;
}

/** Keeps everything a reader says, in order. */
class RecordingSink implements ReportSink {
  reports: Report[] = [];
  valueRejects: Rejected[] = [];
  recordRejects: Rejected[] = [];
  fileRejects: Array<{ file: string; reason: string }> = [];
  stations: StationRow[] = [];
  report(loc: RecordLocation, stationId: string, observedAtMs: number, values: MeasureValues): void {
    this.reports.push({ loc, stationId, at: new Date(observedAtMs).toISOString(), values });
  }
  reportValues(sheet: string | null, row: number, stationId: string, observedAtMs: number, values: Float64Array): void {
    const obj: MeasureValues = {};
    MEASURES.forEach((m, i) => {
      if (!Number.isNaN(values[i])) obj[m] = values[i];
    });
    this.report({ file: '?', sheet, row }, stationId, observedAtMs, obj);
  }
  rejectValue(loc: RecordLocation, field: string, value: string | null, reason: string): void {
    this.valueRejects.push({ loc, field, value, reason });
  }
  rejectRecord(loc: RecordLocation, field: string | null, value: string | null, reason: string): void {
    this.recordRejects.push({ loc, field, value, reason });
  }
  rejectFile(file: string, reason: string): void {
    this.fileRejects.push({ file, reason });
  }
  station(row: StationRow): void {
    this.stations.push(row);
  }
}

const row = wundergroundRow;

let fileCounter = 0;
async function read(station: StationConfig, days: WundergroundDay[]): Promise<{ sink: RecordingSink; file: string }> {
  const file = `${fileCounter++}-${wundergroundFileName(station)}`;
  const path = join(dir, file);
  await writeWundergroundWorkbook(path, station, days);
  return { sink: await readPath(path, file, station), file };
}

async function readPath(path: string, file: string, station: StationConfig): Promise<RecordingSink> {
  const sink = new RecordingSink();
  await readWundergroundWorkbook(path, { file, rawKey: `raw/stations/${file}`, source: 'wunderground', fieldNames: WUNDERGROUND_FIELD_NAMES, station }, sink);
  return sink;
}

type Cell = ExcelJS.CellValue;
/** A workbook written with exceljs directly, for layouts our writer would never produce. */
async function writeRaw(file: string, sheets: Record<string, Array<Cell[] | null>>): Promise<string> {
  const wb = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) {
    const ws = wb.addWorksheet(name);
    rows.forEach((cells, i) => {
      if (cells) ws.getRow(i + 1).values = cells;
    });
  }
  const path = join(dir, file);
  await wb.xlsx.writeFile(path);
  return path;
}

const rich = (number: string, unit: string): Cell => ({
  richText: [{ text: number }, { font: { name: 'Arial', size: 8 }, text: `\u00a0${unit}` }],
});

// ---------------------------------------------------------------------------------------------

test('values are converted with the reference figures and rounded to 2 decimals', async () => {
  const { sink, file } = await read(LA_MADELEINE, [{ date: '2024-10-01', rows: [row(4)] }]);
  assert.deepEqual(sink.valueRejects, []);
  assert.deepEqual(sink.recordRejects, []);
  assert.deepEqual(sink.fileRejects, []);
  assert.equal(sink.reports.length, 1);
  const r = sink.reports[0];
  assert.ok(r);
  assert.deepEqual(r.loc, { file, sheet: '011024', row: 3 });
  assert.equal(r.stationId, 'ILAMAD25');
  assert.deepEqual(r.values, {
    temperature_c: 13.78, // 56.8 °F
    dew_point_c: 11.72, // 53.1 °F
    humidity_pct: 87,
    wind_direction_deg: 247.5, // WSW
    wind_speed_kmh: 13.2, // 8.2 mph
    wind_gust_kmh: 16.25, // 10.1 mph
    pressure_hpa: 998.31, // 29.48 inHg
    precip_rate_mm_h: 0,
    precip_accum_mm: 4.57, // 0.18 in
    uv_index: 2,
    solar_w_m2: 345.7,
  });
});

test('local times become UTC in the station zone: Europe/Paris and Europe/Brussels, summer and winter', async () => {
  const paris = await read(LA_MADELEINE, [
    { date: '2024-10-01', rows: [row(4), row(12 * 60)] },
    { date: '2024-01-15', rows: [row(0), row(23 * 60 + 55)] },
  ]);
  assert.deepEqual(
    paris.sink.reports.map((r) => [r.loc.sheet, r.at]),
    [
      ['011024', '2024-09-30T22:04:00.000Z'],
      ['011024', '2024-10-01T10:00:00.000Z'],
      ['150124', '2024-01-14T23:00:00.000Z'],
      ['150124', '2024-01-15T22:55:00.000Z'],
    ],
  );
  const brussels = await read(ICHTEGEM, [
    { date: '2024-07-14', rows: [row(6 * 60 + 30)] },
    { date: '2024-12-25', rows: [row(6 * 60 + 30)] },
  ]);
  assert.deepEqual(
    brussels.sink.reports.map((r) => [r.stationId, r.at]),
    [
      ['IICHTE19', '2024-07-14T04:30:00.000Z'],
      ['IICHTE19', '2024-12-25T05:30:00.000Z'],
    ],
  );
});

test('autumn change: the repeated hour takes the summer offset, then the winter one once times go back', async () => {
  const minutes: number[] = [];
  for (let m = 60; m < 180; m += 5) minutes.push(m); // 01:00 … 02:55 (first pass)
  for (let m = 120; m < 240; m += 5) minutes.push(m); // 02:00 … 02:55 again, then 03:00 … 03:55
  for (const station of [LA_MADELEINE, ICHTEGEM]) {
    const { sink } = await read(station, [{ date: '2024-10-27', rows: minutes.map((m) => row(m)) }]);
    assert.deepEqual(sink.recordRejects, []);
    assert.equal(sink.reports.length, minutes.length);
    const at = sink.reports.map((r) => r.at);
    assert.equal(new Set(at).size, at.length, 'every row has its own instant');
    assert.equal(at[0], '2024-10-26T23:00:00.000Z'); // 01:00 CEST
    assert.equal(at[12], '2024-10-27T00:00:00.000Z'); // first 02:00, CEST
    assert.equal(at[23], '2024-10-27T00:55:00.000Z'); // first 02:55, CEST
    assert.equal(at[24], '2024-10-27T01:00:00.000Z'); // second 02:00, CET
    assert.equal(at[35], '2024-10-27T01:55:00.000Z'); // second 02:55, CET
    assert.equal(at[36], '2024-10-27T02:00:00.000Z'); // 03:00 CET
    assert.deepEqual([...at].sort(), at, 'instants increase with the rows');
  }
});

test('spring change: a local time that does not exist is a whole-record reject', async () => {
  const { sink, file } = await read(LA_MADELEINE, [
    { date: '2024-03-31', rows: [row(115), row(120), row(150), row(180)] }, // 01:55 02:00 02:30 03:00
  ]);
  assert.deepEqual(
    sink.reports.map((r) => r.at),
    ['2024-03-31T00:55:00.000Z', '2024-03-31T01:00:00.000Z'],
  );
  assert.equal(sink.recordRejects.length, 2);
  const reject = sink.recordRejects[1];
  assert.ok(reject);
  assert.deepEqual(reject.loc, { file, sheet: '310324', row: 5 });
  assert.equal(reject.field, 'Time');
  assert.equal(reject.value, '02:30');
  assert.match(reject.reason, /does not exist in Europe\/Paris/);
});

test('wind: 16 compass points and North/East/South/West give degrees; empty is missing; nonsense is a value reject', async () => {
  const words = ['N', 'NNE', 'NE', 'ENE', 'E', 'ESE', 'SE', 'SSE', 'S', 'SSW', 'SW', 'WSW', 'W', 'WNW', 'NW', 'NNW'];
  const rows = [
    ...words.map((w, i) => row(i * 5, { wind_dir: w })),
    row(80, { wind_dir: 'North' }),
    row(85, { wind_dir: 'East' }),
    row(90, { wind_dir: 'South' }),
    row(95, { wind_dir: 'West' }),
    row(100, { wind_dir: null }),
    row(105, { wind_dir: 'Sideways' }),
  ];
  const { sink } = await read(ICHTEGEM, [{ date: '2024-10-01', rows }]);
  assert.deepEqual(
    sink.reports.map((r) => r.values.wind_direction_deg),
    [...words.map((_, i) => i * 22.5), 0, 90, 180, 270, null, null],
  );
  assert.equal(sink.valueRejects.length, 1);
  assert.equal(sink.valueRejects[0]?.field, 'Wind');
  assert.equal(sink.valueRejects[0]?.value, 'Sideways');
  assert.equal(sink.valueRejects[0]?.loc.row, 3 + rows.length - 1);
});

test('empty value cells are missing values, not rejects', async () => {
  const empty: Partial<WundergroundRow> = {
    temperature_f: null,
    dew_point_f: null,
    humidity_pct: null,
    wind_dir: null,
    speed_mph: null,
    gust_mph: null,
    pressure_inhg: null,
    precip_rate_in: null,
    precip_accum_in: null,
    uv: null,
    solar_w_m2: null,
  };
  const { sink } = await read(LA_MADELEINE, [{ date: '2024-10-02', rows: [row(0, empty)] }]);
  assert.deepEqual(sink.valueRejects, []);
  assert.equal(sink.reports.length, 1);
  assert.ok(Object.values(sink.reports[0]?.values ?? { x: 1 }).every((v) => v === null));
});

test('a non-numeric value is rejected naming file, sheet, row and field; the report is kept with it null', async () => {
  const file = 'bad-values.xlsx';
  const header = [...WUNDERGROUND_COLUMNS] as Cell[];
  const path = await writeRaw(file, {
    '021024': [
      header,
      null,
      [4 / 1440, rich('abc', '°F'), rich('53.1', '°F'), rich('87', '%'), 'N', rich('8.2', 'mph')],
      [9 / 1440, rich('56.8', 'K'), '53.1', 87, 'N', rich('13.2', 'km/h'), rich('', 'mph')],
    ],
  });
  const sink = await readPath(path, file, LA_MADELEINE);
  assert.equal(sink.reports.length, 2);
  assert.equal(sink.reports[0]?.values.temperature_c, null);
  assert.equal(sink.reports[0]?.values.dew_point_c, 11.72);
  assert.equal(sink.reports[0]?.values.humidity_pct, 87);
  assert.equal(sink.reports[1]?.values.humidity_pct, 87, 'a bare number is fine for Humidity');
  assert.equal(sink.reports[1]?.values.wind_speed_kmh, 13.2, 'metric units are taken as they are');
  assert.deepEqual(
    sink.valueRejects.map((r) => [r.loc, r.field, r.value]),
    [
      [{ file, sheet: '021024', row: 3 }, 'Temperature', 'abc\u00a0°F'],
      [{ file, sheet: '021024', row: 4 }, 'Temperature', '56.8\u00a0K'],
      [{ file, sheet: '021024', row: 4 }, 'Dew Point', '53.1'],
      [{ file, sheet: '021024', row: 4 }, 'Gust', '\u00a0mph'],
    ],
  );
  assert.match(sink.valueRejects[0]?.reason ?? '', /not a number/);
  assert.match(sink.valueRejects[1]?.reason ?? '', /unit "K" not recognised/);
  assert.match(sink.valueRejects[2]?.reason ?? '', /without a unit/);
  assert.match(sink.valueRejects[3]?.reason ?? '', /no number/);
  assert.deepEqual(sink.recordRejects, []);
});

test('a column missing from the header is reported once per sheet and its values are missing', async () => {
  const file = 'missing-column.xlsx';
  const header = WUNDERGROUND_COLUMNS.filter((c) => c !== 'Dew Point') as Cell[];
  const path = await writeRaw(file, {
    '031024': [header, null, [4 / 1440, rich('56.8', '°F'), rich('87', '%')], [9 / 1440, rich('57.0', '°F'), rich('86', '%')]],
  });
  const sink = await readPath(path, file, LA_MADELEINE);
  assert.equal(sink.reports.length, 2);
  assert.ok(sink.reports.every((r) => r.values.dew_point_c === null));
  assert.deepEqual(
    sink.reports.map((r) => r.values.humidity_pct),
    [87, 86],
  );
  assert.equal(sink.valueRejects.length, 1);
  assert.deepEqual(sink.valueRejects[0]?.loc, { file, sheet: '031024', row: 1 });
  assert.equal(sink.valueRejects[0]?.field, 'Dew Point');
  assert.match(sink.valueRejects[0]?.reason ?? '', /column "Dew Point" is missing/);
});

test('without a Time column every row of the sheet is rejected whole', async () => {
  const file = 'no-time.xlsx';
  const header = WUNDERGROUND_COLUMNS.filter((c) => c !== 'Time') as Cell[];
  const path = await writeRaw(file, { '031024': [header, null, [rich('56.8', '°F')], [rich('57.0', '°F')]] });
  const sink = await readPath(path, file, LA_MADELEINE);
  assert.equal(sink.reports.length, 0);
  assert.deepEqual(
    sink.recordRejects.map((r) => [r.loc.row, r.field]),
    [
      [3, 'Time'],
      [4, 'Time'],
    ],
  );
  assert.ok(sink.valueRejects.some((r) => r.field === 'Time' && r.loc.row === 1));
});

test('Time as a plain day fraction or as text reads like a time cell; a blank row 2 is skipped', async () => {
  const file = 'time-kinds.xlsx';
  const header = [...WUNDERGROUND_COLUMNS] as Cell[];
  const path = await writeRaw(file, {
    '011024': [header, ['  ', null], [4 / 1440, rich('56.8', '°F')], ['12:04 PM', rich('56.8', '°F')], ['soon', rich('1', '°F')]],
  });
  const sink = await readPath(path, file, LA_MADELEINE);
  assert.deepEqual(
    sink.reports.map((r) => r.at),
    ['2024-09-30T22:04:00.000Z', '2024-10-01T10:04:00.000Z'],
  );
  assert.equal(sink.recordRejects.length, 1);
  assert.deepEqual(sink.recordRejects[0]?.loc, { file, sheet: '011024', row: 5 });
  assert.equal(sink.recordRejects[0]?.value, 'soon');
});

test('a sheet not named DDMMYY has its rows rejected whole, naming the sheet; other sheets are read', async () => {
  const file = 'wrong-sheet.xlsx';
  const header = [...WUNDERGROUND_COLUMNS] as Cell[];
  const path = await writeRaw(file, {
    Notes: [header, null, [4 / 1440, rich('56.8', '°F')], [9 / 1440, rich('56.8', '°F')]],
    '320124': [header, null, [4 / 1440, rich('56.8', '°F')]],
    '011024': [header, null, [4 / 1440, rich('56.8', '°F')]],
  });
  const sink = await readPath(path, file, LA_MADELEINE);
  assert.deepEqual(sink.fileRejects, []);
  assert.deepEqual(
    sink.reports.map((r) => [r.loc.sheet, r.at]),
    [['011024', '2024-09-30T22:04:00.000Z']],
  );
  assert.deepEqual(sink.recordRejects.map((r) => [r.loc.sheet, r.loc.row]).sort(), [
    ['320124', 3],
    ['Notes', 3],
    ['Notes', 4],
  ]);
  const notes = sink.recordRejects.find((r) => r.loc.sheet === 'Notes');
  assert.match(notes?.reason ?? '', /sheet "Notes" is not named after a day \(DDMMYY/);
  assert.equal(notes?.field, null);
});

test('a corrupt or truncated file gives one file reject and no reports', async () => {
  const good = join(dir, 'good.xlsx');
  await writeWundergroundWorkbook(good, LA_MADELEINE, [{ date: '2024-10-01', rows: [row(4), row(9)] }]);
  const bytes = await readFile(good);
  const truncated = join(dir, 'truncated.xlsx');
  await writeFile(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
  const notZip = join(dir, 'not-zip.xlsx');
  await writeFile(notZip, 'Time,Temperature\n');
  for (const [path, pattern] of [
    [truncated, /truncated/],
    [notZip, /not a zip/],
  ] as const) {
    const sink = await readPath(path, 'Weather+Underground+-+La+Madeleine,+FR.xlsx', LA_MADELEINE);
    assert.equal(sink.reports.length, 0);
    assert.equal(sink.fileRejects.length, 1);
    assert.equal(sink.fileRejects[0]?.file, 'Weather+Underground+-+La+Madeleine,+FR.xlsx');
    assert.match(sink.fileRejects[0]?.reason ?? '', pattern);
  }
});

test('with a real ReportBatch: a week of 5-minute rows, counts and field names in rejects', async () => {
  const days: WundergroundDay[] = [];
  for (let d = 1; d <= 7; d++) {
    const rows = Array.from({ length: 288 }, (_, i) => row(i * 5, i === 100 ? { pressure_inhg: 35 } : {}));
    days.push({ date: `2024-10-0${d}`, rows });
  }
  const file = wundergroundFileName(ICHTEGEM);
  const path = join(dir, `week-${file}`);
  await writeWundergroundWorkbook(path, ICHTEGEM, days);
  const batch = new ReportBatch();
  const ctx = { file, rawKey: 'raw/stations/wunderground/x.xlsx', source: 'wunderground', fieldNames: WUNDERGROUND_FIELD_NAMES };
  await readWundergroundWorkbook(path, { ...ctx, station: ICHTEGEM }, batch.forFile(ctx));
  assert.equal(batch.rowsRead, 7 * 288);
  assert.equal(batch.lines.length, 7 * 288);
  assert.equal(batch.rowsRejected, 0);
  // 35 inHg = 1185.24 hPa: out of range, reported under the export's column name.
  assert.equal(batch.valuesRejected, 7);
  assert.ok(batch.rejects.every((r) => r.field === 'Pressure' && r.row === 103 && !r.whole_record));
});
