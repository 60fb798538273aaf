/**
 * The two workbooks HR hands over (FORMATS.md §4), XLSX or CSV, with their original French headers:
 * `Données RH` (one row per employee) and `Données Sportive` (one row per employee, the sport practised).
 * Which file is which is told by its headers, not its name. Every row is validated: the valid ones become
 * `Employee`s, the others `Reject`s naming the file, sheet, row (as the user sees it), header and value.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { CellValue } from '../../engine/readers/xlsx.js';
import type { Reject } from '../../quality/rejects.js';
import { COMMUTE_MODES, type Employee } from './companyDb.js';

/** The HR file's headers, as HR writes them. */
export const HR_HEADERS = {
  id: 'ID salarié',
  lastName: 'Nom',
  firstName: 'Prénom',
  birthDate: 'Date de naissance',
  businessUnit: 'BU',
  hiredOn: "Date d'embauche",
  salary: 'Salaire brut',
  contract: 'Type de contrat',
  paidLeave: 'Nombre de jours de CP',
  address: 'Adresse du domicile',
  commute: 'Moyen de déplacement',
} as const;

/** The sport file's headers. */
export const SPORT_HEADERS = { id: 'ID salarié', sport: "Pratique d'un sport" } as const;

/**
 * The optional distance column of the HR file (km, home → office). The original file has none; accepted
 * headers (compared without case, accents, spaces or punctuation): `Distance domicile-bureau (km)`,
 * `Distance domicile-travail (km)`, `Distance (km)`, `Distance km`, `Distance`.
 */
export const DISTANCE_HEADER = 'Distance domicile-bureau (km)';
const DISTANCE_HEADERS = ['Distance domicile-bureau (km)', 'Distance domicile-travail (km)', 'Distance (km)', 'Distance km', 'Distance'];

const CONTRACTS = ['CDI', 'CDD'] as const;

/** A problem with a file as a whole (unreadable, not one of the two workbooks, a header missing): nothing of it is loaded. */
export class HrFileError extends Error {
  override name = 'HrFileError';
}

/** A declared sport, as written in the sport file (`Runing` stays `Runing`). */
interface SportDeclaration {
  employee_id: number;
  /** null: the cell was empty (no sport). */
  sport: string | null;
  /** Where it was declared (the row as the user sees it). */
  row: number;
}

export type HrFileKind = 'hr' | 'sport';

export interface HrFileRead {
  kind: 'hr';
  file: string;
  sheet: string | null;
  employees: Omit<Employee, 'declared_sport'>[];
  /** Ids of the rows rejected whole (their sport rows are then rejected for that reason, not as unknown ids). */
  rejectedIds: number[];
  rejects: Reject[];
}

export interface SportFileRead {
  kind: 'sport';
  file: string;
  sheet: string | null;
  declarations: SportDeclaration[];
  rejects: Reject[];
}

interface RawRow {
  /** 1-based: the spreadsheet row, or the CSV line. */
  row: number;
  cells: CellValue[];
}

interface RawTable {
  sheet: string | null;
  header: RawRow;
  rows: RawRow[];
}

/** Headers compared as people type them: no case, accents, apostrophe kinds, spaces or punctuation. */
function headerKey(v: CellValue): string {
  if (v === null) return '';
  return String(v)
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
}

function isBlank(v: CellValue | undefined): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
}

function blankRow(cells: readonly CellValue[]): boolean {
  return cells.every(isBlank);
}

const HR_KEYS = new Set(Object.values(HR_HEADERS).map(headerKey));
const SPORT_KEY = headerKey(SPORT_HEADERS.sport);
const DISTANCE_KEYS = new Set(DISTANCE_HEADERS.map(headerKey));

function kindOfHeader(cells: readonly CellValue[]): HrFileKind | null {
  const keys = new Set(cells.map(headerKey));
  if (keys.has(SPORT_KEY)) return 'sport';
  // Any HR column besides the id says it is meant as the HR file (a missing one is then named).
  for (const k of keys) if (k !== headerKey(HR_HEADERS.id) && HR_KEYS.has(k)) return 'hr';
  return null;
}

function shownHeaders(cells: readonly CellValue[]): string {
  const named = cells.filter((c) => !isBlank(c)).map((c) => `"${String(c).trim()}"`);
  return named.length ? named.join(', ') : 'none';
}

