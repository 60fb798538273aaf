/**
 * Writes workbooks in the Weather Underground export format (docs/pipelines/stations.md, "Inputs"), for samples, tests and
 * benchmarks: one sheet per local day named `DDMMYY`, header in row 1, row 2 empty, then one row per
 * observation; `Time` is a time-of-day cell (a day fraction formatted `h:mm AM/PM`), values are rich
 * text in two runs (`56.8` and `\u00a0°F` in another font), `UV` a plain integer, `Wind` a compass word.
 *
 * Uses exceljs's streaming writer so that large generated workbooks are not held in memory. Its
 * shared-strings table keys entries by the value itself, so every rich-text value collapses onto
 * the first one (exceljs issue #2267); we key rich text by its runs instead. Rich text must go to
 * the shared-strings table (as Excel writes it): inline rich text is misread by exceljs's
 * streaming reader, which keeps only the last run.
 */
import ExcelJS from 'exceljs';
import type { StationConfig } from './stations.js';
import { WUNDERGROUND_COLUMNS } from './format.js';

export interface WundergroundRow {
  /** Minutes since local midnight (the station's wall clock). */
  localMinutes: number;
  temperature_f: number | null;
  dew_point_f: number | null;
  humidity_pct: number | null;
  /** Compass word (`WSW`, `North`, …). */
  wind_dir: string | null;
  speed_mph: number | null;
  gust_mph: number | null;
  pressure_inhg: number | null;
  precip_rate_in: number | null;
  precip_accum_in: number | null;
  uv: number | null;
  solar_w_m2: number | null;
}

export interface WundergroundDay {
  /** Local calendar day, `YYYY-MM-DD`. */
  date: string;
  rows: WundergroundRow[];
}

/** `Weather+Underground+-+La+Madeleine,+FR.xlsx`: the name Weather Underground gives its exports. */
export function wundergroundFileName(station: Pick<StationConfig, 'city' | 'country'>): string {
  const encode = (s: string) =>
    s
      .trim()
      .replace(/%/g, '%25')
      .replace(/\+/g, '%2B')
      .replace(/,/g, '%2C')
      .replace(/[/\\]/g, (c) => encodeURIComponent(c))
      .replace(/\s+/g, '+');
  const place = station.country ? `${encode(station.city)},+${encode(station.country)}` : encode(station.city);
  return `Weather+Underground+-+${place}.xlsx`;
}

/** `2024-10-01` → `011024`. */
function sheetName(date: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`day "${date}" is not a YYYY-MM-DD date`);
  return `${m[3]}${m[2]}${m[1]?.slice(2)}`;
}

const NUMBER_FONT = { name: 'Arial', size: 10, color: { argb: 'FF1A1A1A' } };
const UNIT_FONT = { name: 'Arial', size: 8, color: { argb: 'FF6E6E6E' } };

type RichText = { richText: Array<{ text: string; font?: Partial<ExcelJS.Font> }> };

function measure(value: number | null, decimals: number, unit: string): RichText | null {
  if (value === null) return null;
  return {
    richText: [
      { font: NUMBER_FONT, text: value.toFixed(decimals) },
      { font: UNIT_FONT, text: `\u00a0${unit}` },
    ],
  };
}

interface SharedStringsTable {
  _values: unknown[];
  _hash: Record<string, number>;
  _totalRefs: number;
  add(value: unknown): number;
}

/** Makes exceljs's shared-strings table tell rich-text values apart (see the note at the top). */
function keyRichTextByRuns(table: SharedStringsTable): void {
  table.add = (value: unknown): number => {
    const key = typeof value === 'string' ? `s:${value}` : `r:${JSON.stringify((value as RichText).richText ?? value)}`;
    let index = table._hash[key];
    if (index === undefined) {
      index = table._values.length;
      table._hash[key] = index;
      table._values.push(value);
    }
    table._totalRefs++;
    return index;
  };
}

/** Writes `days` of `station` as a Weather Underground workbook at `path`. */
export async function writeWundergroundWorkbook(path: string, station: StationConfig, days: WundergroundDay[]): Promise<void> {
  void station; // The export carries no station metadata: the station shows only in the file name.
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useStyles: true, useSharedStrings: true });
  keyRichTextByRuns((workbook as unknown as { sharedStrings: SharedStringsTable }).sharedStrings);
  for (const day of days) {
    const sheet = workbook.addWorksheet(sheetName(day.date));
    const header = sheet.addRow([...WUNDERGROUND_COLUMNS]);
    header.font = { bold: true };
    header.commit();
    // Row 2 is present but empty.
    const blank = sheet.getRow(2);
    blank.height = 15;
    blank.commit();
    let rowNumber = 3;
    for (const r of day.rows) {
      const row = sheet.getRow(rowNumber++);
      row.values = [
        r.localMinutes / 1440,
        measure(r.temperature_f, 1, '°F'),
        measure(r.dew_point_f, 1, '°F'),
        measure(r.humidity_pct, 0, '%'),
        r.wind_dir,
        measure(r.speed_mph, 1, 'mph'),
        measure(r.gust_mph, 1, 'mph'),
        measure(r.pressure_inhg, 2, 'in'),
        measure(r.precip_rate_in, 2, 'in'),
        measure(r.precip_accum_in, 2, 'in'),
        r.uv === null ? null : Math.round(r.uv),
        measure(r.solar_w_m2, 1, 'w/m²'),
      ] as ExcelJS.CellValue[];
      row.getCell(1).numFmt = 'h:mm AM/PM';
      row.commit();
    }
    sheet.commit();
  }
  await workbook.commit();
}
