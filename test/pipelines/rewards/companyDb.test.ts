import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { activityKey, insertActivities, openCompanyDb, type Activity } from '../../../src/pipelines/rewards/companyDb.js';
import { tempHome, withPlatform } from '../../helpers/platform.js';
import { skipUnless } from '../../helpers/warehouses.js';
import { freshCompanyDatabase } from './companyDbs.js';

function activity(employee: number, iso: string, sport = 'Runing'): Activity {
  const started = new Date(iso);
  return {
    employee_id: employee,
    started_at: started,
    ended_at: new Date(started.getTime() + 3600_000),
    elapsed_s: 3600,
    sport,
    distance_m: 10_000,
    comment: null,
    source: 'strava',
  };
}

const pgSkip = await skipUnless('postgres');

describe('company database', () => {
  const drops: (() => Promise<void>)[] = [];
  after(async () => {
    for (const d of drops) await d();
  });
  const freshDatabase = async () => {
    const { url, drop } = await freshCompanyDatabase();
    drops.push(drop);
    return url;
  };

  test('embedded: migrated once, activities inserted once per key, each new one logged as a change', async () => {
    const home = await tempHome();
    await withPlatform(home, async (p) => {
      const db = await openCompanyDb(undefined, p.warehouse);
      const again = await openCompanyDb(undefined, p.warehouse);
      assert.deepEqual(await db.query('SELECT version FROM rewards_migrations'), [{ version: 1 }]);
      const a = activity(1, '2025-08-17T08:00:00Z');
      assert.equal(await insertActivities(db, [a, a, activity(2, '2025-08-17T08:00:00Z')]), 2);
      assert.equal(await insertActivities(again, [a, activity(1, '2025-08-18T08:00:00Z')]), 1);
      const changes = await db.query('SELECT seq, op, after FROM activity_changes ORDER BY seq');
      assert.equal(changes.length, 3);
      const keys = changes.map((c) => {
        const after = (typeof c.after === 'string' ? JSON.parse(c.after) : c.after) as { employee_id: number; started_at: string };
        return activityKey(after.employee_id, after.started_at);
      });
      assert.deepEqual(keys, ['1:2025-08-17T08:00:00.000Z', '2:2025-08-17T08:00:00.000Z', '1:2025-08-18T08:00:00.000Z']);
      const rows = await db.query('SELECT employee_id, started_at FROM activities ORDER BY started_at, employee_id');
      assert.deepEqual(rows, [
        { employee_id: 1, started_at: '2025-08-17T08:00:00Z' },
        { employee_id: 2, started_at: '2025-08-17T08:00:00Z' },
        { employee_id: 1, started_at: '2025-08-18T08:00:00Z' },
      ]);
    });
  });

  test('PostgreSQL: its own tables by migration, duplicates ignored', { skip: pgSkip }, async () => {
    const url = await freshDatabase();
    const home = await tempHome();
    await withPlatform(home, async (p) => {
      const db = await openCompanyDb(url, p.warehouse);
      try {
        assert.equal(db.kind, 'postgres');
        const a = activity(7, '2025-08-17T06:30:00Z');
        assert.equal(await insertActivities(db, [a]), 1);
        assert.equal(await insertActivities(db, [a]), 0);
        const rows = await db.query('SELECT employee_id, started_at, sport FROM activities');
        assert.deepEqual(rows, [{ employee_id: 7, started_at: '2025-08-17T06:30:00Z', sport: 'Runing' }]);
        await assert.rejects(db.query('SELECT * FROM activity_changes'), /activity_changes/);
      } finally {
        await db.close();
      }
    });
  });

  test('PostgreSQL: processes opening a new company database at once migrate it once, none failing', { skip: pgSkip }, async () => {
    const url = await freshDatabase();
    const home = await tempHome();
    await withPlatform(home, async (p) => {
      // The server, the scheduled run, the capture and the notifier all open it when ecluse starts.
      const opened = await Promise.allSettled(Array.from({ length: 6 }, () => openCompanyDb(url, p.warehouse)));
      const dbs = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      try {
        assert.deepEqual(
          opened.flatMap((o) => (o.status === 'rejected' ? [String(o.reason)] : [])),
          [],
        );
        assert.deepEqual(await dbs[0]!.query('SELECT version FROM rewards_migrations'), [{ version: 1 }]);
        assert.equal(await insertActivities(dbs[1]!, [activity(3, '2025-08-17T06:30:00Z')]), 1);
      } finally {
        for (const db of dbs) await db.close();
      }
    });
  });
});
