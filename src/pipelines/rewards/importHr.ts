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
  /** Valid employees in the HR file (inserted + updated + unchanged). */
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

/**
 * Imports the HR file and the sport file (told apart by their headers, in any order) into `db`.
 * The HR file is required; the sport file too, since an HR file alone would erase every declared sport.
 * Throws `HrFileError` for a file that is unreadable, of neither kind, or given twice.
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
  if (!hr) throw new HrFileError(`no HR file (Données RH) among ${files.map((f) => f.name).join(', ') || 'the inputs'}: an import needs it`);
  if (!sport) throw new HrFileError(`no sport file (Données Sportive) among ${files.map((f) => f.name).join(', ')}: an import needs it with the HR file`);

  const rejects = [...hr.rejects, ...sport.rejects];
  const known = new Set(hr.employees.map((e) => e.employee_id));
  const rejectedInHr = new Set(hr.rejectedIds);
  const sports = new Map<number, string | null>();
  for (const d of sport.declarations) {
    if (known.has(d.employee_id)) {
      sports.set(d.employee_id, d.sport);
      continue;
    }
    rejects.push({
      file: sport.file,
      sheet: sport.sheet,
      row: d.row,
      field: SPORT_HEADERS.id,
      value: String(d.employee_id),
      reason: rejectedInHr.has(d.employee_id)
        ? `employee ${d.employee_id}'s row of the HR file was rejected`
        : `unknown employee: not in the HR file ${hr.file}`,
      whole_record: true,
    });
  }
  const employees: Employee[] = hr.employees.map((e) => ({ ...e, declared_sport: sports.get(e.employee_id) ?? null }));

  const existing = new Map((await db.query(SELECT_EMPLOYEES)).map((r) => [Number(r.employee_id), r]));
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
