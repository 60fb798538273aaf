import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';

export const HR_HEADER = [
  'ID salarié',
  'Nom',
  'Prénom',
  'Date de naissance',
  'BU',
  "Date d'embauche",
  'Salaire brut',
  'Type de contrat',
  'Nombre de jours de CP',
  'Adresse du domicile',
  'Moyen de déplacement',
];

export type Cell = string | number | Date | null;

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'ecluse-hr-'));
}

/** A CSV file as HR's Excel writes it (`;`, a BOM) unless told otherwise. */
export async function writeCsv(
  dir: string,
  name: string,
  rows: readonly (readonly Cell[])[],
  opts: { delimiter?: string; bom?: boolean } = {},
): Promise<string> {
  const d = opts.delimiter ?? ';';
  const field = (v: Cell) => {
    const s = v === null ? '' : v instanceof Date ? v.toISOString().slice(0, 10) : String(v);
    return s.includes(d) || s.includes('"') ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const path = join(dir, name);
  await writeFile(path, `${opts.bom === false ? '' : '\uFEFF'}${rows.map((r) => r.map(field).join(d)).join('\r\n')}\r\n`);
  return path;
}

/**
 * A workbook of one sheet. Date cells are written as Excel dates; `blankRows` empty rows follow, formatted
 * (as a sheet edited by hand leaves them) and with empty strings.
 */
export async function writeXlsx(dir: string, name: string, sheetName: string, rows: readonly (readonly Cell[])[], blankRows = 0): Promise<string> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet(sheetName);
  for (const r of rows) {
    const row = sheet.addRow([...r]);
    r.forEach((v, i) => {
      if (v instanceof Date) row.getCell(i + 1).numFmt = 'dd/mm/yyyy';
    });
  }
  for (let i = 0; i < blankRows; i++) {
    const row = sheet.addRow(i % 2 === 0 ? ['', ''] : []);
    row.getCell(1).style = { border: { bottom: { style: 'thin' } } };
    row.getCell(2).style = { border: { bottom: { style: 'thin' } } };
  }
  const path = join(dir, name);
  await workbook.xlsx.writeFile(path);
  return path;
}

/** A valid HR row; `over` replaces cells by header. */
export function hrRow(id: Cell, over: Partial<Record<string, Cell>> = {}): Cell[] {
  const base: Record<string, Cell> = {
    'ID salarié': id,
    Nom: 'Colin',
    Prénom: 'Audrey',
    'Date de naissance': '1990-07-06',
    BU: 'Marketing',
    "Date d'embauche": '2020-12-14',
    'Salaire brut': 30940,
    'Type de contrat': 'CDI',
    'Nombre de jours de CP': 29,
    'Adresse du domicile': '128 Rue du Port, 34000 Frontignan',
    'Moyen de déplacement': 'Transports en commun',
    ...over,
  };
  return HR_HEADER.map((h) => base[h] ?? null);
}
