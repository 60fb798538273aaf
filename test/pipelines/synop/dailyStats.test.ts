import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckSession } from '../../../src/engine/duckdb.js';
import { dailyStatsSql } from '../../../src/pipelines/synop/dailyStats.js';

/** Observations of one station, hand-written: (UTC time, °C, hPa, km/h, gust km/h, rr3 mm, trace). */
type Obs = [string, number | null, number | null, number | null, number | null, number | null, boolean];

async function statsOf(rows: Obs[], tz?: string) {
  const s = await DuckSession.open();
  try {
    await s.run(`CREATE TABLE obs (numer_sta VARCHAR, observed_at TIMESTAMP, temperature_c DOUBLE, pressure_sea_hpa DOUBLE,
      wind_speed_kmh DOUBLE, gust_kmh DOUBLE, precip_3h_mm DOUBLE, precip_3h_trace BOOLEAN)`);
    for (const r of rows) await s.run(`INSERT INTO obs VALUES ('07015', $1::TIMESTAMP, $2, $3, $4, $5, $6, $7)`, r);
    const out = await s.plainRows(`SELECT strftime(day, '%Y-%m-%d') AS day, * EXCLUDE (day, numer_sta) FROM (${dailyStatsSql('obs', tz)}) ORDER BY day`);
    return new Map(out.map((r) => [r.day as string, r]));
  } finally {
    s.close();
  }
}

test('daily stats of a Paris day: local bounds, gaps, a trace, missing values never 0', async () => {
  const stats = await statsOf([
    // 2024-10-05 in Paris (CEST, UTC+2) runs from 2024-10-04T22:00Z to 2024-10-05T22:00Z.
    ['2024-10-04 21:00:00', 99, 1000, 50, 80, 9, false], // 23:00 on the 4th in Paris: not the 5th
    ['2024-10-05 00:00:00', 10.0, 1015.0, 10, 20, 0, true], // a trace: 0 mm, counts as rain
    ['2024-10-05 03:00:00', 8.0, 1013.0, 20, null, 1.2, false],
    ['2024-10-05 06:00:00', 12.0, null, null, 35, null, false], // missing pressure, wind, rain
    ['2024-10-05 12:00:00', 16.0, 1011.0, 30, 40, 0, false],
    ['2024-10-05 21:00:00', 14.0, 1012.0, 15, null, 0.4, false], // 23:00 in Paris: still the 5th
  ]);
  const d = stats.get('2024-10-05');
  assert.ok(d, 'the day should be there');
  assert.equal(d.temperature_min_c, 8);
  assert.equal(d.temperature_max_c, 16);
  assert.equal(d.temperature_avg_c, 12);
  assert.equal(d.pressure_min_hpa, 1011);
  assert.equal(d.pressure_max_hpa, 1015);
  assert.equal(d.pressure_avg_hpa, (1015 + 1013 + 1011 + 1012) / 4);
  assert.equal(d.wind_avg_kmh, 18.75);
  assert.equal(d.wind_max_kmh, 30);
  assert.equal(d.gust_max_kmh, 40);
  assert.equal(d.rainfall_mm, 1.6);
  assert.equal(d.hours_with_rain, 9, 'the trace, 1.2 mm and 0.4 mm');
  assert.equal(d.observations, 5);
  assert.equal(d.completeness, 5 / 8);
  assert.equal(stats.get('2024-10-04')?.temperature_max_c, 99);
});

test('a day whose rain values are all missing has no rainfall, not 0; the 25-hour day still holds 8 slots', async () => {
  const stats = await statsOf([
    // 2024-10-27 in Paris runs from 2024-10-26T22:00Z to 2024-10-27T23:00Z (25 hours).
    ['2024-10-26 22:00:00', 5, 1020, 5, null, null, false],
    ['2024-10-27 00:00:00', 6, 1020, 5, null, null, false],
    ['2024-10-27 21:00:00', 7, 1020, 5, null, null, false],
    ['2024-10-27 22:00:00', 8, 1020, 5, null, null, false], // 23:00 CET: still the 27th
  ]);
  const d = stats.get('2024-10-27');
  assert.equal(d?.observations, 4);
  assert.equal(d?.rainfall_mm, null);
  assert.equal(d?.hours_with_rain, 0);
  assert.equal(d?.completeness, 4 / 8);
  const utc = await statsOf(
    [
      ['2024-10-26 22:00:00', 5, 1020, 5, null, null, false],
      ['2024-10-27 00:00:00', 6, 1020, 5, null, null, false],
    ],
    'UTC',
  );
  assert.deepEqual([...utc.keys()], ['2024-10-26', '2024-10-27']);
  assert.equal(utc.get('2024-10-27')?.completeness, 1 / 8);
});

test('a day gives the same sums and averages whatever order its rows come in (floating-point sums depend on it)', async () => {
  // (0.1 + 0.2) + 0.3 and (0.3 + 0.2) + 0.1 differ in the last bit: the rows of a run, of the lake and of a
  // rerun after a crash arrive in different orders and must still give the same figures.
  const rows: Obs[] = [
    ['2024-10-05 00:00:00', 0.1, 1000.1, 0.1, null, 0.1, false],
    ['2024-10-05 03:00:00', 0.2, 1000.2, 0.2, null, 0.2, false],
    ['2024-10-05 06:00:00', 0.3, 1000.3, 0.3, null, 0.3, false],
  ];
  const forward = (await statsOf(rows)).get('2024-10-05');
  const backward = (await statsOf([...rows].reverse())).get('2024-10-05');
  assert.deepEqual(backward, forward);
});
