import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chainDistances, haversineKm, hrFileDistances, noDistances } from '../../../src/pipelines/rewards/distance.js';
import {
  activityWindow,
  approvalMatches,
  computeReward,
  countInWindow,
  formatAmount,
  percentOfCents,
  yearOf,
  type RewardEmployee,
} from '../../../src/pipelines/rewards/rules.js';
import { computeRewards, employeeOf } from '../../../src/pipelines/rewards/refresh.js';
import { ACTIVITIES, EDGE, EMPLOYEES, EXPECTED_2025, NOW, RULES } from './rulesFixture.js';

const audrey: RewardEmployee = {
  employee_id: 59019,
  first_name: 'Audrey',
  last_name: 'Colin',
  business_unit: 'Marketing',
  commute_mode: 'Vélo/Trottinette/Autres',
  gross_salary: 30940,
  home_address: '128 Rue du Port, 34000 Frontignan',
};
const input = (over: Partial<Parameters<typeof computeReward>[0]> = {}) => ({
  year: 2025,
  employee: audrey,
  distance: { km: 12.4, source: 'hr-file' as const, reason: null },
  activities12m: 3,
  approval: null,
  computedAt: NOW,
  ...over,
});

test('the bonus: both active modes paid (the old off-by-one paid bikes only), in cents, with a reason HR reads', () => {
  const bike = computeReward(input(), RULES);
  assert.equal(bike.distance_status, 'checked');
  assert.equal(bike.bonus_eligible, true);
  assert.equal(bike.bonus_eur, 1547);
  assert.equal(bike.bonus_reason, 'Vélo/Trottinette/Autres, 12.4 km ≤ 25 km: 5 % of 30 940 € = 1 547.00 €');
  const walk = computeReward(input({ employee: { ...audrey, commute_mode: 'Marche/running' } }), RULES);
  assert.deepEqual([walk.distance_status, walk.bonus_eur], ['checked', 1547]);
  assert.equal(walk.bonus_reason, 'Marche/running, 12.4 km ≤ 15 km: 5 % of 30 940 € = 1 547.00 €');
  for (const mode of ['Transports en commun', 'véhicule thermique/électrique']) {
    const r = computeReward(input({ employee: { ...audrey, commute_mode: mode } }), RULES);
    assert.deepEqual([r.distance_status, r.bonus_eligible, r.bonus_eur, r.bonus_withheld_eur], ['not-applicable', false, 0, 0], mode);
    assert.match(r.bonus_reason, /earns no sport bonus/);
  }
  assert.equal(percentOfCents(41234.57, 5), 206173);
  assert.equal(percentOfCents(33333.33, 5), 166667);
  assert.equal(percentOfCents(30000, 2.5), 75000);
  assert.equal(formatAmount(1234567.891, 2), '1 234 567.89');
  assert.equal(computeReward(input({ employee: { ...audrey, gross_salary: 41234.57 } }), RULES).bonus_eur, 2061.73);
  assert.equal(computeReward(input(), { ...RULES, bonusPercent: 7 }).bonus_eur, 2165.8);
});

test('the distance limits: at the limit checked, over it inconsistent and withheld; no distance unchecked and paid', () => {
  const at = (km: number, mode = 'Vélo/Trottinette/Autres') =>
    computeReward(input({ employee: { ...audrey, commute_mode: mode }, distance: { km, source: 'hr-file', reason: null } }), RULES);
  assert.equal(at(25).distance_status, 'checked');
  assert.equal(at(24.9).distance_status, 'checked');
  const over = at(25.1);
  assert.deepEqual([over.distance_status, over.bonus_eligible, over.bonus_eur, over.bonus_withheld_eur], ['inconsistent', false, 0, 1547]);
  assert.equal(over.bonus_reason, 'Vélo/Trottinette/Autres, 25.1 km > 25 km: inconsistent declaration, bonus of 1 547.00 € withheld until HR approves it');
  assert.equal(at(14.9, 'Marche/running').distance_status, 'checked');
  assert.equal(at(15.1, 'Marche/running').distance_status, 'inconsistent');
  const unchecked = computeReward(input({ distance: { km: null, source: null, reason: 'no home address' } }), RULES);
  assert.deepEqual([unchecked.distance_status, unchecked.bonus_eur, unchecked.distance_source], ['unchecked', 1547, null]);
  assert.match(unchecked.bonus_reason, /distance unchecked \(no home address\)/);
});

test('an approval pays an inconsistent declaration only for the mode and address it approved', () => {
  const far = { km: 31.2, source: 'geocoder' as const, reason: null };
  const approval = { commute_mode: audrey.commute_mode, home_address: ' 128 Rue du Port,  34000 Frontignan', approved_by: 'rh.dupont', approved_at: NOW };
  const ok = computeReward(input({ distance: far, approval }), RULES);
  assert.deepEqual([ok.distance_status, ok.bonus_eligible, ok.bonus_eur, ok.bonus_withheld_eur], ['approved', true, 1547, 0]);
  assert.equal(ok.bonus_reason, 'Vélo/Trottinette/Autres, 31.2 km > 25 km, approved by rh.dupont on 2025-09-15: 5 % of 30 940 € = 1 547.00 €');
  const moved = computeReward(input({ distance: far, approval, employee: { ...audrey, home_address: '1 Rue Neuve, 34000 Montpellier' } }), RULES);
  assert.equal(moved.distance_status, 'inconsistent');
  assert.equal(approvalMatches(approval, { ...audrey, commute_mode: 'Marche/running' }), false);
});

