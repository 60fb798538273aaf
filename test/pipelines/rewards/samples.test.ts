import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readXlsx } from '../../../src/engine/readers/xlsx.js';
import { UsageError } from '../../../src/pipelines/kit/pipeline.js';
import { COMMUTE_MODES, openCompanyDb } from '../../../src/pipelines/rewards/companyDb.js';
import { readHrFile, type HrFileRead, type SportFileRead } from '../../../src/pipelines/rewards/hrFiles.js';
import { importHrFiles } from '../../../src/pipelines/rewards/importHr.js';
import { BUSINESS_UNITS, rewardsGenerator, writeRewardsSamples } from '../../../src/pipelines/rewards/samples.js';
import { tempHome, withPlatform } from '../../helpers/platform.js';
import { tempDir } from './hrFixtures.js';

async function readBoth(hr: string, sport: string): Promise<{ hr: HrFileRead; sport: SportFileRead }> {
  const h = await readHrFile(hr);
  const s = await readHrFile(sport);
  assert.equal(h.kind, 'hr');
  assert.equal(s.kind, 'sport');
  return { hr: h as HrFileRead, sport: s as SportFileRead };
}

describe('rewards samples', () => {
  test('XLSX by default: 161 employees of every mode, unit and contract, read back without a reject; the sport sheet ends with blank rows', async () => {
    const dir = await tempDir();
    const w = await writeRewardsSamples(dir);
    assert.equal(w.employees, 161);
    const { hr, sport } = await readBoth(w.hr, w.sport);
    assert.deepEqual([...hr.rejects, ...sport.rejects], []);
    assert.equal(hr.employees.length, 161);
    assert.equal(new Set(hr.employees.map((e) => e.employee_id)).size, 161);
    assert.deepEqual(new Set(hr.employees.map((e) => e.commute_mode)), new Set(COMMUTE_MODES));
    assert.deepEqual(new Set(hr.employees.map((e) => e.business_unit)), new Set(BUSINESS_UNITS));
    assert.deepEqual(new Set(hr.employees.map((e) => e.contract)), new Set(['CDI', 'CDD']));
    assert.ok(hr.employees.every((e) => e.declared_distance_km === null && e.birth_date && e.hired_on && e.birth_date < e.hired_on));
    assert.ok(
      hr.employees.every((e) => /, 34\d{3} /.test(e.home_address ?? '')),
      'addresses in the Hérault',
    );
    const sports = sport.declarations.map((d) => d.sport);
    assert.ok(sports.includes('Runing') && sports.includes(null));
    let rows = 0;
    let last = 0;
    for await (const s of readXlsx(w.sport)) {
      for await (const r of s.rows) {
        rows++;
        last = r.rowNumber;
      }
    }
    assert.ok(rows > 162 && last > 162, `blank rows after the 161 declarations (${rows} rows, the last ${last})`);
  });

  test('seeded: the same options give the same files; another seed, others', async () => {
    const [a, b, c] = [await tempDir(), await tempDir(), await tempDir()];
    await writeRewardsSamples(a, { format: 'csv', seed: 7, employees: 40 });
    await writeRewardsSamples(b, { format: 'csv', seed: 7, employees: 40 });
    await writeRewardsSamples(c, { format: 'csv', seed: 8, employees: 40 });
    for (const f of ['Donnees_RH.csv', 'Donnees_Sportive.csv']) {
      assert.equal(await readFile(join(a, f), 'utf8'), await readFile(join(b, f), 'utf8'));
    }
    assert.notEqual(await readFile(join(a, 'Donnees_RH.csv'), 'utf8'), await readFile(join(c, 'Donnees_RH.csv'), 'utf8'));
    const xa = await tempDir();
    const xb = await tempDir();
    await writeRewardsSamples(xa, { seed: 7, employees: 40 });
    await writeRewardsSamples(xb, { seed: 7, employees: 40 });
    const [ra, rb] = [
      await readBoth(join(xa, 'Donnees_RH.xlsx'), join(xa, 'Donnees_Sportive.xlsx')),
      await readBoth(join(xb, 'Donnees_RH.xlsx'), join(xb, 'Donnees_Sportive.xlsx')),
    ];
    assert.deepEqual(ra.hr.employees, rb.hr.employees);
    // The CSV and the workbook of one seed hold the same employees.
    const fromCsv = await readBoth(join(a, 'Donnees_RH.csv'), join(a, 'Donnees_Sportive.csv'));
    assert.deepEqual(fromCsv.hr.employees, ra.hr.employees);
    assert.deepEqual(
      fromCsv.sport.declarations.map((d) => [d.employee_id, d.sport]),
      ra.sport.declarations.map((d) => [d.employee_id, d.sport]),
    );
  });

  test('generate: --format csv, --employees, --distances (French decimals), bad options refused', async () => {
    const dir = await tempDir();
    const said = await rewardsGenerator.generate({ format: 'csv', employees: '25', seed: '3', distances: 'true' }, dir);
    assert.match(said, /^wrote 25 employees \(csv\) to .*Donnees_RH\.csv and .*Donnees_Sportive\.csv$/);
    const text = await readFile(join(dir, 'Donnees_RH.csv'), 'utf8');
    assert.ok(text.startsWith('\uFEFFID salarié;Nom;Prénom;'));
    assert.match(text.split('\r\n')[0]!, /;Distance domicile-bureau \(km\)$/);
    const sportText = await readFile(join(dir, 'Donnees_Sportive.csv'), 'utf8');
    assert.ok(sportText.endsWith(';\r\n;\r\n;\r\n'), 'blank rows at the end of the sport file');
    const { hr, sport } = await readBoth(join(dir, 'Donnees_RH.csv'), join(dir, 'Donnees_Sportive.csv'));
    assert.deepEqual([...hr.rejects, ...sport.rejects], []);
    assert.equal(hr.employees.length, 25);
    assert.ok(hr.employees.every((e) => typeof e.declared_distance_km === 'number' && e.declared_distance_km > 0));
    assert.ok(
      hr.employees.some((e) => !Number.isInteger(e.declared_distance_km)),
      'decimals survive the comma',
    );
    await assert.rejects(
      rewardsGenerator.generate({ format: 'ods' }, dir),
      (err: Error) => err instanceof UsageError && /--format must be one of xlsx, csv/.test(err.message),
    );
    await assert.rejects(rewardsGenerator.generate({ employees: '0' }, dir), UsageError);
  });

  test('first run: the two files, which import cleanly', async () => {
    const dir = await tempDir();
    const { inputs, said } = await rewardsGenerator.firstRun(dir, new Date('2026-06-01T00:00:00Z'));
    assert.equal(inputs.length, 2);
    assert.match(said, /161 employees/);
    await withPlatform(await tempHome(), async (p) => {
      const db = await openCompanyDb(undefined, p.warehouse);
      const r = await importHrFiles(
        db,
        inputs.map((path) => ({ path, name: path })),
        new Date(),
      );
      assert.deepEqual([r.inserted, r.updated, r.unchanged, r.rejects.length], [161, 0, 0, 0]);
    });
  });
});
