import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { after, describe, test } from 'node:test';
import { generateActivityHistory, type SourceEmployee } from '../../../src/pipelines/rewards/activityHistory.js';
import { openCompanyDb, type CompanyDb } from '../../../src/pipelines/rewards/companyDb.js';
import { checkSourceActivity, pullActivities } from '../../../src/pipelines/rewards/pull.js';
import { startActivitySimulator, type ActivitySimulator } from '../../../src/pipelines/rewards/simulator.js';
import { startFaultProxy } from '../../helpers/faultProxy.js';
import { tempHome, withPlatform } from '../../helpers/platform.js';
import { skipUnless } from '../../helpers/warehouses.js';
import { freshCompanyDatabase } from './companyDbs.js';

const SPORTS = ['Runing', 'Randonnée', 'Tennis', 'Natation', 'Football', null];
/** 24 employees in the company database; the source knows all but the last (it answers 404 for that one). */
const EMPLOYEES: SourceEmployee[] = Array.from({ length: 24 }, (_, i) => ({ employee_id: 100 + i, declared_sport: SPORTS[i % SPORTS.length] ?? null }));
const KNOWN = EMPLOYEES.slice(0, -1);
const NOW = new Date('2025-09-15T10:00:00Z');
const SEED = 42;
const FAST = { backoffMs: 5, attempts: 3, timeoutMs: 5000 };

async function addEmployees(db: CompanyDb, employees: readonly SourceEmployee[]): Promise<void> {
  await db.transaction(async (tx) => {
    for (const e of employees) {
      await tx.execute(
        `INSERT INTO employees (employee_id, last_name, first_name, business_unit, gross_salary, contract, commute_mode, declared_sport, updated_at)
         VALUES ($1, $2, $3, 'R&D', 40000, 'CDI', 'Transports en commun', $4, $5)`,
        [e.employee_id, `Nom${e.employee_id}`, `Prénom${e.employee_id}`, e.declared_sport, db.instant(new Date())],
      );
    }
  });
}

async function countActivities(db: CompanyDb): Promise<number> {
  return Number((await db.query(`SELECT COUNT(*) AS n FROM activities`))[0]?.n);
}

