import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertTimeZone, dayBounds, parseDay, UnknownTimeZoneError, zonedWallToInstant } from '../../src/time/zones.js';

const iso = (d: Date) => d.toISOString();
const hours = (b: { from: Date; to: Date }) => (b.to.getTime() - b.from.getTime()) / 3_600_000;

test('an ordinary day in Paris runs from 22:00Z (summer) or 23:00Z (winter) the day before', () => {
  const summer = dayBounds('2024-07-14', 'Europe/Paris');
  assert.equal(iso(summer.from), '2024-07-13T22:00:00.000Z');
  assert.equal(iso(summer.to), '2024-07-14T22:00:00.000Z');
  const winter = dayBounds('2024-01-15', 'Europe/Paris');
  assert.equal(iso(winter.from), '2024-01-14T23:00:00.000Z');
  assert.equal(hours(winter), 24);
});

test('the spring-forward day lasts 23 hours and the fall-back day 25', () => {
  const spring = dayBounds('2024-03-31', 'Europe/Paris');
  assert.equal(iso(spring.from), '2024-03-30T23:00:00.000Z');
  assert.equal(iso(spring.to), '2024-03-31T22:00:00.000Z');
  assert.equal(hours(spring), 23);
  const autumn = dayBounds('2024-10-27', 'Europe/Paris');
  assert.equal(iso(autumn.from), '2024-10-26T22:00:00.000Z');
  assert.equal(iso(autumn.to), '2024-10-27T23:00:00.000Z');
  assert.equal(hours(autumn), 25);
});

test('other zones: UTC, west of Greenwich, a skipped midnight', () => {
  assert.equal(iso(dayBounds('2024-10-05', 'UTC').from), '2024-10-05T00:00:00.000Z');
  const ny = dayBounds('2024-11-03', 'America/New_York');
  assert.equal(iso(ny.from), '2024-11-03T04:00:00.000Z');
  assert.equal(hours(ny), 25);
  // Santiago skips midnight in September: the day starts at 01:00 local, the instant of the jump.
  const santiago = dayBounds('2024-09-08', 'America/Santiago');
  assert.equal(iso(santiago.from), '2024-09-08T04:00:00.000Z');
  assert.equal(hours(santiago), 23);
});

test('in a fold the earlier instant wins', () => {
  // 02:30 happens twice in Paris on 2024-10-27: first at 00:30Z (UTC+2), then at 01:30Z (UTC+1).
  assert.equal(iso(new Date(zonedWallToInstant(Date.UTC(2024, 9, 27, 2, 30), 'Europe/Paris'))), '2024-10-27T00:30:00.000Z');
});

test('malformed days and unknown zones are refused', () => {
  assert.equal(parseDay('2024-02-30'), null);
  assert.equal(parseDay('2024-2-3'), null);
  assert.notEqual(parseDay('2024-02-29'), null);
  assert.throws(() => dayBounds('2023-02-29', 'Europe/Paris'), RangeError);
  assert.throws(() => assertTimeZone('Mars/Olympus'), UnknownTimeZoneError);
});
