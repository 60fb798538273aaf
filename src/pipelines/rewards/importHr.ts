/**
 * Loads HR's two files into the company database's `employees`: new ids inserted, changed rows updated,
 * identical rows left as they are (their `updated_at` does not move), so re-importing the same files
 * changes nothing. The rows that fail validation are returned as rejects, never loaded.
 */
import type { Reject } from '../../quality/rejects.js';
import type { SqlParam } from '../../warehouse/warehouse.js';
import { EMPLOYEE_COLUMNS, type CompanyDb, type Employee } from './companyDb.js';
import { HrFileError, readHrFile, SPORT_HEADERS, type HrFileRead, type SportFileRead } from './hrFiles.js';

export interface HrImportResult {
  inserted: number;
  updated: number;
  unchanged: number;
  /** Employees of the import (inserted + updated + unchanged): the HR file's valid rows, or the database's with a sport file alone. */
  employees: number;
  rejects: Reject[];
}

/** A file to import: where it is, and its name as the user knows it (quoted by rejects). */
export interface HrImportFile {
  path: string;
  name: string;
}

const INSERT_CHUNK = 200;

/** The columns as both databases give them back comparably (dates as `YYYY-MM-DD` text). */
const SELECT_EMPLOYEES = `SELECT ${EMPLOYEE_COLUMNS.map((c) => (c === 'birth_date' || c === 'hired_on' ? `CAST(${c} AS VARCHAR) AS ${c}` : c)).join(', ')} FROM employees`;

function sameEmployee(a: Employee, b: Record<string, unknown>): boolean {
  return EMPLOYEE_COLUMNS.every((c) => a[c] === (b[c] ?? null));
}

function params(e: Employee): SqlParam[] {
  return EMPLOYEE_COLUMNS.map((c) => e[c]);
}

/** `$n`, cast where a text parameter must become a date in both dialects. */
function placeholder(column: string, n: number): string {
  return column === 'birth_date' || column === 'hired_on' ? `CAST($${n} AS DATE)` : `$${n}`;
}

/** A row of `employees` as an `Employee` (the query gives dates as text, numbers as numbers). */
function employeeOfRow(r: Record<string, unknown>): Employee {
  const e = Object.fromEntries(EMPLOYEE_COLUMNS.map((c) => [c, r[c] ?? null])) as unknown as Employee;
  return { ...e, employee_id: Number(r.employee_id) };
}

/**
 * Imports HR's files (told apart by their headers, in any order) into `db`: the HR file and the sport file
 * together, as `ecluse rewards import` gives them, or one alone (a run that skips a file it already loaded,
 * or HR sending an update of one):
 * - HR file alone: the employees' declared sports stay as the last sport file set them (none for new ids);
 * - sport file alone: the sports of the employees already in the database are set from it (the file has a
 *   row per employee, so one without a row has none); rows for ids not in the database are rejected.
 * Throws `HrFileError` for a file that is unreadable, of neither kind, or of a kind given twice.
 *
 * An employee of an earlier import that is absent from this HR file is left in the database as it was:
 * HR data is never deleted silently (a departure is HR's to record, and the rewards already computed for
 * them stay explainable).
 */
export async function importHrFiles(db: CompanyDb, files: readonly HrImportFile[], now: Date): Promise<HrImportResult> {
  let hr: HrFileRead | null = null;
  let sport: SportFileRead | null = null;
  for (const f of files) {
    const read = await readHrFile(f.path, f.name);
    if (read.kind === 'hr') {
      if (hr) throw new HrFileError(`two HR files in one import: ${hr.file} and ${read.file}; import one at a time`);
      hr = read;
    } else {
      if (sport) throw new HrFileError(`two sport files in one import: ${sport.file} and ${read.file}; import one at a time`);
      sport = read;
    }
  }
  if (!hr && !sport) throw new HrFileError('nothing to import: no HR file (Données RH) nor sport file (Données Sportive) given');

  const existing = new Map((await db.query(SELECT_EMPLOYEES)).map((r) => [Number(r.employee_id), r]));
  const rejects = [...(hr?.rejects ?? []), ...(sport?.rejects ?? [])];
  const base: Omit<Employee, 'declared_sport'>[] = hr ? hr.employees : [...existing.values()].map(employeeOfRow);
  const known = new Set(base.map((e) => e.employee_id));
  const rejectedInHr = new Set(hr?.rejectedIds ?? []);
  const sports = new Map<number, string | null>();
  for (const d of sport?.declarations ?? []) {
    if (known.has(d.employee_id)) {
      sports.set(d.employee_id, d.sport);
      continue;
    }
    rejects.push({
      file: sport!.file,
      sheet: sport!.sheet,
      row: d.row,
      field: SPORT_HEADERS.id,
      value: String(d.employee_id),
      reason: rejectedInHr.has(d.employee_id)
        ? `employee ${d.employee_id}'s row of the HR file was rejected`
        : hr
          ? `unknown employee: not in the HR file ${hr.file}`
          : 'unknown employee: not in the company database (import the HR file with it)',
      whole_record: true,
    });
  }
  const sportOf = (id: number): string | null => (sport ? (sports.get(id) ?? null) : ((existing.get(id)?.declared_sport as string | null | undefined) ?? null));
  const employees: Employee[] = base.map((e) => ({ ...e, declared_sport: sportOf(e.employee_id) }));

  const inserts = employees.filter((e) => !existing.has(e.employee_id));
  const updates = employees.filter((e) => {
    const before = existing.get(e.employee_id);
    return before !== undefined && !sameEmployee(e, before);
  });
  const stamp = db.instant(now);
  const width = EMPLOYEE_COLUMNS.length + 1;
  await db.transaction(async (tx) => {
    for (let i = 0; i < inserts.length; i += INSERT_CHUNK) {
      const chunk = inserts.slice(i, i + INSERT_CHUNK);
      const values = chunk.map((_, n) => `(${[...EMPLOYEE_COLUMNS, 'updated_at'].map((c, j) => placeholder(c, n * width + j + 1)).join(', ')})`).join(', ');
      await tx.execute(
        `INSERT INTO employees (${EMPLOYEE_COLUMNS.join(', ')}, updated_at) VALUES ${values}`,
        chunk.flatMap((e) => [...params(e), stamp]),
      );
    }
    const set = EMPLOYEE_COLUMNS.slice(1)
      .map((c, j) => `${c} = ${placeholder(c, j + 2)}`)
      .join(', ');
    for (const e of updates) {
      await tx.execute(`UPDATE employees SET ${set}, updated_at = $${width} WHERE employee_id = $1`, [...params(e), stamp]);
    }
  });
  return {
    inserted: inserts.length,
    updated: updates.length,
    unchanged: employees.length - inserts.length - updates.length,
    employees: employees.length,
    rejects,
  };
}
