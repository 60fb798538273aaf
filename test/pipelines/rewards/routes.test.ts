import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Pipeline, Platform } from '../../../src/pipelines/kit/pipeline.js';
import { approveEmployee } from '../../../src/pipelines/rewards/approve.js';
import { insertActivities, openCompanyDb, type CompanyDb } from '../../../src/pipelines/rewards/companyDb.js';
import { createRewardsTables, refreshRewards } from '../../../src/pipelines/rewards/refresh.js';
import { rewardsRoutes } from '../../../src/pipelines/rewards/routes.js';
import { yearOf } from '../../../src/pipelines/rewards/rules.js';
import { wallClock } from '../../../src/time/zones.js';
import { buildApp } from '../../../src/server/app.js';
import { openPlatform, tempHome } from '../../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../../helpers/warehouses.js';
import { ACTIVITIES, insertEmployees, NOW, RULES, settingsWith } from './rulesFixture.js';

type Row = Record<string, unknown>;
const TOKEN = 'rewards-routes-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

/** The rewards routes mounted the way the server mounts a registered pipeline's. */
const rewardsOnly: Pipeline = {
  name: 'rewards',
  description: 'test: the rewards routes alone',
  schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris' },
  run: () => Promise.resolve(),
  datasets: [],
  createTables: createRewardsTables,
  routes: () => Promise.resolve(rewardsRoutes),
};

const homes: string[] = [];
after(() => dropSchemas(homes));

test('before any refresh: empty answers, not errors', async (t) => {
  const platform = await openPlatform(await tempHome('ecluse-rewards-routes-empty-'), { ECLUSE_API_TOKEN: TOKEN });
  const app = await buildApp({ platform, logger: false, pipelines: new Map([['rewards', rewardsOnly]]) });
  t.after(async () => {
    await app.close();
    await platform.warehouse.close();
  });
  const get = async (url: string) => {
    const r = await app.inject({ url, headers: auth });
    assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
    return r.json<Row>();
  };
  assert.equal((await get('/rewards/summary?year=2025')).employees, 0);
  assert.deepEqual(await get('/rewards?year=2025'), { year: 2025, items: [], total: 0, limit: 1000, offset: 0 });
  assert.deepEqual(await get('/rewards/inconsistencies?year=2025'), { year: 2025, items: [] });
  assert.deepEqual(await get('/sport/activities/monthly'), { items: [] });
  assert.equal((await app.inject({ url: '/rewards/employees/1', headers: auth })).statusCode, 404);

  // The OpenAPI document (the dashboard's types come from it) describes them, the write with its token and body.
  const doc = app.swagger() as unknown as {
    paths: Record<string, Record<string, { security?: unknown; requestBody?: unknown; responses: Record<string, unknown> }>>;
  };
  for (const path of [
    '/rewards/summary',
    '/rewards',
    '/rewards/employees/{id}',
    '/rewards/inconsistencies',
    '/sport/activities',
    '/sport/activities/monthly',
    '/rewards/notifications',
  ]) {
    assert.ok(doc.paths[path]?.get?.responses['200'], path);
  }
  const write = doc.paths['/rewards/activities']?.post;
  assert.deepEqual(write?.security, [{ bearer: [] }]);
  assert.ok(write?.requestBody && write.responses['201'] && write.responses['400']);
  assert.equal(doc.paths['/rewards']?.get?.security, undefined);
});

