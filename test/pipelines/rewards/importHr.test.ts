import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { openCompanyDb, type CompanyDb } from '../../../src/pipelines/rewards/companyDb.js';
import { HrFileError } from '../../../src/pipelines/rewards/hrFiles.js';
import { importHrFiles } from '../../../src/pipelines/rewards/importHr.js';
import { tempHome, withPlatform } from '../../helpers/platform.js';
import { skipUnless } from '../../helpers/warehouses.js';
import { freshCompanyDatabase } from './companyDbs.js';
import { HR_HEADER, hrRow, tempDir, writeCsv, writeXlsx, type Cell } from './hrFixtures.js';

const SPORT_HEADER = ['ID salarié', "Pratique d'un sport"];

async function files(dir: string, hr: readonly (readonly Cell[])[], sport: readonly (readonly Cell[])[], tag: string) {
  // The HR file as a workbook, the sport file as CSV: an import takes both kinds, in any order.
  const hrPath = await writeXlsx(dir, `rh-${tag}.xlsx`, 'Données RH', [HR_HEADER, ...hr]);
  const sportPath = await writeCsv(dir, `sport-${tag}.csv`, [SPORT_HEADER, ...sport, ['', ''], ['', '']]);
  return [
    { path: sportPath, name: 'Données Sportive.csv' },
    { path: hrPath, name: 'Données RH.xlsx' },
  ];
}

async function stamps(db: CompanyDb): Promise<Map<number, string>> {
  const rows = await db.query('SELECT employee_id, updated_at FROM employees ORDER BY employee_id');
  return new Map(rows.map((r) => [Number(r.employee_id), String(r.updated_at)]));
}

async function scenario(db: CompanyDb): Promise<void> {
  const dir = await tempDir();
  const hr = [
    hrRow(1, { 'Moyen de déplacement': 'marche/running' }),
    hrRow(2, { Nom: 'Mendes', Prénom: 'Juliette', 'Moyen de déplacement': 'Vélo/Trottinette/Autres' }),
    hrRow(3, { 'Date de naissance': new Date(Date.UTC(1985, 1, 14)), 'Adresse du domicile': null }),
    hrRow(4, { 'Salaire brut': 0 }),
  ];
  const sport = [
    [1, 'Runing'],
    [2, 'Randonnée'],
    [3, null],
    [4, 'Tennis'],
    [99, 'Boxe'],
  ];
  const t1 = new Date('2025-03-01T10:00:00Z');
  const first = await importHrFiles(db, await files(dir, hr, sport, '1'), t1);
  assert.deepEqual({ ...first, rejects: undefined }, { inserted: 3, updated: 0, unchanged: 0, employees: 3, rejects: undefined });
  assert.deepEqual(
    first.rejects.map((r) => [r.file, r.sheet, r.row, r.field, r.value, r.reason]),
    [
      ['Données RH.xlsx', 'Données RH', 5, 'Salaire brut', '0', 'the gross salary must be greater than 0'],
      ['Données Sportive.csv', null, 5, 'ID salarié', '4', "employee 4's row of the HR file was rejected"],
      ['Données Sportive.csv', null, 6, 'ID salarié', '99', 'unknown employee: not in the HR file Données RH.xlsx'],
    ],
  );
  const rows = await db.query(
    `SELECT employee_id, last_name, first_name, CAST(birth_date AS VARCHAR) AS birth_date, business_unit, gross_salary, contract,
            home_address, commute_mode, declared_distance_km, declared_sport FROM employees ORDER BY employee_id`,
  );
  assert.deepEqual(rows, [
    {
      employee_id: 1,
      last_name: 'Colin',
      first_name: 'Audrey',
      birth_date: '1990-07-06',
      business_unit: 'Marketing',
      gross_salary: 30940,
      contract: 'CDI',
      home_address: '128 Rue du Port, 34000 Frontignan',
      commute_mode: 'Marche/running',
      declared_distance_km: null,
      declared_sport: 'Runing',
    },
    {
      employee_id: 2,
      last_name: 'Mendes',
      first_name: 'Juliette',
      birth_date: '1990-07-06',
      business_unit: 'Marketing',
      gross_salary: 30940,
      contract: 'CDI',
      home_address: '128 Rue du Port, 34000 Frontignan',
      commute_mode: 'Vélo/Trottinette/Autres',
      declared_distance_km: null,
      declared_sport: 'Randonnée',
    },
    {
      employee_id: 3,
      last_name: 'Colin',
      first_name: 'Audrey',
      birth_date: '1985-02-14',
      business_unit: 'Marketing',
      gross_salary: 30940,
      contract: 'CDI',
      home_address: null,
      commute_mode: 'Transports en commun',
      declared_distance_km: null,
      declared_sport: null,
    },
  ]);
  const before = await stamps(db);

  // The same files again, later: nothing changes, not even the stamps.
  const again = await importHrFiles(db, await files(dir, hr, sport, '2'), new Date('2025-03-02T10:00:00Z'));
  assert.deepEqual([again.inserted, again.updated, again.unchanged, again.employees], [0, 0, 3, 3]);
  assert.deepEqual(await stamps(db), before);

  // One salary changed, one sport changed, employee 3 left out of the file, a new one: 3 stays as it was.
  const changed = [hrRow(1, { 'Moyen de déplacement': 'Marche/running', 'Salaire brut': 32000 }), hr[1]!, hrRow(5)];
  const t3 = new Date('2025-04-01T08:30:00Z');
  const third = await importHrFiles(
    db,
    await files(
      dir,
      changed,
      [
        [1, 'Runing'],
        [2, 'Voile'],
        [5, null],
      ],
      '3',
    ),
    t3,
  );
  assert.deepEqual([third.inserted, third.updated, third.unchanged, third.employees, third.rejects.length], [1, 2, 0, 3, 0]);
  const after3 = await stamps(db);
  assert.notEqual(after3.get(1), before.get(1));
  assert.notEqual(after3.get(2), before.get(2));
  assert.equal(after3.get(3), before.get(3));
  assert.equal(after3.size, 4);
  const now = await db.query('SELECT employee_id, gross_salary, declared_sport FROM employees ORDER BY employee_id');
  assert.deepEqual(now, [
    { employee_id: 1, gross_salary: 32000, declared_sport: 'Runing' },
    { employee_id: 2, gross_salary: 30940, declared_sport: 'Voile' },
    { employee_id: 3, gross_salary: 30940, declared_sport: null },
    { employee_id: 5, gross_salary: 30940, declared_sport: null },
  ]);
  // Only the changed salary's row moves when the salary alone changes back.
  const fourth = await importHrFiles(
    db,
    await files(
      dir,
      [hr[0]!, hr[1]!, hrRow(5)],
      [
        [1, 'Runing'],
        [2, 'Voile'],
        [5, null],
      ],
      '4',
    ),
    new Date('2025-05-01T00:00:00Z'),
  );
  assert.deepEqual([fourth.inserted, fourth.updated, fourth.unchanged], [0, 1, 2]);
  const after4 = await stamps(db);
  assert.notEqual(after4.get(1), after3.get(1));
  assert.equal(after4.get(2), after3.get(2));
  assert.equal(after4.get(5), after3.get(5));
}