/** The same story on either company database: history, nothing twice, a new activity once, faults, bad records. */
async function scenario(db: CompanyDb): Promise<void> {
  await addEmployees(db, EMPLOYEES);
  let now = NOW;
  const sim: ActivitySimulator = await startActivitySimulator({ employees: KNOWN, seed: SEED, now: () => now });
  const proxy = await startFaultProxy(sim.url);
  try {
    const history = generateActivityHistory(KNOWN, NOW, { seed: SEED });
    assert.ok(history.length > 100);

    // First pull: the whole history; the employee the source does not know is skipped, not fatal.
    const progress: number[] = [];
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const first = await pullActivities({ company: db, url: sim.url, concurrency: 4, log, progress: (done) => progress.push(done), ...FAST });
    const skipped = lines.map((l) => JSON.parse(l) as { level: number; employee_id?: number; msg: string }).filter((l) => l.level === 40);
    assert.deepEqual(
      skipped.map((l) => [l.employee_id, l.msg]),
      [[123, 'activity source does not know this employee: skipped']],
    );
    assert.deepEqual({ ...first, rejects: first.rejects.length }, { employees: 24, fetched: history.length, inserted: history.length, rejects: 0 });
    assert.equal(progress.length, 24);
    assert.equal(await countActivities(db), history.length);
    const stored = await db.query(
      `SELECT employee_id, started_at, ended_at, elapsed_s, sport, distance_m, comment, source FROM activities ORDER BY employee_id, started_at`,
    );
    const sample = history.find((a) => a.comment !== null && a.distance_m !== null)!;
    const row = stored.find((r) => Number(r.employee_id) === sample.employee_id && Date.parse(String(r.started_at)) === sample.started_at.getTime());
    assert.ok(row, 'a pulled activity, as the source gave it');
    assert.equal(Date.parse(String(row.ended_at)), sample.ended_at.getTime());
    assert.deepEqual(
      [Number(row.elapsed_s), row.sport, Number(row.distance_m), row.comment, row.source],
      [sample.elapsed_s, sample.sport, sample.distance_m, sample.comment, 'strava'],
    );

    // Second pull: nothing new, nothing twice.
    const second = await pullActivities({ company: db, url: sim.url, ...FAST });
    assert.equal(second.inserted, 0);
    // Only what started in the 2 days before each employee's latest is asked again, not the whole year.
    assert.ok(second.fetched < history.length / 10, `${second.fetched} fetched again`);
    assert.equal(await countActivities(db), history.length);

    // A new activity at the source: pulled once.
    now = new Date(NOW.getTime() + 3600_000);
    const live = sim.tick(101);
    assert.ok(live);
    const third = await pullActivities({ company: db, url: sim.url, ...FAST });
    assert.equal(third.inserted, 1);
    assert.equal((await pullActivities({ company: db, url: sim.url, ...FAST })).inserted, 0);
    const got = await db.query(`SELECT sport FROM activities WHERE employee_id = $1 AND started_at = $2`, [101, db.instant(live.started_at)]);
    assert.deepEqual(got, [{ sport: 'Randonnée' }]);

    // A source answering 500 twice, then a body cut mid-way, then 200: the pull goes through.
    now = new Date(NOW.getTime() + 2 * 3600_000);
    assert.ok(sim.tick(100));
    assert.ok(sim.tick(102));
    proxy.setRules([
      { fault: 'status-500', path: /^\/employee\/100\b/, failures: 2 },
      { fault: 'reset-response', path: /^\/employee\/102\b/, failures: 1 },
    ]);
    const faulty = await pullActivities({ company: db, url: proxy.endpoint, ...FAST });
    assert.equal(faulty.inserted, 2);
    assert.equal(proxy.injected()['status-500'], 2);
    assert.equal(proxy.injected()['reset-response'], 1);

    // Still failing after the retries: the pull fails, naming the URL, never the password.
    proxy.setRules([{ fault: 'status-500', path: /^\/employee\/103\b/, failures: Infinity }]);
    const withSecret = proxy.endpoint.replace('http://', 'http://reader:s3cr3t-pa55@');
    await assert.rejects(pullActivities({ company: db, url: withSecret, ...FAST }), (err: Error) => {
      assert.match(err.message, /activity source http:\/\/127\.0\.0\.1:\d+\/employee\/103\?after=\S+: HTTP 500 .*\(after 3 attempts\)/);
      assert.ok(!err.message.includes('s3cr3t'), err.message);
      return true;
    });
    proxy.setRules([]);

    // Bad records become rejects with their field and reason; the good ones around them load.
    now = new Date(NOW.getTime() + 3 * 3600_000);
    const good = sim.tick(104);
    assert.ok(good);
    const start = new Date(now.getTime() - 1800_000).toISOString();
    const end = now.toISOString();
    const bad: unknown[] = [
      { id_employee: 104, start_date: 'hier soir', end_date: end, sport: 'Tennis' },
      { id_employee: 104, end_date: end, sport: 'Tennis' },
      { id_employee: 104, start_date: end, end_date: start, sport: 'Tennis' },
      { id_employee: 104, start_date: start, end_date: end, sport: 'Runing', distance_m: -5 },
      { id_employee: 104, start_date: start, end_date: end, sport: '  ' },
      { id_employee: 105, start_date: start, end_date: end, sport: 'Tennis' },
      'not an activity',
      { id_employee: 104, start_date: start, elapsed_time: 1800, sport: 'Tennis', comment: 42 },
    ];
    for (const r of bad) sim.addRecord(104, r);
    const checked = await pullActivities({ company: db, url: sim.url, ...FAST });
    // The tick's activity and the last record (its comment dropped) load.
    assert.equal(checked.inserted, 2);
    const reasons = checked.rejects.map((r) => [r.row, r.field, r.value, r.reason, r.whole_record]);
    // Rows are positions in the answer for employee 104: the activities before the bad records come first.
    const answer = (await (await fetch(checked.rejects[0]!.file)).json()) as unknown[];
    const base = answer.length - bad.length;
    assert.ok(base >= 1);
    assert.deepEqual(reasons, [
      [base + 1, 'start_date', 'hier soir', 'not an ISO 8601 instant with an offset', true],
      [base + 2, 'start_date', null, 'missing', true],
      [base + 3, 'end_date', start, 'the activity ends before it starts', true],
      [base + 4, 'distance_m', '-5', 'negative', true],
      [base + 5, 'sport', '  ', 'empty', true],
      [base + 6, 'id_employee', '105', "the answer for employee 104 holds another employee's activity", true],
      [base + 7, null, 'not an activity', 'not an object', true],
      [base + 8, 'comment', '42', 'not text (dropped)', false],
    ]);
    assert.ok(checked.rejects.every((r) => r.file.startsWith(`${sim.url}/employee/104?after=`) && r.sheet === null));
    const declared = await db.query(`SELECT elapsed_s, comment FROM activities WHERE employee_id = 104 AND started_at = $1`, [db.instant(new Date(start))]);
    assert.deepEqual(
      declared.map((r) => [Number(r.elapsed_s), r.comment]),
      [[1800, null]],
    );
  } finally {
    await proxy.close();
    await sim.close();
  }
}