for (const kind of ['duckdb', 'postgres'] as WarehouseKind[]) {
  describe(`rewards API on ${kind}`, { skip: await skipUnless(kind) }, () => {
    let platform: Platform;
    let company: CompanyDb;
    let app: FastifyInstance;
    const get = async <T = Row>(url: string, status = 200): Promise<T> => {
      const r = await app.inject({ url, headers: auth });
      assert.equal(r.statusCode, status, `${url}: ${r.body}`);
      return r.json<T>();
    };
    const post = (payload: unknown, headers: Record<string, string> = auth) =>
      app.inject({ method: 'POST', url: '/rewards/activities', headers, payload: payload as object });

    before(async () => {
      const home = await tempHome('ecluse-rewards-routes-');
      homes.push(home);
      platform = await openPlatform(home, { ECLUSE_WAREHOUSE: warehouseFor(kind, home), ECLUSE_API_TOKEN: TOKEN });
      const { warehouse } = platform;
      company = await openCompanyDb(undefined, warehouse);
      await insertEmployees(company);
      await insertActivities(company, ACTIVITIES, NOW);
      await refreshRewards({ warehouse, company, settings: settingsWith(), now: NOW });
      await approveEmployee({ warehouse, employeeId: 102, by: 'rh.dupont', note: 'checked with her', now: new Date('2025-09-15T12:00:00Z'), rules: RULES });
      await warehouse.execute(
        `INSERT INTO rewards_notifications (activity_key, event_id, employee_id, started_at, message, status, attempts, last_error, next_attempt_at, created_at, sent_at)
         VALUES ('101:2025-09-08T10:00:00.000Z', 'e1', 101, CAST('2025-09-08 10:00:00' AS TIMESTAMP), 'Bravo Audrey Colin !', 'sent', 1, NULL, NULL,
                 CAST('2025-09-08 11:00:00' AS TIMESTAMP), CAST('2025-09-08 11:00:01' AS TIMESTAMP)),
                ('103:2025-09-08T10:00:00.000Z', 'e2', 103, CAST('2025-09-08 10:00:00' AS TIMESTAMP), 'Bravo Louis Petit !', 'dead', 5, 'HTTP 500', NULL,
                 CAST('2025-09-08 11:00:02' AS TIMESTAMP), NULL)`,
      );
      app = await buildApp({ platform, logger: false, pipelines: new Map([['rewards', rewardsOnly]]) });
    });
    after(async () => {
      await app?.close();
      await platform?.warehouse.close();
    });

    test('GET /rewards/summary: the year’s totals; the current year (Paris) by default', async () => {
      assert.deepEqual(await get('/rewards/summary?year=2025'), {
        year: 2025,
        employees: 8,
        // 101, 102 (approved), 103, 107 (unchecked), 108: 1 547 + 1 547 + 2 061.73 + 1 400 + 1 666.67.
        bonus_employees: 5,
        bonus_total_eur: 8222.4,
        bonus_withheld_eur: 2600,
        wellbeing_employees: 2,
        wellbeing_days_total: 10,
        inconsistencies: 1,
        unchecked: 1,
      });
      const current = await get('/rewards/summary');
      assert.equal(current.year, yearOf(new Date()));
    });

    test('GET /rewards: one row per employee by name, paged; a read token is needed', async () => {
      assert.equal((await app.inject('/rewards?year=2025')).statusCode, 401);
      const page = await get<{ year: number; items: Row[]; total: number; limit: number; offset: number }>('/rewards?year=2025&limit=3&offset=1');
      assert.deepEqual([page.year, page.total, page.limit, page.offset], [2025, 8, 3, 1]);
      assert.deepEqual(
        page.items.map((r) => r.last_name),
        ['Colin', 'Faure', 'Garnier'],
      );
      const audrey = page.items[0]!;
      assert.deepEqual(audrey, {
        year: 2025,
        employee_id: 101,
        first_name: 'Audrey',
        last_name: 'Colin',
        business_unit: 'Marketing',
        commute_mode: 'Marche/running',
        gross_salary: 30940,
        distance_km: 14.9,
        distance_source: 'hr-file',
        distance_status: 'checked',
        bonus_eligible: true,
        bonus_reason: 'Marche/running, 14.9 km ≤ 15 km: 5 % of 30 940 € = 1 547.00 €',
        bonus_eur: 1547,
        bonus_withheld_eur: 0,
        activities_12m: 14,
        wellbeing_days: 0,
        computed_at: '2025-09-15T10:00:00Z',
      });
    });

    test('GET /rewards/employees/{id}: HR data, rewards latest year first, the approval, latest activities', async () => {
      const juliette = await get<{ employee: Row; rewards: Row[]; approval: Row | null; activities: Row[] }>('/rewards/employees/102');
      assert.equal(juliette.employee.home_address, '3 Rue de la Loge, 34000 Montpellier');
      assert.equal(juliette.employee.hired_on, '2020-12-14');
      assert.deepEqual(
        juliette.rewards.map((r) => [r.year, r.distance_status, r.bonus_eur]),
        [
          [2025, 'approved', 1547],
          [2024, 'approved', 1547],
        ],
      );
      assert.deepEqual(juliette.approval, {
        approved_by: 'rh.dupont',
        approved_at: '2025-09-15T12:00:00Z',
        note: 'checked with her',
        commute_mode: 'Marche/running',
        home_address: '3 Rue de la Loge, 34000 Montpellier',
        distance_km: 15.1,
      });
      const louis = await get<{ activities: Row[]; approval: null }>('/rewards/employees/103');
      assert.equal(louis.approval, null);
      assert.equal(louis.activities.length, 15);
      assert.deepEqual(louis.activities[0], {
        employee_id: 103,
        first_name: 'Louis',
        last_name: 'Petit',
        started_at: '2025-09-08T10:00:00Z',
        ended_at: '2025-09-08T11:00:00Z',
        elapsed_s: 3600,
        sport: 'Runing',
        distance_m: 10000,
        comment: null,
        source: 'strava',
      });
      assert.equal(louis.activities[14]?.started_at, '2024-09-15T10:00:01Z');
      await get('/rewards/employees/999', 404);
    });

    test('GET /rewards/inconsistencies: over the limit, with the distance, the limit and why', async () => {
      assert.deepEqual(await get('/rewards/inconsistencies?year=2025'), {
        year: 2025,
        items: [
          {
            employee_id: 104,
            first_name: 'Emma',
            last_name: 'Roux',
            business_unit: 'Marketing',
            commute_mode: 'Vélo/Trottinette/Autres',
            home_address: '10 Quai de Bosc, 34200 Sète',
            distance_km: 25.1,
            limit_km: 25,
            reason: 'Vélo/Trottinette/Autres, 25.1 km > 25 km: inconsistent declaration, bonus of 2 600.00 € withheld until HR approves it',
            bonus_withheld_eur: 2600,
          },
        ],
      });
    });

    test('GET /sport/activities and /monthly: Paris days, sport filter, paging; months counted in Paris', async () => {
      const page = await get<{ items: Row[]; total: number }>('/sport/activities?from=2025-09-01&to=2025-09-14&sport=Runing&limit=5');
      // 1 and 8 September, 10:00Z, for 101, 103, 105 and 106.
      assert.equal(page.total, 8);
      assert.equal(page.items.length, 5);
      assert.deepEqual(
        page.items.map((r) => [r.started_at, r.employee_id]),
        [
          ['2025-09-08T10:00:00Z', 101],
          ['2025-09-08T10:00:00Z', 103],
          ['2025-09-08T10:00:00Z', 105],
          ['2025-09-08T10:00:00Z', 106],
          ['2025-09-01T10:00:00Z', 101],
        ],
      );
      assert.equal((await get<{ total: number }>('/sport/activities?sport=Tennis')).total, 0);
      assert.equal((await get<{ total: number }>('/sport/activities?from=2024-09-15&to=2024-09-15')).total, 2);
      const bad = await get<Row>('/sport/activities?from=2025-02-30', 400);
      assert.match(String(bad.message), /from must be a calendar day/);

      const monthly = await get<{ items: Row[] }>('/sport/activities/monthly?from=2025-06-01&to=2025-09-30');
      const expected = new Map<string, number>();
      for (const a of ACTIVITIES) {
        const w = wallClock(a.started_at.getTime(), 'Europe/Paris');
        const month = `${w.year}-${String(w.month).padStart(2, '0')}`;
        if (month >= '2025-06') expected.set(month, (expected.get(month) ?? 0) + 1);
      }
      assert.deepEqual(
        monthly.items.map((r) => [r.month, r.sport, r.activities, r.hours, r.distance_km]),
        [...expected].sort().map(([m, n]) => [m, 'Runing', n, n, n * 10]),
      );
    });

    test('GET /rewards/notifications: counts by status, the feed, a status filter', async () => {
      const all = await get<{ counts: Row; items: Row[]; total: number }>('/rewards/notifications');
      assert.deepEqual(all.counts, { pending: 0, sending: 0, sent: 1, dead: 1, unconfirmed: 0, skipped: 0 });
      assert.deepEqual(
        all.items.map((r) => r.activity_key),
        ['103:2025-09-08T10:00:00.000Z', '101:2025-09-08T10:00:00.000Z'],
      );
      const dead = await get<{ items: Row[]; total: number }>('/rewards/notifications?status=dead');
      assert.equal(dead.total, 1);
      assert.deepEqual(dead.items[0], {
        activity_key: '103:2025-09-08T10:00:00.000Z',
        employee_id: 103,
        started_at: '2025-09-08T10:00:00Z',
        message: 'Bravo Louis Petit !',
        status: 'dead',
        attempts: 5,
        last_error: 'HTTP 500',
        created_at: '2025-09-08T11:00:02Z',
        sent_at: null,
      });
      await get('/rewards/notifications?status=lost', 400);
    });

    test('POST /rewards/activities: a write token, a valid body, a known employee; inserted once into the company database', async () => {
      const body = { employee_id: 101, started_at: '2025-09-14T18:00:00+02:00', elapsed_s: 5400, sport: 'Randonnée', distance_m: 12000, comment: ' col ' };
      assert.equal((await post(body, {})).statusCode, 401);
      const created = await post(body);
      assert.equal(created.statusCode, 201, created.body);
      assert.deepEqual(created.json(), { activity_key: '101:2025-09-14T16:00:00.000Z', inserted: true });
      const again = await post({ ...body, ended_at: '2025-09-14T19:00:00+02:00', elapsed_s: undefined });
      assert.equal(again.statusCode, 201);
      assert.deepEqual(again.json(), { activity_key: '101:2025-09-14T16:00:00.000Z', inserted: false });
      const rows = await company.query(
        `SELECT employee_id, started_at, ended_at, elapsed_s, sport, distance_m, comment, source FROM activities WHERE source = 'declared'`,
      );
      assert.deepEqual(rows, [
        {
          employee_id: 101,
          started_at: '2025-09-14T16:00:00Z',
          ended_at: '2025-09-14T17:30:00Z',
          elapsed_s: 5400,
          sport: 'Randonnée',
          distance_m: 12000,
          comment: 'col',
          source: 'declared',
        },
      ]);
      // The embedded capture's log carries it, for the notifier.
      const logged = await company.query(`SELECT count(*) AS n FROM activity_changes`);
      assert.equal(logged[0]?.n, ACTIVITIES.length + 1);

      const refused = async (payload: unknown, message: RegExp) => {
        const r = await post(payload);
        assert.equal(r.statusCode, 400, r.body);
        assert.match(String(r.json<Row>().message), message);
      };
      const base = { employee_id: 101, started_at: '2025-09-15T18:00:00Z', sport: 'Tennis' };
      await refused({ ...base, employee_id: 999, elapsed_s: 60 }, /employee 999 is not in the company's employees/);
      await refused({ ...base, sport: '  ', elapsed_s: 60 }, /sport must not be empty/);
      await refused({ ...base, ended_at: '2025-09-15T17:00:00Z' }, /ended_at .* must be after started_at/);
      await refused({ ...base, ended_at: '2025-09-15T18:00:00Z' }, /ended_at .* must be after started_at/);
      await refused({ ...base, elapsed_s: 0 }, /elapsed_s must be greater than 0/);
      await refused(base, /give ended_at or elapsed_s/);
      await refused({ ...base, elapsed_s: 60, distance_m: -1 }, /distance_m must be 0 or more/);
      await refused({ ...base, started_at: '2025-09-15 18:00', elapsed_s: 60 }, /started_at must be an ISO 8601 instant with a zone/);
      await refused({ ...base, elapsed_s: 60, extra: 1 }, /./);
      await refused({ ...base, employee_id: 'x', elapsed_s: 60 }, /./);
    });

    test("POST /rewards/activities while a run's transaction is open on the server's connection: its own write, kept when the run rolls back", async () => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const run = platform.warehouse.transaction(async () => {
        await platform.warehouse.execute(`UPDATE rewards_notifications SET attempts = attempts + 1 WHERE status = 'dead'`);
        entered();
        await held;
        throw new Error('the run failed');
      });
      await inside;
      const declared = await post({ employee_id: 104, started_at: '2025-09-16T18:00:00Z', elapsed_s: 600, sport: 'Tennis' });
      release();
      await assert.rejects(run, /the run failed/);
      assert.equal(declared.statusCode, 201, declared.body);
      const [kept] = await company.query(`SELECT count(*) AS n FROM activities WHERE employee_id = 104 AND sport = 'Tennis' AND source = 'declared'`);
      assert.equal(kept?.n, 1, 'the declaration outlived the rolled-back run');
      const [dead] = await platform.warehouse.query(`SELECT attempts FROM rewards_notifications WHERE status = 'dead'`);
      assert.equal(dead?.attempts, 5, "the run's own write rolled back");
    });
  });
}