/** One file at a time: an HR update keeps the declared sports, a sport file alone updates the known employees'. */
async function oneFileAtATime(db: CompanyDb): Promise<void> {
  const dir = await tempDir();
  const sportOnly = async (rows: Cell[][], tag: string) => [{ path: await writeCsv(dir, `s-${tag}.csv`, [SPORT_HEADER, ...rows]), name: 'sport.csv' }];
  const hrOnly = async (rows: Cell[][], tag: string) => [{ path: await writeXlsx(dir, `h-${tag}.xlsx`, 'RH', [HR_HEADER, ...rows]), name: 'rh.xlsx' }];
  const t = new Date('2025-01-01T00:00:00Z');

  const nobody = await importHrFiles(db, await sportOnly([[1, 'Runing']], 'a'), t);
  assert.deepEqual([nobody.inserted, nobody.updated, nobody.unchanged, nobody.employees], [0, 0, 0, 0]);
  assert.deepEqual(
    nobody.rejects.map((r) => [r.row, r.value, r.reason]),
    [[2, '1', 'unknown employee: not in the company database (import the HR file with it)']],
  );

  const hired = await importHrFiles(db, await hrOnly([hrRow(1), hrRow(2)], 'b'), t);
  assert.deepEqual([hired.inserted, hired.updated, hired.unchanged, hired.rejects.length], [2, 0, 0, 0]);

  const declared = await importHrFiles(
    db,
    await sportOnly(
      [
        [1, 'Runing'],
        [3, 'Boxe'],
      ],
      'c',
    ),
    t,
  );
  assert.deepEqual([declared.inserted, declared.updated, declared.unchanged, declared.employees], [0, 1, 1, 2]);
  assert.deepEqual(
    declared.rejects.map((r) => [r.row, r.value]),
    [[3, '3']],
  );

  const raise = await importHrFiles(db, await hrOnly([hrRow(1), hrRow(2, { 'Salaire brut': 45000 })], 'd'), t);
  assert.deepEqual([raise.inserted, raise.updated, raise.unchanged], [0, 1, 1]);
  assert.deepEqual(await db.query('SELECT employee_id, gross_salary, declared_sport FROM employees ORDER BY employee_id'), [
    { employee_id: 1, gross_salary: 30940, declared_sport: 'Runing' },
    { employee_id: 2, gross_salary: 45000, declared_sport: null },
  ]);

  const [hr] = await hrOnly([hrRow(9)], 'e');
  await assert.rejects(
    importHrFiles(db, [hr!, { ...hr!, name: 'copie.xlsx' }], t),
    (err: Error) => err instanceof HrFileError && /two HR files in one import: rh\.xlsx and copie\.xlsx/.test(err.message),
  );
  await assert.rejects(importHrFiles(db, [], t), /nothing to import/);
  const [count] = await db.query('SELECT COUNT(*) AS n FROM employees');
  assert.equal(Number(count?.n), 2, 'a refused import loads nothing');
}

describe('HR import into the company database', () => {
  const drops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const d of drops) await d();
  });

  test('embedded (the warehouse): inserted, updated, unchanged; rejects with their rows', async () => {
    await withPlatform(await tempHome(), async (p) => {
      const db = await openCompanyDb(undefined, p.warehouse);
      await scenario(db);
    });
  });

  test('embedded: one file at a time; a kind given twice refused, nothing loaded', async () => {
    await withPlatform(await tempHome(), async (p) => oneFileAtATime(await openCompanyDb(undefined, p.warehouse)));
  });

  test('PostgreSQL: inserted, updated, unchanged; rejects with their rows', async (t) => {
    const skip = await skipUnless('postgres');
    if (skip) return t.skip(skip);
    const { url, drop } = await freshCompanyDatabase('rewards_import');
    drops.push(drop);
    await withPlatform(await tempHome(), async (p) => {
      const db = await openCompanyDb(url, p.warehouse);
      try {
        await scenario(db);
        await db.query('DELETE FROM employees');
        await oneFileAtATime(db);
      } finally {
        await db.close();
      }
    });
  });
});