function clip(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function cellText(v: CellValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/** The delimiter of a CSV file: `;` (what a French Excel writes) when its header line has one, else `,`. */
function delimiterOf(text: string): string {
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  return firstLine.includes(';') ? ';' : ',';
}

async function readCsvTables(path: string): Promise<RawTable[]> {
  const text = (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
  // Loaded on use, like the XLSX reader: the pipeline's manifest imports this module's headers.
  const { parse } = await import('csv-parse/sync');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      delimiter: delimiterOf(text),
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    throw new HrFileError(`not a readable CSV file: ${(err as Error).message}`);
  }
  const rows: RawRow[] = records.map(({ record, info }) => ({ row: info.lines, cells: record.map((c) => (c.trim() === '' ? null : c)) }));
  const start = rows.findIndex((r) => !blankRow(r.cells));
  if (start < 0) return [];
  return [{ sheet: null, header: rows[start]!, rows: rows.slice(start + 1) }];
}

async function readXlsxTables(path: string): Promise<RawTable[]> {
  const { readXlsx, XlsxFormatError } = await import('../../engine/readers/xlsx.js');
  const tables: RawTable[] = [];
  try {
    for await (const sheet of readXlsx(path)) {
      let header: RawRow | null = null;
      const rows: RawRow[] = [];
      for await (const r of sheet.rows) {
        if (header === null) {
          if (!blankRow(r.cells)) header = { row: r.rowNumber, cells: r.cells };
        } else rows.push({ row: r.rowNumber, cells: r.cells });
      }
      if (header) tables.push({ sheet: sheet.name, header, rows });
    }
  } catch (err) {
    if (err instanceof XlsxFormatError) throw new HrFileError(err.message);
    throw err;
  }
  return tables;
}

async function readTables(path: string): Promise<RawTable[]> {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv' || ext === '.txt') return readCsvTables(path);
  if (ext === '.xlsx') return readXlsxTables(path);
  // A name without the usual extension (an upload kept under its hash): a zip is a workbook.
  const head = await readFile(path).then((b) => b.subarray(0, 2).toString('latin1'));
  return head === 'PK' ? readXlsxTables(path) : readCsvTables(path);
}

/** The first sheet whose header names one of the two files; none: an error naming the headers found. */
async function tableOf(path: string, name: string): Promise<{ kind: HrFileKind; table: RawTable }> {
  let tables: RawTable[];
  try {
    tables = await readTables(path);
  } catch (err) {
    if (err instanceof HrFileError) throw new HrFileError(`${name}: ${err.message}`);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HrFileError(`${name}: no such file (${path})`);
    throw err;
  }
  for (const table of tables) {
    const kind = kindOfHeader(table.header.cells);
    if (kind) return { kind, table };
  }
  const found = tables.length
    ? tables.map((t) => `${t.sheet ? `sheet "${t.sheet}" ` : ''}row ${t.header.row}: ${shownHeaders(t.header.cells)}`).join('; ')
    : 'the file is empty';
  throw new HrFileError(
    `${name} is neither the HR file (Données RH: ${Object.values(HR_HEADERS).join(', ')}) nor the sport file (Données Sportive: ${Object.values(SPORT_HEADERS).join(', ')}); headers found: ${found}`,
  );
}

/** Which of the two files this is, from its headers (an `HrFileError` when neither). */
export async function hrFileKind(path: string, name = path): Promise<HrFileKind> {
  return (await tableOf(path, name)).kind;
}

/** Column index of each wanted header; the missing ones named in an error. */
function columns<K extends string>(table: RawTable, name: string, wanted: Record<K, string>): { index: Record<K, number>; distance: number | null } {
  const byKey = new Map<string, number>();
  table.header.cells.forEach((c, i) => {
    const k = headerKey(c);
    if (k && !byKey.has(k)) byKey.set(k, i);
  });
  const index = {} as Record<K, number>;
  const missing: string[] = [];
  for (const [field, header] of Object.entries(wanted) as [K, string][]) {
    const i = byKey.get(headerKey(header));
    if (i === undefined) missing.push(header);
    else index[field] = i;
  }
  if (missing.length) {
    const where = table.sheet ? ` (sheet "${table.sheet}")` : '';
    throw new HrFileError(`${name}${where}: missing column(s) ${missing.map((m) => `"${m}"`).join(', ')}; headers found: ${shownHeaders(table.header.cells)}`);
  }
  const d = table.header.cells.findIndex((c) => DISTANCE_KEYS.has(headerKey(c)));
  return { index, distance: d < 0 ? null : d };
}

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

function parseId(v: CellValue): Parsed<number> {
  if (isBlank(v)) return bad('the employee id is missing');
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0 || n > 2_147_483_647) return bad('the employee id is not a positive integer');
  return ok(n);
}

/** `30940`, `30 940`, `30940,50`, `30 940 €`: a number as a French spreadsheet may show it. */
function parseNumber(v: CellValue): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string') return null;
  const s = v
    .replace(/[\s\u00a0\u202f]/g, '')
    .replace(/€$/, '')
    .replace(',', '.');
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s) ? Number(s) : null;
}