describe('activity pull', () => {
  const drops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const d of drops) await d();
  });

  test('embedded company database (warehouse DuckDB)', async () => {
    const home = await tempHome();
    await withPlatform(home, async (p) => {
      const db = await openCompanyDb(undefined, p.warehouse);
      await scenario(db);
    });
  });

  test('PostgreSQL company database', async (t) => {
    const skip = await skipUnless('postgres');
    if (skip) return t.skip(skip);
    const { url, drop } = await freshCompanyDatabase();
    drops.push(drop);
    const home = await tempHome();
    await withPlatform(home, async (p) => {
      const db = await openCompanyDb(url, p.warehouse);
      try {
        await scenario(db);
      } finally {
        await db.close();
      }
    });
  });

  test('a source that is not there fails the pull with its URL; an answer that is not an array too', async () => {
    const home = await tempHome();
    await withPlatform(home, async (p) => {
      const db = await openCompanyDb(undefined, p.warehouse);
      await addEmployees(db, EMPLOYEES.slice(0, 2));
      const sim = await startActivitySimulator({ employees: EMPLOYEES, seed: SEED, now: () => NOW });
      const url = sim.url;
      await sim.close();
      await assert.rejects(pullActivities({ company: db, url, ...FAST, attempts: 2 }), (err: Error) => {
        assert.match(err.message, new RegExp(`^activity source ${url}/employee/10[01]: .*\\(after 2 attempts\\)$`));
        return true;
      });
      // A source answering something else than the contract's array.
      const other = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"activities":[]}'));
      other.listen(0, '127.0.0.1');
      await once(other, 'listening');
      const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      try {
        await assert.rejects(
          pullActivities({ company: db, url: otherUrl, ...FAST }),
          new RegExp(`^ActivitySourceError: activity source ${otherUrl}/employee/10[01]: the answer is not a JSON array of activities$`),
        );
      } finally {
        other.close();
      }
    });
  });

  test('checks: elapsed time instead of an end, starts in the future refused', () => {
    const now = Date.parse('2025-09-15T10:00:00Z');
    const ok = checkSourceActivity(
      { id_employee: '7', start_date: '2025-09-14T18:00:00+02:00', elapsed_time: 3600, sport: 'Judo', distance_m: null },
      7,
      'u',
      1,
      now,
    );
    assert.ok(ok.ok);
    assert.equal(ok.activity.started_at.toISOString(), '2025-09-14T16:00:00.000Z');
    assert.equal(ok.activity.ended_at.toISOString(), '2025-09-14T17:00:00.000Z');
    const future = checkSourceActivity({ id_employee: 7, start_date: '2025-09-16T18:00:00Z', elapsed_time: 60, sport: 'Judo' }, 7, 'u', 2, now);
    assert.ok(!future.ok);
    assert.deepEqual([future.reject.field, future.reject.reason, future.reject.row], ['start_date', 'in the future', 2]);
    const neither = checkSourceActivity({ id_employee: 7, start_date: '2025-09-14T18:00:00Z', sport: 'Judo' }, 7, 'u', 3, now);
    assert.ok(!neither.ok);
    assert.equal(neither.reject.field, 'end_date');
  });
});
