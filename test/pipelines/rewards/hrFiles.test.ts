import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HrFileError, hrFileKind, readHrFile, type HrFileRead, type SportFileRead } from '../../../src/pipelines/rewards/hrFiles.js';
import type { Reject } from '../../../src/quality/rejects.js';
import { HR_HEADER, hrRow, tempDir, writeCsv, writeXlsx } from './hrFixtures.js';

async function readHr(path: string, name: string): Promise<HrFileRead> {
  const r = await readHrFile(path, name);
  assert.equal(r.kind, 'hr');
  return r as HrFileRead;
}

async function readSport(path: string, name: string): Promise<SportFileRead> {
  const r = await readHrFile(path, name);
  assert.equal(r.kind, 'sport');
  return r as SportFileRead;
}

/** The parts of a reject a test states. */
function shape(r: Reject): Partial<Reject> {
  return { file: r.file, sheet: r.sheet, row: r.row, field: r.field, value: r.value, reason: r.reason, whole_record: r.whole_record };
}

describe('HR files', () => {
  test('XLSX: Excel dates, numbers as text, modes and contracts with stray case and spaces, a distance column', async () => {
    const dir = await tempDir();
    const path = await writeXlsx(dir, 'Données RH.xlsx', 'Feuil1', [
      [...HR_HEADER, 'Distance (km)'],
      [...hrRow(59019, { 'Date de naissance': new Date(Date.UTC(1990, 6, 6)), "Date d'embauche": 44179 }), 12.5],
      [...hrRow('  59020 ', { 'Salaire brut': '41 250,50 €', 'Moyen de déplacement': '  marche/Running ', 'Type de contrat': 'cdd' }), '3,2'],
      [...hrRow(59021, { 'Moyen de déplacement': 'VÉLO/Trottinette/Autres', 'Date de naissance': '14/02/1985', 'Nombre de jours de CP': null }), null],
    ]);
    const read = await readHr(path, 'Données RH.xlsx');
    assert.deepEqual(read.rejects, []);
    assert.equal(read.sheet, 'Feuil1');
    assert.deepEqual(read.employees, [
      {
        employee_id: 59019,
        last_name: 'Colin',
        first_name: 'Audrey',
        birth_date: '1990-07-06',
        business_unit: 'Marketing',
        // Excel serial 44179 is 2020-12-14.
        hired_on: '2020-12-14',
        gross_salary: 30940,
        contract: 'CDI',
        paid_leave_days: 29,
        home_address: '128 Rue du Port, 34000 Frontignan',
        commute_mode: 'Transports en commun',
        declared_distance_km: 12.5,
      },
      {
        employee_id: 59020,
        last_name: 'Colin',
        first_name: 'Audrey',
        birth_date: '1990-07-06',
        business_unit: 'Marketing',
        hired_on: '2020-12-14',
        gross_salary: 41250.5,
        contract: 'CDD',
        paid_leave_days: 29,
        home_address: '128 Rue du Port, 34000 Frontignan',
        commute_mode: 'Marche/running',
        declared_distance_km: 3.2,
      },
      {
        employee_id: 59021,
        last_name: 'Colin',
        first_name: 'Audrey',
        birth_date: '1985-02-14',
        business_unit: 'Marketing',
        hired_on: '2020-12-14',
        gross_salary: 30940,
        contract: 'CDI',
        paid_leave_days: null,
        home_address: '128 Rue du Port, 34000 Frontignan',
        commute_mode: 'Vélo/Trottinette/Autres',
        declared_distance_km: null,
      },
    ]);
  });

  test('XLSX sport sheet: trailing blank rows skipped silently, sports kept as declared, empty means none', async () => {
    const dir = await tempDir();
    const path = await writeXlsx(
      dir,
      'Données Sportive.xlsx',
      'Feuil1',
      [
        ['ID salarié', "Pratique d'un sport"],
        [59019, 'Runing'],
        [59020, null],
        [59021, ' Tennis de table '],
        [59022, 'Équitation'],
      ],
      4,
    );
    const read = await readSport(path, 'Données Sportive.xlsx');
    assert.deepEqual(read.rejects, []);
    assert.deepEqual(
      read.declarations.map((d) => [d.employee_id, d.sport, d.row]),
      [
        [59019, 'Runing', 2],
        [59020, null, 3],
        [59021, 'Tennis de table', 4],
        [59022, 'Équitation', 5],
      ],
    );
  });

  test('CSV: `;` with a BOM and `,` without, quoted addresses, blank trailing lines', async () => {
    const dir = await tempDir();
    const semi = await writeCsv(dir, 'rh.csv', [HR_HEADER, hrRow(1), hrRow(2, { 'Salaire brut': '30940,5' })]);
    const comma = await writeCsv(dir, 'rh-comma.csv', [HR_HEADER, hrRow(1), hrRow(2, { 'Salaire brut': '30940.5' })], { delimiter: ',', bom: false });
    for (const [path, name] of [
      [semi, 'rh.csv'],
      [comma, 'rh-comma.csv'],
    ] as const) {
      const read = await readHr(path, name);
      assert.deepEqual(read.rejects, [], name);
      assert.deepEqual(
        read.employees.map((e) => [e.employee_id, e.gross_salary, e.home_address]),
        [
          [1, 30940, '128 Rue du Port, 34000 Frontignan'],
          [2, 30940.5, '128 Rue du Port, 34000 Frontignan'],
        ],
        name,
      );
    }
    const sport = await writeCsv(dir, 'sport.csv', [
      ['ID salarié', "Pratique d'un sport"],
      [1, 'Runing'],
      [2, ''],
      ['', ''],
      ['', ''],
      [null, null],
    ]);
    const read = await readSport(sport, 'sport.csv');
    assert.deepEqual(read.rejects, []);
    assert.deepEqual(
      read.declarations.map((d) => [d.employee_id, d.sport]),
      [
        [1, 'Runing'],
        [2, null],
      ],
    );
  });

  test('every reason a row of the HR file is rejected, with its file, sheet, row, field and value', async () => {
    const dir = await tempDir();
    const rows = [
      HR_HEADER,
      hrRow(100),
      hrRow('abc'),
      hrRow(-3),
      hrRow(null),
      hrRow(100, { Nom: 'Doublon' }),
      hrRow(101, { 'Salaire brut': 0 }),
      hrRow(102, { 'Salaire brut': 'beaucoup' }),
      hrRow(103, { 'Salaire brut': null }),
      hrRow(104, { 'Moyen de déplacement': 'Avion' }),
      hrRow(105, { 'Moyen de déplacement': null }),
      hrRow(106, { 'Type de contrat': 'Stage' }),
      hrRow(107, { Nom: '  ', Prénom: null }),
      hrRow(108, { BU: null }),
      hrRow(109, { 'Date de naissance': '1990-02-30', "Date d'embauche": 'hier', 'Nombre de jours de CP': '2,5' }),
      hrRow(110, { 'Salaire brut': -100 }),
    ];
    for (const kind of ['csv', 'xlsx'] as const) {
      const name = `Données RH.${kind}`;
      const path = kind === 'csv' ? await writeCsv(dir, name, rows) : await writeXlsx(dir, name, 'RH', rows);
      const read = await readHr(path, name);
      const sheet = kind === 'csv' ? null : 'RH';
      const r = (row: number, field: string, value: string | null, reason: string, whole = true) => ({
        file: name,
        sheet,
        row,
        field,
        value,
        reason,
        whole_record: whole,
      });
      assert.deepEqual(read.rejects.map(shape), [
        r(3, 'ID salarié', 'abc', 'the employee id is not a positive integer'),
        r(4, 'ID salarié', '-3', 'the employee id is not a positive integer'),
        r(5, 'ID salarié', null, 'the employee id is missing'),
        r(6, 'ID salarié', '100', 'duplicate employee id: already on row 2'),
        r(7, 'Salaire brut', '0', 'the gross salary must be greater than 0'),
        r(8, 'Salaire brut', 'beaucoup', 'the gross salary is not a number'),
        r(9, 'Salaire brut', null, 'the gross salary is missing'),
        r(
          10,
          'Moyen de déplacement',
          'Avion',
          'unknown commute mode (expected one of: véhicule thermique/électrique, Transports en commun, Marche/running, Vélo/Trottinette/Autres)',
        ),
        r(11, 'Moyen de déplacement', null, 'the commute mode is missing'),
        r(12, 'Type de contrat', 'Stage', 'unknown contract type (expected CDI or CDD)'),
        r(13, 'Nom', kind === 'csv' ? null : '  ', 'the last name is missing'),
        r(13, 'Prénom', null, 'the first name is missing'),
        r(14, 'BU', null, 'the business unit is missing'),
        r(15, 'Date de naissance', '1990-02-30', 'not a date (YYYY-MM-DD, DD/MM/YYYY or an Excel date)', false),
        r(15, "Date d'embauche", 'hier', 'not a date (YYYY-MM-DD, DD/MM/YYYY or an Excel date)', false),
        r(15, 'Nombre de jours de CP', '2,5', 'not a whole number of days', false),
        r(16, 'Salaire brut', '-100', 'the gross salary must be greater than 0'),
      ]);
      // Bad optional fields are nulled: the employee is loaded all the same; the first of a duplicate id is kept.
      assert.deepEqual(
        read.employees.map((e) => [e.employee_id, e.last_name, e.birth_date, e.hired_on, e.paid_leave_days]),
        [
          [100, 'Colin', '1990-07-06', '2020-12-14', 29],
          [109, 'Colin', null, null, null],
        ],
        kind,
      );
      assert.deepEqual(read.rejectedIds, [100, 101, 102, 103, 104, 105, 106, 107, 108, 110]);
    }
  });

  test('sport rows rejected: a bad id, a duplicate naming the first row', async () => {
    const dir = await tempDir();
    const path = await writeCsv(dir, 'sport.csv', [
      ['ID salarié', "Pratique d'un sport"],
      [1, 'Runing'],
      ['x1', 'Tennis'],
      [1, 'Voile'],
      [null, 'Judo'],
    ]);
    const read = await readSport(path, 'sport.csv');
    assert.deepEqual(read.rejects.map(shape), [
      { file: 'sport.csv', sheet: null, row: 3, field: 'ID salarié', value: 'x1', reason: 'the employee id is not a positive integer', whole_record: true },
      { file: 'sport.csv', sheet: null, row: 4, field: 'ID salarié', value: '1', reason: 'duplicate employee id: already on row 2', whole_record: true },
      { file: 'sport.csv', sheet: null, row: 5, field: 'ID salarié', value: null, reason: 'the employee id is missing', whole_record: true },
    ]);
    assert.deepEqual(read.declarations, [{ employee_id: 1, sport: 'Runing', row: 2 }]);
  });

  test('files told apart by their headers; one of neither kind, or missing a column, is refused naming what it has', async () => {
    const dir = await tempDir();
    const hr = await writeXlsx(dir, 'a.xlsx', 'S', [HR_HEADER, hrRow(1)]);
    const sport = await writeCsv(dir, 'b.csv', [
      ['id salarie', 'PRATIQUE D’UN SPORT'],
      [1, 'Boxe'],
    ]);
    assert.equal(await hrFileKind(hr), 'hr');
    assert.equal(await hrFileKind(sport), 'sport');

    const other = await writeCsv(dir, 'meteo.csv', [
      ['station', 'temperature'],
      ['x', 1],
    ]);
    await assert.rejects(readHrFile(other, 'meteo.csv'), (err: Error) => {
      assert.ok(err instanceof HrFileError);
      assert.match(err.message, /^meteo\.csv is neither the HR file .* nor the sport file .*; headers found: row 1: "station", "temperature"$/);
      return true;
    });
    const partial = await writeXlsx(dir, 'rh.xlsx', 'RH', [HR_HEADER.filter((h) => h !== 'Salaire brut'), ['1']]);
    await assert.rejects(
      readHrFile(partial, 'rh.xlsx'),
      /^HrFileError: rh\.xlsx \(sheet "RH"\): missing column\(s\) "Salaire brut"; headers found: "ID salarié", "Nom"/,
    );
    const empty = join(dir, 'empty.csv');
    await writeFile(empty, '');
    await assert.rejects(readHrFile(empty, 'empty.csv'), /empty\.csv is neither .*headers found: the file is empty/);
    const notZip = join(dir, 'broken.xlsx');
    await writeFile(notZip, 'not a workbook');
    await assert.rejects(readHrFile(notZip, 'broken.xlsx'), /^HrFileError: broken\.xlsx: not an XLSX workbook/);
    await assert.rejects(readHrFile(join(dir, 'nope.csv'), 'nope.csv'), /^HrFileError: nope\.csv: no such file/);
  });
});