const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30);

function isoDay(y: number, m: number, d: number): string | null {
  const t = new Date(Date.UTC(y, m - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== m - 1 || t.getUTCDate() !== d) return null;
  return t.toISOString().slice(0, 10);
}

/**
 * A day: an Excel date cell (exceljs gives it as a UTC-midnight Date), an Excel serial number, or text
 * `YYYY-MM-DD` (a `00:00:00` time allowed, as pandas writes it) or `DD/MM/YYYY` (a French Excel's CSV).
 */
function parseDay(v: CellValue): Parsed<string | null> {
  if (isBlank(v)) return ok(null);
  let day: string | null = null;
  if (v instanceof Date) day = Number.isNaN(v.getTime()) ? null : v.toISOString().slice(0, 10);
  else if (typeof v === 'number') {
    day = Number.isInteger(v) && v > 0 && v < 2_958_466 ? new Date(EXCEL_EPOCH_MS + v * 86_400_000).toISOString().slice(0, 10) : null;
  } else {
    const s = String(v).trim();
    const iso = /^(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$/.exec(s);
    const fr = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(s);
    if (iso) day = isoDay(Number(iso[1]), Number(iso[2]), Number(iso[3]));
    else if (fr) day = isoDay(Number(fr[3]), Number(fr[2]), Number(fr[1]));
  }
  if (day === null) return bad('not a date (YYYY-MM-DD, DD/MM/YYYY or an Excel date)');
  if (day < '1900-01-01' || day > '2200-12-31') return bad('a date out of range');
  return ok(day);
}

function text(v: CellValue): string | null {
  if (isBlank(v)) return null;
  return (v instanceof Date ? v.toISOString().slice(0, 10) : String(v)).trim().replace(/\s+/g, ' ');
}

const modeKey = (s: string) => s.normalize('NFC').toLowerCase().replace(/\s+/g, '').trim();
const MODES = new Map(COMMUTE_MODES.map((m) => [modeKey(m), m]));

/** Reads and validates the HR file (`Données RH`). */
function readHrTable(table: RawTable, name: string): HrFileRead {
  const { index, distance } = columns(table, name, HR_HEADERS);
  const rejects: Reject[] = [];
  const employees: HrFileRead['employees'] = [];
  const firstRowOf = new Map<number, number>();
  const rejectedIds: number[] = [];
  for (const { row, cells } of table.rows) {
    if (blankRow(cells)) continue;
    const at = (i: number): CellValue => cells[i] ?? null;
    const rowRejects: Reject[] = [];
    const reject = (header: string, value: CellValue, reason: string, whole = true) =>
      rowRejects.push({
        file: name,
        sheet: table.sheet,
        row,
        field: header,
        value: value === null ? null : clip(cellText(value) ?? ''),
        reason,
        whole_record: whole,
      });

    const id = parseId(at(index.id));
    if (!id.ok) reject(HR_HEADERS.id, at(index.id), id.reason);
    else {
      const first = firstRowOf.get(id.value);
      if (first !== undefined) reject(HR_HEADERS.id, at(index.id), `duplicate employee id: already on row ${first}`);
      else firstRowOf.set(id.value, row);
    }
    const required = (field: keyof typeof HR_HEADERS, what: string): string | null => {
      const v = text(at(index[field]));
      if (v === null) reject(HR_HEADERS[field], at(index[field]), `${what} is missing`);
      return v;
    };
    const lastName = required('lastName', 'the last name');
    const firstName = required('firstName', 'the first name');
    const businessUnit = required('businessUnit', 'the business unit');

    const salaryCell = at(index.salary);
    const salary = parseNumber(salaryCell);
    if (isBlank(salaryCell)) reject(HR_HEADERS.salary, salaryCell, 'the gross salary is missing');
    else if (salary === null) reject(HR_HEADERS.salary, salaryCell, 'the gross salary is not a number');
    else if (salary <= 0) reject(HR_HEADERS.salary, salaryCell, 'the gross salary must be greater than 0');

    const contractText = text(at(index.contract));
    const contract = CONTRACTS.find((c) => c === contractText?.toUpperCase()) ?? null;
    if (contract === null)
      reject(
        HR_HEADERS.contract,
        at(index.contract),
        contractText === null ? 'the contract type is missing' : `unknown contract type (expected ${CONTRACTS.join(' or ')})`,
      );

    const modeText = text(at(index.commute));
    const mode = modeText === null ? undefined : MODES.get(modeKey(modeText));
    if (mode === undefined) {
      reject(
        HR_HEADERS.commute,
        at(index.commute),
        modeText === null ? 'the commute mode is missing' : `unknown commute mode (expected one of: ${COMMUTE_MODES.join(', ')})`,
      );
    }

    // Fields the rewards do not depend on: a bad value is set to null and reported, the employee is still loaded.
    const optionalDay = (field: 'birthDate' | 'hiredOn'): string | null => {
      const d = parseDay(at(index[field]));
      if (d.ok) return d.value;
      reject(HR_HEADERS[field], at(index[field]), d.reason, false);
      return null;
    };
    const birthDate = optionalDay('birthDate');
    const hiredOn = optionalDay('hiredOn');

    const leaveCell = at(index.paidLeave);
    let paidLeave: number | null = null;
    if (!isBlank(leaveCell)) {
      const n = parseNumber(leaveCell);
      if (n === null || !Number.isInteger(n) || n < 0 || n > 366) reject(HR_HEADERS.paidLeave, leaveCell, 'not a whole number of days', false);
      else paidLeave = n;
    }

    let declaredDistance: number | null = null;
    if (distance !== null && !isBlank(at(distance))) {
      const n = parseNumber(at(distance));
      if (n === null || n < 0 || n > 20_000)
        reject(String(table.header.cells[distance]).trim(), at(distance), 'not a distance in km (a number, 0 or more)', false);
      else declaredDistance = n;
    }

    rejects.push(...rowRejects);
    if (rowRejects.some((r) => r.whole_record) || !id.ok || salary === null || contract === null || mode === undefined) {
      if (id.ok) rejectedIds.push(id.value);
      continue;
    }
    employees.push({
      employee_id: id.value,
      last_name: lastName!,
      first_name: firstName!,
      birth_date: birthDate,
      business_unit: businessUnit!,
      hired_on: hiredOn,
      gross_salary: salary,
      contract,
      paid_leave_days: paidLeave,
      home_address: text(at(index.address)),
      commute_mode: mode,
      declared_distance_km: declaredDistance,
    });
  }
  return { kind: 'hr', file: name, sheet: table.sheet, employees, rejectedIds, rejects };
}

/** Reads and validates the sport file (`Données Sportive`); its blank rows (the sheet ends with some) are skipped. */
function readSportTable(table: RawTable, name: string): SportFileRead {
  const { index } = columns(table, name, SPORT_HEADERS);
  const rejects: Reject[] = [];
  const declarations: SportDeclaration[] = [];
  const firstRowOf = new Map<number, number>();
  for (const { row, cells } of table.rows) {
    if (blankRow(cells)) continue;
    const idCell = cells[index.id] ?? null;
    const id = parseId(idCell);
    const reject = (reason: string) =>
      rejects.push({
        file: name,
        sheet: table.sheet,
        row,
        field: SPORT_HEADERS.id,
        value: idCell === null ? null : clip(cellText(idCell) ?? ''),
        reason,
        whole_record: true,
      });
    if (!id.ok) {
      reject(id.reason);
      continue;
    }
    const first = firstRowOf.get(id.value);
    if (first !== undefined) {
      reject(`duplicate employee id: already on row ${first}`);
      continue;
    }
    firstRowOf.set(id.value, row);
    declarations.push({ employee_id: id.value, sport: text(cells[index.sport] ?? null), row });
  }
  return { kind: 'sport', file: name, sheet: table.sheet, declarations, rejects };
}

/**
 * Reads one of the two files, told apart by its headers. `name` is the file's name as the user knows it
 * (rejects and errors quote it). Throws `HrFileError` for a file that cannot be read as either.
 */
export async function readHrFile(path: string, name = path): Promise<HrFileRead | SportFileRead> {
  const { kind, table } = await tableOf(path, name);
  return kind === 'hr' ? readHrTable(table, name) : readSportTable(table, name);
}
