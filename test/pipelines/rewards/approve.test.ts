import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { ApprovalError, approveEmployee } from '../../../src/pipelines/rewards/approve.js';
import { insertActivities, openCompanyDb } from '../../../src/pipelines/rewards/companyDb.js';
import { refreshRewards } from '../../../src/pipelines/rewards/refresh.js';
import { openPlatform, tempHome } from '../../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../../helpers/warehouses.js';
import { ACTIVITIES, insertEmployees, NOW, RULES, settingsWith } from './rulesFixture.js';

const homes: string[] = [];
after(() => dropSchemas(homes));

for (const kind of ['duckdb', 'postgres'] as WarehouseKind[]) {
  describe(`approval on ${kind}`, { skip: await skipUnless(kind) }, () => {
    test('inconsistent → approved by HR (who and when recorded) → paid; it holds across refreshes until the address changes', async () => {
      const home = await tempHome('ecluse-rewards-approve-');
      homes.push(home);
      const platform = await openPlatform(home, { ECLUSE_WAREHOUSE: warehouseFor(kind, home) });
      const { warehouse } = platform;
      try {
        const company = await openCompanyDb(undefined, warehouse);
        await insertEmployees(company);
        await insertActivities(company, ACTIVITIES, NOW);
        const settings = settingsWith();
        await refreshRewards({ warehouse, company, settings, now: NOW });

        await assert.rejects(approveEmployee({ warehouse, employeeId: 999, by: 'rh.dupont', now: NOW, rules: RULES }), (err: Error) => {
          assert.ok(err instanceof ApprovalError);
          assert.match(err.message, /employee 999 is unknown/);
          return true;
        });
        await assert.rejects(
          approveEmployee({ warehouse, employeeId: 101, by: 'rh.dupont', now: NOW, rules: RULES }),
          /is not inconsistent for 2025 \(distance checked\)/,
        );
        await assert.rejects(approveEmployee({ warehouse, employeeId: 104, by: '  ', now: NOW, rules: RULES }), /needs the name/);

        const at = new Date('2025-09-16T08:30:00Z');
        const { approval, reward } = await approveEmployee({
          warehouse,
          employeeId: 104,
          by: 'rh.dupont',
          note: 'lives by the cycle path',
          now: at,
          rules: RULES,
        });
        assert.deepEqual(approval, {
          employee_id: 104,
          commute_mode: 'Vélo/Trottinette/Autres',
          home_address: '10 Quai de Bosc, 34200 Sète',
          distance_km: 25.1,
          approved_by: 'rh.dupont',
          approved_at: at,
          note: 'lives by the cycle path',
        });
        assert.deepEqual([reward.year, reward.distance_status, reward.bonus_eur, reward.bonus_withheld_eur], [2025, 'approved', 2600, 0]);
        const stored = await warehouse.query(`SELECT approved_by, approved_at, commute_mode, home_address, distance_km, note FROM rewards_approvals`);
        assert.deepEqual(stored, [
          {
            approved_by: 'rh.dupont',
            approved_at: '2025-09-16T08:30:00Z',
            commute_mode: 'Vélo/Trottinette/Autres',
            home_address: '10 Quai de Bosc, 34200 Sète',
            distance_km: 25.1,
            note: 'lives by the cycle path',
          },
        ]);
        const rows = await warehouse.query(
          `SELECT year, distance_status, bonus_eur, bonus_withheld_eur, bonus_reason FROM rewards WHERE employee_id = 104 ORDER BY year`,
        );
        assert.deepEqual(
          rows.map((r) => [r.year, r.distance_status, r.bonus_eur, r.bonus_withheld_eur]),
          [
            [2024, 'approved', 2600, 0],
            [2025, 'approved', 2600, 0],
          ],
        );
        assert.match(String(rows[1]?.bonus_reason), /25\.1 km > 25 km, approved by rh\.dupont on 2025-09-16/);
        await assert.rejects(approveEmployee({ warehouse, employeeId: 104, by: 'rh.dupont', now: at, rules: RULES }), /not inconsistent .*approved/);

        // A refresh keeps it; a move makes the declaration inconsistent again.
        await refreshRewards({ warehouse, company, settings, now: NOW });
        const [kept] = await warehouse.query(`SELECT distance_status, bonus_eur FROM rewards WHERE employee_id = 104 AND year = 2025`);
        assert.deepEqual(kept, { distance_status: 'approved', bonus_eur: 2600 });
        await company.transaction((tx) => tx.execute(`UPDATE employees SET home_address = '1 Rue Neuve, 34000 Montpellier' WHERE employee_id = 104`));
        await refreshRewards({ warehouse, company, settings, now: NOW });
        const [moved] = await warehouse.query(`SELECT distance_status, bonus_eur, bonus_withheld_eur FROM rewards WHERE employee_id = 104 AND year = 2025`);
        assert.deepEqual(moved, { distance_status: 'inconsistent', bonus_eur: 0, bonus_withheld_eur: 2600 });
      } finally {
        await warehouse.close();
      }
    });
  });
}
