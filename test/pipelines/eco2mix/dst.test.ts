/**
 * DST days as the consolidated dataset (30 minutes) writes them. The reader keeps every row and gives
 * each the instant its offset says; telling duplicates apart is staging's job, on (region, instant).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { strToU8 } from 'fflate';
import { Eco2mixBatch } from '../../../src/pipelines/eco2mix/batch.js';
import { readEco2mixFile } from '../../../src/pipelines/eco2mix/readers.js';
import { csv } from '../../fixtures/eco2mix.js';

const HEADER = ['code_insee_region', 'nature', 'date', 'heure', 'date_heure', 'consommation'];
const MIN = 60_000;

function read(file: string, text: string): Eco2mixBatch {
  const batch = new Eco2mixBatch();
  readEco2mixFile(file, strToU8(text), batch);
  return batch;
}

test('spring day (2024-03-31): the local times that do not exist come with date_heure values that repeat; equal offsets, equal instants', () => {
  const d = '2024-03-31';
  const rows = [
    ['01:00', `${d}T01:00:00+01:00`, '3100'],
    ['01:30', `${d}T01:30:00+01:00`, '3050'],
    // Real exports repeat two date_heure values on the spring day. Modelled here as the slots of
    // 02:00 and 02:30, which never happened in Paris, written as the summer instants that follow.
    ['02:00', `${d}T03:00:00+02:00`, '3010'],
    ['02:30', `${d}T03:30:00+02:00`, '2990'],
    ['03:00', `${d}T03:00:00+02:00`, '3000'],
    ['03:30', `${d}T03:30:00+02:00`, '2980'],
    // The same instant spelt with the winter offset: 02:00+01:00 is 03:00+02:00.
    ['02:00', `${d}T02:00:00+01:00`, '3005'],
    // Same wall clock as the first row, another offset: another instant.
    ['01:00', `${d}T01:00:00+02:00`, '3090'],
  ].map(([heure, dh, mw]) => ['53', 'Données consolidées', d, heure as string, dh as string, mw as string]);
  const b = read('spring.csv', csv(HEADER, rows));
  assert.equal(b.observations.length, rows.length, 'every row kept: de-duplication is staging’s');
  const at = b.observations.map((o) => o.observedAt);
  const utc = (h: number, m = 0) => Date.UTC(2024, 2, 31, h, m);
  assert.deepEqual(at, [utc(0), utc(0, 30), utc(1), utc(1, 30), utc(1), utc(1, 30), utc(1), Date.UTC(2024, 2, 30, 23)]);
  assert.equal(new Set(at).size, 5);
  // In UTC the day has no hole: 01:30+01:00 is followed 30 minutes later by 03:00+02:00.
  assert.equal((at[2] as number) - (at[1] as number), 30 * MIN);
  assert.deepEqual(
    b.observations.filter((o) => o.observedAt === utc(1)).map((o) => o.values.consumption),
    [3010, 3000, 3005],
    'the repeated instant keeps each row’s own values, in file order',
  );
});

test('autumn day (2024-10-27): 25 hours, 50 half-hours, the repeated local 02:00 and 02:30 told apart by their offsets', () => {
  const start = Date.UTC(2024, 9, 26, 22); // 00:00+02:00
  const switchAt = Date.UTC(2024, 9, 27, 1); // 03:00+02:00 becomes 02:00+01:00
  const pad = (n: number) => String(n).padStart(2, '0');
  const rows: string[][] = [];
  for (let k = 0; k < 50; k++) {
    const ms = start + k * 30 * MIN;
    const offsetH = ms < switchAt ? 2 : 1;
    const wall = new Date(ms + offsetH * 60 * MIN);
    const date = `${wall.getUTCFullYear()}-${pad(wall.getUTCMonth() + 1)}-${pad(wall.getUTCDate())}`;
    const heure = `${pad(wall.getUTCHours())}:${pad(wall.getUTCMinutes())}`;
    rows.push(['84', 'Données définitives', date, heure, `${date}T${heure}:00+0${offsetH}:00`, String(7000 + k)]);
  }
  const b = read('autumn.csv', csv(HEADER, rows));
  assert.equal(b.observations.length, 50);
  assert.deepEqual([b.rowsRejected, b.valuesRejected, b.emptySlots], [0, 0, 0]);
  const at = b.observations.map((o) => o.observedAt);
  assert.equal(new Set(at).size, 50, '50 distinct instants');
  assert.equal((at[49] as number) - (at[0] as number), 24.5 * 60 * MIN, 'first to last half-hour of a 25-hour day');
  const twice = b.observations.filter((o, k) => (rows[k] as string[])[3] === '02:00');
  assert.equal(twice.length, 2, 'local 02:00 appears twice');
  assert.deepEqual(
    twice.map((o) => o.observedAt),
    [Date.UTC(2024, 9, 27, 0), Date.UTC(2024, 9, 27, 1)],
    '02:00+02:00 and 02:00+01:00 are an hour apart',
  );
});
