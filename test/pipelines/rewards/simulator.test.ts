import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { generateActivityHistory, toSourceActivity, type SourceActivity } from '../../../src/pipelines/rewards/activityHistory.js';
import { parseEvery, simulateActivitiesCommand, startActivitySimulator } from '../../../src/pipelines/rewards/simulator.js';

const EMPLOYEES = [
  { employee_id: 1, declared_sport: 'Runing' },
  { employee_id: 2, declared_sport: 'Tennis' },
  { employee_id: 3, declared_sport: null },
];
const NOW = new Date('2025-09-15T10:00:00Z');

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as unknown };
}

describe('activity simulator', () => {
  test('GET /employee/{id}: the seeded history, ?after filters, unknown employee 404, bad input 400', async () => {
    const sim = await startActivitySimulator({ employees: EMPLOYEES, seed: 11, now: () => NOW });
    try {
      assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await getJson(`${sim.url}/health`);
      assert.deepEqual(health, { status: 200, body: { status: 'ok', employees: 3, practising: 2 } });

      const expected = generateActivityHistory([EMPLOYEES[0]!], NOW, { seed: 11 }).map(toSourceActivity);
      assert.ok(expected.length > 0);
      const all = await getJson(`${sim.url}/employee/1`);
      assert.equal(all.status, 200);
      assert.deepEqual(all.body, expected);

      const cut = expected[Math.floor(expected.length / 2)]!.start_date;
      const later = (await getJson(`${sim.url}/employee/1?after=${encodeURIComponent(cut)}`)).body as SourceActivity[];
      assert.deepEqual(
        later,
        expected.filter((a) => a.start_date > cut),
      );
      assert.ok(later.length > 0 && later.length < expected.length);

      assert.deepEqual(await getJson(`${sim.url}/employee/3`), { status: 200, body: [] });
      const unknown = await getJson(`${sim.url}/employee/99`);
      assert.equal(unknown.status, 404);
      assert.deepEqual(unknown.body, { error: 'not_found', message: 'unknown employee 99' });
      assert.equal((await getJson(`${sim.url}/employee/abc`)).status, 400);
      assert.equal((await getJson(`${sim.url}/employee/1?after=yesterday`)).status, 400);
      assert.equal((await getJson(`${sim.url}/nothing`)).status, 404);
    } finally {
      await sim.close();
    }
  });

  test('tick and addActivity: new activities served after the last one, once each', async () => {
    let now = NOW;
    const sim = await startActivitySimulator({ employees: EMPLOYEES, seed: 11, now: () => now });
    try {
      const before = (await getJson(`${sim.url}/employee/2`)).body as SourceActivity[];
      const last = before.at(-1)!.start_date;
      now = new Date(NOW.getTime() + 3 * 3600_000);
      const a = sim.tick(2);
      assert.ok(a);
      assert.equal(a.sport, 'Tennis');
      assert.equal(a.distance_m, null);
      assert.equal(a.ended_at.getTime(), now.getTime());
      assert.equal(sim.addActivity(a), false, 'the same key twice');
      const after = (await getJson(`${sim.url}/employee/2?after=${encodeURIComponent(last)}`)).body as SourceActivity[];
      assert.deepEqual(after, [toSourceActivity(a)]);
      // An activity that has not ended yet is not served.
      assert.equal(sim.addActivity({ ...a, started_at: new Date(now.getTime() + 60_000), ended_at: new Date(now.getTime() + 3_600_000) }), true);
      assert.equal(((await getJson(`${sim.url}/employee/2?after=${encodeURIComponent(last)}`)).body as unknown[]).length, 1);
      sim.addRecord(2, { id_employee: 2, start_date: 'broken' });
      const raw = (await getJson(`${sim.url}/employee/2?after=${encodeURIComponent(last)}`)).body as unknown[];
      assert.deepEqual(raw.at(-1), { id_employee: 2, start_date: 'broken' });
    } finally {
      await sim.close();
    }
  });

  test('live: activities appear as time goes by, for practising employees only', async () => {
    const sim = await startActivitySimulator({ employees: EMPLOYEES, seed: 5, liveEveryMs: 20 });
    try {
      const since = new Date(Date.now() - 4 * 3600_000).toISOString();
      const count = async () => {
        const lists = await Promise.all([1, 2, 3].map(async (id) => (await getJson(`${sim.url}/employee/${id}?after=${since}`)).body as SourceActivity[]));
        return lists.map((l) => l.filter((a) => Date.parse(a.end_date) > Date.now() - 60_000).length);
      };
      const deadline = Date.now() + 5000;
      let recent = await count();
      while (recent[0]! + recent[1]! < 3 && Date.now() < deadline) {
        await sleep(50);
        recent = await count();
      }
      assert.ok(recent[0]! + recent[1]! >= 3, `live activities: ${recent.join(',')}`);
      assert.equal(recent[2], 0);
    } finally {
      await sim.close();
    }
  });

  test('the command prints where it listens and how to point ecluse at it', async () => {
    const lines: string[] = [];
    const sim = await simulateActivitiesCommand({ port: '0', seed: '3', live: '1m' }, EMPLOYEES, (l) => lines.push(l));
    try {
      const text = lines.join('\n');
      assert.ok(text.includes(`ECLUSE_REWARDS_ACTIVITIES_URL=${sim.url}`), text);
      assert.match(text, /3 employees, 2 practising a sport; seed 3; a new activity every 60 s/);
      assert.equal((await fetch(`${sim.url}/health`)).status, 200);
    } finally {
      await sim.close();
    }
    await assert.rejects(
      simulateActivitiesCommand({ port: 'http' }, EMPLOYEES, () => {}),
      /--port: expected an integer/,
    );
    assert.equal(parseEvery('500ms'), 500);
    assert.equal(parseEvery('30'), 30_000);
    assert.equal(parseEvery('2m'), 120_000);
    assert.throws(() => parseEvery('soon'), /--live: not a duration/);
  });
});
