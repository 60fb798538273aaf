import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { insertActivities, openCompanyDb } from '../../../src/pipelines/rewards/companyDb.js';
import { refreshRewards } from '../../../src/pipelines/rewards/refresh.js';
import { DuckDBWarehouse } from '../../../src/warehouse/duckdbWarehouse.js';
import { openWarehouse } from '../../../src/warehouse/open.js';
import { openPlatform, tempHome } from '../../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../../helpers/warehouses.js';
import { freshCompanyDatabase } from './companyDbs.js';
import { ACTIVITIES, EXPECTED_2025, insertEmployees, NOW, settingsWith } from './rulesFixture.js';

const homes: string[] = [];
const drops: (() => Promise<void>)[] = [];
after(async () => {
  await dropSchemas(homes);
  for (const d of drops) await d();
});

const combos: { warehouse: WarehouseKind; company: 'embedded' | 'postgres' }[] = [
  { warehouse: 'duckdb', company: 'embedded' },
  { warehouse: 'postgres', company: 'embedded' },
  { warehouse: 'duckdb', company: 'postgres' },
];

/** A home on the combination's warehouse, and the URL of a fresh company database when it is PostgreSQL. */
async function setup(combo: (typeof combos)[number]) {
  const home = await tempHome('ecluse-rewards-refresh-');
  homes.push(home);
  const platform = await openPlatform(home, { ECLUSE_WAREHOUSE: warehouseFor(combo.warehouse, home) });
  let database: string | undefined;
  if (combo.company === 'postgres') {
    const fresh = await freshCompanyDatabase();
    drops.push(fresh.drop);
    database = fresh.url;
  }
  return { platform, database };
}

for (const combo of combos) {
  const needsPg = combo.warehouse === 'postgres' || combo.company === 'postgres';
  describe(`refresh: ${combo.warehouse} warehouse, ${combo.company} company database`, { skip: needsPg ? await skipUnless('postgres') : false }, () => {
    test('copies employees and activities, computes every year with activities, and replaces them on the next refresh', async () => {
      const { platform, database } = await setup(combo);
      const company = await openCompanyDb(database, platform.warehouse);
      try {
        const { warehouse } = platform;
        await insertEmployees(company);
        await insertActivities(company, ACTIVITIES, NOW);
        const settings = settingsWith({ database });
        const first = await refreshRewards({ warehouse, company, settings, now: NOW });
        assert.deepEqual(first, { employees: 8, activities: ACTIVITIES.length, rewards: 16, inconsistencies: 4, years: [2024, 2025] });

        const rows = await warehouse.query(
          `SELECT employee_id, distance_km, distance_source, distance_status, bonus_eligible, bonus_eur, bonus_withheld_eur, activities_12m, wellbeing_days, bonus_reason
           FROM rewards WHERE year = 2025 ORDER BY employee_id`,
        );
        assert.equal(rows.length, 8);
        for (const r of rows) {
          const want = EXPECTED_2025[Number(r.employee_id)]!;
          assert.deepEqual(
            [r.distance_status, r.bonus_eur, r.bonus_withheld_eur, r.activities_12m, r.wellbeing_days],
            [want.status, want.bonus, want.withheld, want.activities, want.days],
            `employee ${String(r.employee_id)}`,
          );
        }
        const walker = rows.find((r) => r.employee_id === 101);
        assert.deepEqual([walker?.distance_km, walker?.distance_source, walker?.bonus_eligible], [14.9, 'hr-file', true]);
        assert.equal(walker?.bonus_reason, 'Marche/running, 14.9 km ≤ 15 km: 5 % of 30 940 € = 1 547.00 €');
        const missing = rows.find((r) => r.employee_id === 107);
        assert.deepEqual([missing?.distance_km, missing?.distance_source], [null, null]);

        const copied = await warehouse.query(`SELECT count(*) AS n, min(started_at) AS first FROM sport_activities`);
        assert.deepEqual(copied, [{ n: ACTIVITIES.length, first: '2024-09-15T10:00:00Z' }]);
        const [e] = await warehouse.query(`SELECT first_name, commute_mode, declared_distance_km, hired_on FROM rewards_employees WHERE employee_id = 103`);
        assert.deepEqual(e, { first_name: 'Louis', commute_mode: 'Vélo/Trottinette/Autres', declared_distance_km: 24.9, hired_on: '2020-12-14' });

        // A new activity and a refresh: rows replaced, never duplicated.
        await insertActivities(
          company,
          [{ ...ACTIVITIES[0]!, employee_id: 101, started_at: new Date('2025-09-14T16:00:00Z'), ended_at: new Date('2025-09-14T17:00:00Z') }],
          NOW,
        );
        const second = await refreshRewards({ warehouse, company, settings, now: NOW });
        assert.equal(second.activities, ACTIVITIES.length + 1);
        const [again] = await warehouse.query(`SELECT count(*) AS n FROM rewards`);
        assert.equal(again?.n, 16);
        const [audrey] = await warehouse.query(`SELECT activities_12m, wellbeing_days FROM rewards WHERE year = 2025 AND employee_id = 101`);
        assert.deepEqual(audrey, { activities_12m: 15, wellbeing_days: 5 });
      } finally {
        if (combo.company === 'postgres') await company.close();
        await platform.warehouse.close();
      }
    });

    test("refreshes at once on two connections (a run's and the notifier's) all succeed, one after the other", async () => {
      const { platform, database } = await setup(combo);
      const { warehouse } = platform;
      // As the rewards-notifier stream makes its own (notifierStream.ts).
      const other = warehouse instanceof DuckDBWarehouse ? await warehouse.connection() : await openWarehouse(platform.config, { command: 'test' });
      const company = await openCompanyDb(database, warehouse);
      const otherCompany = database ? company : await openCompanyDb(undefined, other);
      try {
        await insertEmployees(company);
        await insertActivities(company, ACTIVITIES, NOW);
        const settings = settingsWith({ database });
        const outcomes = await Promise.allSettled(
          [warehouse, other, warehouse, other].map((w) =>
            refreshRewards({ warehouse: w, company: w === warehouse ? company : otherCompany, settings, now: NOW }),
          ),
        );
        assert.deepEqual(
          outcomes.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : [])),
          [],
        );
        const [counts] = await warehouse.query(
          `SELECT (SELECT count(*) FROM rewards) AS rewards, (SELECT count(*) FROM sport_activities) AS activities, (SELECT count(*) FROM rewards_employees) AS employees`,
        );
        assert.deepEqual(counts, { rewards: 16, activities: ACTIVITIES.length, employees: 8 });
      } finally {
        if (otherCompany !== company) await otherCompany.close();
        await company.close();
        await other.close();
        await warehouse.close();
      }
    });
  });
}
