import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../src/connectors/generators/random.js';
import { wallClock } from '../../../src/time/zones.js';
import {
  generateActivityHistory,
  isDistanceSport,
  liveActivity,
  SPORT_PROFILES,
  toSourceActivity,
  type SourceEmployee,
} from '../../../src/pipelines/rewards/activityHistory.js';
import { activityKey } from '../../../src/pipelines/rewards/companyDb.js';

const SPORTS = Object.keys(SPORT_PROFILES).filter((s) =>
  [
    'Runing',
    'Randonnée',
    'Natation',
    'Triathlon',
    'Tennis',
    'Football',
    'Rugby',
    'Badminton',
    'Judo',
    'Boxe',
    'Escalade',
    'Équitation',
    'Tennis de table',
    'Basketball',
    'Voile',
  ].includes(s),
);

/** 90 employees: 75 practising (each of the HR file's sports, five times), 15 not. */
function employees(): SourceEmployee[] {
  const out: SourceEmployee[] = [];
  for (let i = 0; i < 90; i++) out.push({ employee_id: 10_000 + i, declared_sport: i < 75 ? (SPORTS[i % SPORTS.length] ?? null) : null });
  return out;
}

const NOW = new Date('2025-09-15T10:00:00Z');
const DAY = 86_400_000;