test('the 12-month window: (reference − 12 months, reference], reference = min(now, end of the year in Paris)', () => {
  const now = activityWindow(2025, NOW);
  assert.deepEqual([now.from.toISOString(), now.to.toISOString()], [EDGE.toISOString(), NOW.toISOString()]);
  assert.equal(countInWindow([EDGE], now), 0, 'exactly at the edge: out');
  assert.equal(countInWindow([new Date(EDGE.getTime() + 1)], now), 1, 'just inside: in');
  assert.equal(countInWindow([NOW], now), 1, 'now itself: in');
  assert.equal(countInWindow([new Date(NOW.getTime() + 1)], now), 0, 'after now: out');
  // A past year is its calendar year in Paris.
  const y2024 = activityWindow(2024, NOW);
  assert.equal(y2024.to.toISOString(), '2024-12-31T22:59:59.999Z');
  assert.equal(countInWindow([new Date('2023-12-31T22:59:59.999Z')], y2024), 0, '31 Dec 2023 23:59:59.999 Paris');
  assert.equal(countInWindow([new Date('2023-12-31T23:00:00.000Z')], y2024), 1, '1 Jan 2024 00:00 Paris');
  assert.equal(countInWindow([new Date('2024-12-31T22:59:59.999Z')], y2024), 1);
  assert.equal(countInWindow([new Date('2024-12-31T23:00:00.000Z')], y2024), 0, '1 Jan 2025 00:00 Paris');
  // 12 months on the wall clock: 30 March 2025 noon (CEST) ← 30 March 2024 noon (still CET).
  assert.equal(activityWindow(2025, new Date('2025-03-30T10:00:00Z')).from.toISOString(), '2024-03-30T11:00:00.000Z');
  assert.equal(activityWindow(2028, new Date('2028-02-29T11:00:00Z')).from.toISOString(), '2027-02-28T11:00:00.000Z');
  assert.equal(yearOf(new Date('2024-12-31T23:30:00Z')), 2025);
});

test('the HR fixture: each mode, both limits, a missing address, 14 vs 15 activities, the window edge', async () => {
  const distances = await chainDistances([hrFileDistances, noDistances]).distances(EMPLOYEES);
  assert.deepEqual(distances.get(107), { km: null, source: null, reason: 'no distance in the HR file and no geocoder configured' });
  const times = new Map<number, number[]>();
  for (const a of ACTIVITIES) times.set(a.employee_id, [...(times.get(a.employee_id) ?? []), a.started_at.getTime()]);
  const rows = computeRewards({
    employees: EMPLOYEES.map((e) => employeeOf({ ...e })),
    activityTimes: times,
    distances,
    approvals: new Map(),
    years: [2024, 2025],
    rules: RULES,
    now: NOW,
  });
  for (const [id, want] of Object.entries(EXPECTED_2025)) {
    const r = rows.find((x) => x.year === 2025 && x.employee_id === Number(id));
    assert.deepEqual(
      [r?.distance_status, r?.bonus_eur, r?.bonus_withheld_eur, r?.activities_12m, r?.wellbeing_days],
      [want.status, want.bonus, want.withheld, want.activities, want.days],
      `employee ${id}`,
    );
  }
  // 2024 counts its calendar year: the activity at the edge and the one just after.
  assert.equal(rows.find((x) => x.year === 2024 && x.employee_id === 106)?.activities_12m, 1);
  assert.equal(rows.find((x) => x.year === 2024 && x.employee_id === 103)?.activities_12m, 1);
});

test('haversine: Montpellier → Lattes, and the chain asks the next provider only for employees still without a distance', async () => {
  const km = haversineKm([3.8767, 43.6108], [3.9035, 43.5676]);
  assert.ok(km > 5 && km < 5.5, String(km));
  const asked: number[] = [];
  const chain = chainDistances([
    hrFileDistances,
    {
      name: 'probe',
      distances: (es) => {
        asked.push(...es.map((e) => e.employee_id));
        return Promise.resolve(new Map(es.map((e) => [e.employee_id, { km: 7, source: 'geocoder' as const, reason: null }])));
      },
    },
  ]);
  const got = await chain.distances([
    { employee_id: 1, home_address: 'a', declared_distance_km: 3.04 },
    { employee_id: 2, home_address: 'b', declared_distance_km: null },
  ]);
  assert.deepEqual(asked, [2]);
  assert.deepEqual(got.get(1), { km: 3, source: 'hr-file', reason: null });
  assert.deepEqual(got.get(2), { km: 7, source: 'geocoder', reason: null });
});