describe('activity history', () => {
  test('the HR file sports are all described', () => {
    assert.equal(SPORTS.length, 15);
  });

  test('same seed, same rows; another seed, other rows', () => {
    const a = generateActivityHistory(employees(), NOW, { seed: 7 });
    const b = generateActivityHistory(employees(), NOW, { seed: 7 });
    const c = generateActivityHistory(employees(), NOW, { seed: 8 });
    assert.ok(a.length > 500, `${a.length} activities`);
    assert.deepEqual(a, b);
    assert.notDeepEqual(
      a.map((x) => activityKey(x.employee_id, x.started_at)),
      c.map((x) => activityKey(x.employee_id, x.started_at)),
    );
  });

  test('a later clock serves the same past: the window only slides', () => {
    const before = generateActivityHistory(employees(), NOW, { seed: 7 });
    const later = new Date(NOW.getTime() + 3 * DAY);
    const after = generateActivityHistory(employees(), later, { seed: 7 });
    const afterKeys = new Set(after.map((x) => activityKey(x.employee_id, x.started_at)));
    const kept = before.filter((x) => x.started_at.getTime() > later.getTime() - 365 * DAY);
    assert.ok(kept.every((x) => afterKeys.has(activityKey(x.employee_id, x.started_at))));
    assert.ok(
      after.some((x) => x.started_at > NOW),
      'new days bring new activities',
    );
  });

  test('only practising employees, mostly in their sport, within the 12 months, never in the future, unique', () => {
    const list = employees();
    const declared = new Map(list.map((e) => [e.employee_id, e.declared_sport]));
    const rows = generateActivityHistory(list, NOW, { seed: 1 });
    assert.ok(rows.every((a) => declared.get(a.employee_id) !== null));
    assert.ok(rows.every((a) => a.source === 'strava'));
    const inSport = rows.filter((a) => a.sport === declared.get(a.employee_id)).length;
    assert.ok(inSport / rows.length > 0.9, `${inSport}/${rows.length} in the declared sport`);
    assert.ok(inSport < rows.length, 'a few in another sport');
    for (const a of rows) {
      assert.ok(a.ended_at <= NOW, `${a.ended_at.toISOString()} after now`);
      assert.ok(a.started_at.getTime() > NOW.getTime() - 365 * DAY);
      assert.equal(a.ended_at.getTime() - a.started_at.getTime(), a.elapsed_s * 1000);
      assert.ok(a.elapsed_s >= 600 && a.elapsed_s <= 8 * 3600, `${a.sport}: ${a.elapsed_s} s`);
    }
    const keys = new Set(rows.map((a) => activityKey(a.employee_id, a.started_at)));
    assert.equal(keys.size, rows.length);
  });

  test('distances for distance sports only, at the sport speeds', () => {
    const rows = generateActivityHistory(employees(), NOW, { seed: 2 });
    const bounds: Record<string, { km: [number, number]; kmh: [number, number] }> = {
      Runing: { km: [5, 21], kmh: [9, 14] },
      Randonnée: { km: [8, 25], kmh: [3.5, 5] },
      Natation: { km: [1, 4], kmh: [2, 3.5] },
    };
    const seen = new Set<string>();
    for (const a of rows) {
      assert.equal(a.distance_m !== null, isDistanceSport(a.sport), `${a.sport}: ${a.distance_m}`);
      const b = bounds[a.sport];
      if (!b || a.distance_m === null) continue;
      seen.add(a.sport);
      const km = a.distance_m / 1000;
      const kmh = km / (a.elapsed_s / 3600);
      assert.ok(km >= b.km[0] - 0.001 && km <= b.km[1] + 0.001, `${a.sport} ${km} km`);
      assert.ok(kmh >= b.kmh[0] - 0.05 && kmh <= b.kmh[1] + 0.05, `${a.sport} ${kmh} km/h`);
    }
    assert.deepEqual([...seen].sort(), ['Natation', 'Randonnée', 'Runing']);
    for (const s of ['Tennis', 'Football', 'Rugby', 'Badminton', 'Judo', 'Boxe', 'Escalade', 'Équitation', 'Tennis de table', 'Basketball', 'Voile']) {
      assert.equal(isDistanceSport(s), false, s);
      assert.ok(rows.some((a) => a.sport === s));
    }
    for (const s of ['Runing', 'Randonnée', 'Natation', 'Triathlon', 'Vélo', 'randonnee']) assert.equal(isDistanceSport(s), true, s);
  });

  test('weekday evenings 18:00–21:00 and weekend days, Paris time, summer and winter alike', () => {
    const rows = generateActivityHistory(employees(), NOW, { seed: 3 });
    let weekend = 0;
    for (const a of rows) {
      const w = wallClock(a.started_at.getTime(), 'Europe/Paris');
      const day = new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay();
      const minutes = w.hour * 60 + w.minute;
      if (day === 0 || day === 6) {
        weekend++;
        assert.ok(minutes >= 8 * 60 && minutes <= 15 * 60, `weekend start ${a.started_at.toISOString()}`);
      } else {
        assert.ok(minutes >= 18 * 60 && minutes <= 21 * 60, `weekday start ${a.started_at.toISOString()}`);
      }
    }
    assert.ok(weekend > rows.length * 0.25 && weekend < rows.length * 0.75, `${weekend}/${rows.length} on weekends`);
    // 18:00 in Paris is 16:00 UTC in summer, 17:00 in winter.
    const utcHours = new Set(rows.map((a) => a.started_at.getUTCHours()));
    assert.ok(utcHours.has(16) && utcHours.has(17));
  });

  test('activity counts spread around the 15 of the well-being rule', () => {
    const rows = generateActivityHistory(employees(), NOW, { seed: 4 });
    const counts = new Map<number, number>();
    for (const a of rows) counts.set(a.employee_id, (counts.get(a.employee_id) ?? 0) + 1);
    const values = employees()
      .filter((e) => e.declared_sport !== null)
      .map((e) => counts.get(e.employee_id) ?? 0);
    const over = values.filter((n) => n >= 15).length;
    assert.ok(over >= values.length * 0.3 && over <= values.length * 0.8, `${over}/${values.length} with 15 or more`);
    assert.ok(
      values.some((n) => n <= 8),
      'some with few',
    );
    assert.ok(
      values.some((n) => n >= 30),
      'some keen',
    );
    assert.ok(
      values.some((n) => n >= 12 && n <= 18),
      'some near the threshold',
    );
  });

  test('a live activity ends now, in the declared sport, whole seconds; the wire format carries it all', () => {
    const now = new Date('2025-09-15T18:30:12.345Z');
    const a = liveActivity(new Rng(1), { employee_id: 5, declared_sport: 'Randonnée' }, now);
    assert.equal(a.ended_at.toISOString(), '2025-09-15T18:30:12.000Z');
    assert.equal(a.sport, 'Randonnée');
    assert.ok(a.distance_m !== null && a.distance_m >= 8000);
    assert.equal(a.ended_at.getTime() - a.started_at.getTime(), a.elapsed_s * 1000);
    assert.deepEqual(toSourceActivity(a), {
      id_employee: 5,
      start_date: a.started_at.toISOString(),
      end_date: '2025-09-15T18:30:12.000Z',
      elapsed_time: a.elapsed_s,
      sport: 'Randonnée',
      distance_m: a.distance_m,
      comment: a.comment,
    });
  });
});
