import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatBytes,
  formatCount,
  formatDateTime,
  formatDay,
  formatDuration,
  formatInstant,
  formatNumber,
  formatRelative,
  formatValue,
  plural,
} from '../../web/src/lib/format.js';
import { buildQuery, intParam, isDay, nextDay, parseQuery } from '../../web/src/lib/query.js';
import {
  alignDays,
  countValues,
  dataMonths,
  daySeries,
  daysBetween,
  extreme,
  minMaxBand,
  monthEnd,
  numberOrNull,
  timeSeries,
} from '../../web/src/lib/series.js';
import { TOKEN_STORAGE_KEY, TokenKeeper } from '../../web/src/lib/token.js';
import { axisLabel } from '../../web/src/lib/units.js';
import { dayInZone, dayStart, formatWallClock, isTimeZone, toWallClock, zoneOffset } from '../../web/src/lib/zone.js';
import { STATION_CHARTS, STATION_MEASURES } from '../../web/src/pipelines/stations/units.js';
import type { City } from '../../web/src/pipelines/synop/api.js';
import { cityKey, cityName, findCity } from '../../web/src/pipelines/synop/cities.js';
import { CITY_METRICS, isCityMetric } from '../../web/src/pipelines/synop/metrics.js';

/** The dashboard's component-free logic (web/src/lib, and the pipelines' own in web/src/pipelines/<name>/): what the pages show is computed here. */

describe('format', () => {
  test('values carry their unit; missing is a dash, never 0', () => {
    assert.equal(formatValue(12.345, '°C'), '12.3 °C');
    assert.equal(formatValue(0, '°C'), '0.0 °C');
    assert.equal(formatValue(-0.04, '°C'), '0.0 °C', 'no "-0.0"');
    assert.equal(formatValue(null, '°C'), '—');
    assert.equal(formatValue(undefined), '—');
    assert.equal(formatValue(Number.NaN, 'hPa'), '—');
    assert.equal(formatValue(1013.25, 'hPa', 0), '1013 hPa');
    assert.equal(formatValue(1234.56, 'mm'), '1234.6 mm', 'no thousands separator in a measure');
    assert.equal(formatValue(-1.25, '°C'), '-1.3 °C', 'half away from zero');
    assert.equal(formatValue(-7, '°C', 0), '-7 °C');
    assert.equal(formatValue(12.3), '12.3');
    assert.equal(formatNumber(50.5701234, 3), '50.570');
    assert.equal(formatNumber(-0.0001, 3), '0.000');
    assert.equal(formatNumber(null), '—');
  });

  test('counts, plurals, sizes', () => {
    assert.equal(formatCount(2054), '2,054');
    assert.equal(formatCount(null), '—');
    assert.equal(formatCount(1_234_567.6), '1,234,568');
    assert.equal(formatCount(-0.2), '0');
    assert.equal(formatCount(Number.POSITIVE_INFINITY), '—');
    assert.equal(plural(2054, 'value'), '2,054 values');
    assert.equal(plural(1, 'entry', 'entries'), '1 entry');
    assert.equal(plural(2, 'entry', 'entries'), '2 entries');
    assert.equal(plural(1, 'value'), '1 value');
    assert.equal(plural(0, 'value'), '0 values');
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KB');
    assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GB');
    assert.equal(formatBytes(-1), '—');
    assert.equal(formatBytes(1024), '1.0 KB');
    assert.equal(formatBytes(1024 ** 4 * 2048), '2048.0 TB', 'TB is the largest unit, without grouping');
  });

  test('durations', () => {
    assert.equal(formatDuration(850), '850 ms');
    assert.equal(formatDuration(12_340), '12.3 s');
    assert.equal(formatDuration(245_000), '4 min 05 s');
    assert.equal(formatDuration(2 * 3_600_000 + 3 * 60_000), '2 h 03 min');
    assert.equal(formatDuration(null), '—');
    assert.equal(formatDuration(0), '0 ms');
    assert.equal(formatDuration(60_000), '1 min 00 s');
    assert.equal(formatDuration(3_599_400), '59 min 59 s');
    assert.equal(formatDuration(26 * 3_600_000 + 5 * 60_000), '26 h 05 min');
    assert.equal(formatDuration(-1), '—');
  });

  test('instants and days', () => {
    assert.equal(formatInstant('2024-10-05T07:08:09.123Z'), '2024-10-05 07:08 UTC');
    assert.equal(formatInstant(null), '—');
    assert.equal(formatInstant('garbage'), 'garbage');
    assert.equal(formatInstant('2024-10-05T00:00:00Z'), '2024-10-05 00:00 UTC', 'midnight is 00:00, not 24:00');
    // Another zone: its wall clock, named (the overview's next run, as its schedule reads).
    assert.equal(formatInstant('2024-10-05T22:00:00Z', 'Europe/Paris'), '2024-10-06 00:00 Europe/Paris');
    assert.equal(formatInstant('2024-12-05T23:00:00Z', 'Europe/Paris'), '2024-12-06 00:00 Europe/Paris');
    assert.equal(formatDateTime(Date.parse('2024-07-01T09:05:00Z')), '2024-07-01 09:05');
    assert.equal(formatDateTime(Date.parse('2024-07-01T09:05:00Z'), 'America/New_York'), '2024-07-01 05:05');
    assert.throws(() => formatDateTime(0, 'Mars/Olympus'), RangeError);
    assert.equal(formatDay('2024-07-14'), '14 Jul 2024');
    assert.equal(formatDay('2024-01-01T00:00:00'), '1 Jan 2024');
    assert.equal(formatDay('2024-09-03'), '3 Sep 2024', 'the same abbreviations every month ("Sep", not "Sept")');
    assert.equal(formatDay('2024-02-29'), '29 Feb 2024');
    assert.equal(formatDay('2023-02-29'), '2023-02-29', 'a day that does not exist is shown as given');
    assert.equal(formatDay('July'), 'July');
  });

  test('relative times: seconds under a minute, minutes under an hour, hours under two days, then days', () => {
    const now = Date.parse('2024-10-05T12:00:00Z');
    const at = (ms: number) => new Date(now + ms).toISOString();
    assert.equal(formatRelative('2024-10-05T11:57:00Z', now), '3 minutes ago');
    assert.equal(formatRelative('2024-10-05T14:00:00Z', now), 'in 2 hours');
    assert.equal(formatRelative('2024-10-01T12:00:00Z', now), '4 days ago');
    assert.equal(formatRelative(at(-35_000), now), '35 seconds ago');
    assert.equal(formatRelative(at(-60_000), now), '1 minute ago', 'singular');
    assert.equal(formatRelative(at(47 * 3_600_000), now), 'in 47 hours');
    assert.equal(formatRelative(at(48 * 3_600_000), now), 'in 2 days');
    assert.equal(formatRelative(at(-400), now), '0 seconds ago');
    assert.equal(formatRelative(at(0), now), '0 seconds ago', 'started this very instant: past, not "in 0 seconds"');
    assert.equal(formatRelative(at(400), now), 'in 0 seconds');
    assert.equal(formatRelative(null, now), '—');
    assert.equal(formatRelative('soon', now), 'soon');
  });
});

describe('units', () => {
  test('every station chart has a unit and known measures, one unit per chart', () => {
    for (const c of STATION_CHARTS) {
      assert.ok(c.unit, c.id);
      for (const m of c.measures) assert.equal(STATION_MEASURES[m]?.unit, c.unit, `${c.id}: ${m}`);
    }
    assert.equal(axisLabel('Temperature', '°C'), 'Temperature (°C)');
    assert.equal(axisLabel('Count', ''), 'Count');
  });

  test('city metrics name their columns and callouts', () => {
    assert.equal(CITY_METRICS.temperature.max, 'temperature_max_c');
    assert.equal(CITY_METRICS.temperature.min, 'temperature_min_c');
    assert.equal(CITY_METRICS.temperature.unit, '°C');
    assert.equal(CITY_METRICS.rainfall.minLabel, null);
    assert.ok(isCityMetric('wind'));
    assert.ok(!isCityMetric('humidity'));
    assert.ok(!isCityMetric(undefined));
  });
});

describe('series: gaps stay gaps', () => {
  test('numberOrNull never turns missing into 0', () => {
    assert.equal(numberOrNull(null), null);
    assert.equal(numberOrNull(undefined), null);
    assert.equal(numberOrNull(''), null);
    assert.equal(numberOrNull('n/a'), null);
    assert.equal(numberOrNull(Number.NaN), null);
    assert.equal(numberOrNull(0), 0);
    assert.equal(numberOrNull('1.5'), 1.5);
  });

  test('a null value is a null point; a stretch without reports gets a null point inserted', () => {
    const rows = [
      { observed_at: '2024-10-05T00:00:00Z', t: 1 },
      { observed_at: '2024-10-05T01:00:00Z', t: null },
      { observed_at: '2024-10-05T02:00:00Z', t: 0 },
      { observed_at: '2024-10-05T03:00:00Z', t: 3 },
      // Nine hours without a report.
      { observed_at: '2024-10-05T12:00:00Z', t: 4 },
    ];
    const s = timeSeries(rows, 't');
    assert.deepEqual(
      s.map(([t, v]) => [new Date(t).toISOString().slice(11, 16), v]),
      [
        ['00:00', 1],
        ['01:00', null],
        ['02:00', 0],
        ['03:00', 3],
        ['07:30', null],
        ['12:00', 4],
      ],
    );
    assert.equal(countValues(s), 4, 'the 0 is a value, the nulls are not');
  });

  test('rows out of order are sorted; unparsable instants are dropped; a single point has no gap', () => {
    const s = timeSeries(
      [
        { observed_at: '2024-10-05T02:00:00Z', t: 2 },
        { observed_at: 'bad', t: 9 },
        { observed_at: '2024-10-05T01:00:00Z', t: 1 },
      ],
      't',
    );
    assert.deepEqual(
      s.map((p) => p[1]),
      [1, 2],
    );
    assert.deepEqual(
      timeSeries([{ observed_at: '2024-10-05T02:00:00Z', t: 2 }], 't').map((p) => p[1]),
      [2],
    );
  });

  test('daily series align on every day of the range: a missing day is null', () => {
    const days = daysBetween('2024-02-27', '2024-03-02');
    assert.deepEqual(days, ['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01', '2024-03-02']);
    const rows = [
      { day: '2024-02-27', v: 1 },
      { day: '2024-02-29', v: null },
      { day: '2024-03-01', v: 0 },
    ];
    assert.deepEqual(alignDays(days, daySeries(rows, 'v')), [1, null, null, 0, null]);
    assert.equal(monthEnd(2024, 2), '2024-02-29');
    assert.equal(monthEnd(2023, 2), '2023-02-28');
    assert.equal(monthEnd(2024, 12), '2024-12-31');
  });
});

describe('callouts: extremes ignore nulls, not zeros', () => {
  const rows = [
    { day: '2024-01-01', tmax: 3.5, tmin: 0 },
    { day: '2024-01-02', tmax: null, tmin: null },
    { day: '2024-01-03', tmax: 7.25, tmin: -2 },
    { day: '2024-01-04', tmax: 7.25, tmin: 1 },
  ];

  test('max and min with their first day', () => {
    assert.deepEqual(extreme(rows, 'tmax', 'max'), { value: 7.25, at: '2024-01-03' });
    assert.deepEqual(extreme(rows, 'tmin', 'min'), { value: -2, at: '2024-01-03' });
  });

  test('a real 0 is the minimum; nulls are skipped, not read as 0', () => {
    const warm = [
      { day: '2024-07-01', t: 0 },
      { day: '2024-07-02', t: 5 },
    ];
    assert.deepEqual(extreme(warm, 't', 'min'), { value: 0, at: '2024-07-01' });
    const withNull = [
      { day: '2024-07-01', t: null },
      { day: '2024-07-02', t: 5 },
    ];
    assert.deepEqual(extreme(withNull, 't', 'min'), { value: 5, at: '2024-07-02' });
    assert.deepEqual(
      extreme(
        [
          { day: 'x', t: -3 },
          { day: 'y', t: null },
        ],
        't',
        'max',
      ),
      { value: -3, at: 'x' },
      'a negative maximum is not beaten by a null',
    );
  });

  test('no value at all: no extreme', () => {
    assert.equal(extreme([{ day: 'x', t: null }], 't', 'max'), null);
    assert.equal(extreme([], 't', 'min'), null);
  });
});

describe('query string state', () => {
  test('round trip, empty values dropped, page first', () => {
    assert.equal(buildQuery({ id: '07015', page: 'station', date: '2024-10-05', from: undefined, to: '' }), '?page=station&id=07015&date=2024-10-05');
    assert.deepEqual(parseQuery('?page=station&id=07015&x='), { page: 'station', id: '07015' });
    assert.deepEqual(parseQuery(buildQuery({ page: 'cities', city: 'lille-lesquin', m1: 2 })), { page: 'cities', city: 'lille-lesquin', m1: '2' });
    assert.equal(buildQuery({}), '?');
  });

  test('integers and days are validated', () => {
    assert.equal(intParam('25', 0), 25);
    assert.equal(intParam('-1', 7), 7);
    assert.equal(intParam('abc', 7), 7);
    assert.equal(intParam('0', 7, 1), 7);
    assert.ok(isDay('2024-02-29'));
    assert.ok(!isDay('2024-2-29'));
    assert.ok(!isDay(undefined));
    assert.equal(nextDay('2024-02-28'), '2024-02-29');
    assert.equal(nextDay('2024-12-31'), '2025-01-01');
  });
});

describe('cities: names and keys', () => {
  const city = (numer_sta: string, name: string | null): City => ({
    numer_sta,
    name,
    // The API's slug is null exactly when the name is.
    slug: name === null ? null : name.toLowerCase(),
    latitude: null,
    longitude: null,
    days: 1,
    first_day: null,
    last_day: null,
  });
  const lille = city('07015', 'Lille-Lesquin');
  const unnamed = city('07020', null);

  test('a city without a name is known by its station number', () => {
    assert.equal(cityKey(lille), 'lille-lesquin');
    assert.equal(cityName(lille), 'Lille-Lesquin');
    assert.equal(cityKey(unnamed), '07020');
    assert.equal(cityName(unnamed), '07020');
  });

  test('a link finds its city by slug, number or name, case ignored', () => {
    const cities = [lille, unnamed];
    assert.equal(findCity(cities, 'lille-lesquin'), lille);
    assert.equal(findCity(cities, 'LILLE-LESQUIN'), lille);
    assert.equal(findCity(cities, '07015'), lille);
    assert.equal(findCity(cities, '07020'), unnamed, 'no name, found by its number');
    assert.equal(findCity(cities, 'brest'), undefined);
    assert.equal(findCity(cities, undefined), undefined);
  });
});

describe('cities: the range a page opens on, the min–max band', () => {
  test('opened without months: the months of the year that hold data', () => {
    // One month of data: that month, not January–December (where it filled 5 % of the chart).
    assert.deepEqual(dataMonths(2024, '2024-03-01', '2024-03-31'), { m1: 3, m2: 3 });
    assert.deepEqual(dataMonths(2024, '2024-01-01', '2024-03-31'), { m1: 1, m2: 3 });
    // Several years: the first year from its first month, the last up to its last, the years between whole.
    assert.deepEqual(dataMonths(2022, '2022-10-05', '2024-02-10'), { m1: 10, m2: 12 });
    assert.deepEqual(dataMonths(2023, '2022-10-05', '2024-02-10'), { m1: 1, m2: 12 });
    assert.deepEqual(dataMonths(2024, '2022-10-05', '2024-02-10'), { m1: 1, m2: 2 });
    // A year without data, or no known range: the whole year.
    assert.deepEqual(dataMonths(2020, '2022-10-05', '2024-02-10'), { m1: 1, m2: 12 });
    assert.deepEqual(dataMonths(2024, null, null), { m1: 1, m2: 12 });
  });

  test('the band is the min plus the span to the max, a gap where either end is missing', () => {
    const band = minMaxBand([-3, 2, null, 4], [5, 2.5, 8, null]);
    assert.deepEqual(band.base, [-3, 2, null, null]);
    assert.deepEqual(band.span, [8, 0.5, null, null]);
    // Stacked, base + span lands on the max: the shading starts at the min, not at 0.
    assert.equal((band.base[0] ?? NaN) + (band.span[0] ?? NaN), 5);
  });
});

describe('time zones of the station charts', () => {
  const summer = Date.parse('2024-10-01T12:00:00Z');
  const winter = Date.parse('2024-12-01T12:00:00Z');

  test('offsets and wall clocks', () => {
    assert.equal(zoneOffset(summer, 'Europe/Paris'), 2 * 3_600_000);
    assert.equal(zoneOffset(winter, 'Europe/Paris'), 3_600_000);
    assert.equal(zoneOffset(summer, 'America/New_York'), -4 * 3_600_000);
    assert.equal(zoneOffset(summer, 'UTC'), 0);
    assert.equal(formatWallClock(toWallClock(Date.parse('2024-09-30T22:00:00Z'), 'Europe/Paris')), '2024-10-01 00:00');
    assert.equal(formatWallClock(toWallClock(Date.parse('2024-09-30T22:00:00Z'), 'America/New_York')), '2024-09-30 18:00');
  });

  test("a day's start in a zone, across DST changes", () => {
    assert.equal(new Date(dayStart('2024-10-01', 'Europe/Paris')).toISOString(), '2024-09-30T22:00:00.000Z');
    assert.equal(new Date(dayStart('2024-12-01', 'Europe/Paris')).toISOString(), '2024-11-30T23:00:00.000Z');
    // The days of the clock changes start before the change (midnight is not skipped in Paris).
    assert.equal(new Date(dayStart('2024-03-31', 'Europe/Paris')).toISOString(), '2024-03-30T23:00:00.000Z');
    assert.equal(new Date(dayStart('2024-10-27', 'Europe/Paris')).toISOString(), '2024-10-26T22:00:00.000Z');
    assert.equal(new Date(dayStart('2024-10-01', 'UTC')).toISOString(), '2024-10-01T00:00:00.000Z');
  });

  test('the day an instant falls on; unknown zones are refused', () => {
    // 23:30 UTC is already the next day in Paris: the station's last day is not the UTC date.
    assert.equal(dayInZone('2024-10-01T23:30:00Z', 'Europe/Paris'), '2024-10-02');
    assert.equal(dayInZone('2024-10-01T23:30:00Z', 'UTC'), '2024-10-01');
    assert.equal(dayInZone('nope', 'UTC'), null);
    assert.ok(isTimeZone('Europe/Paris'));
    assert.ok(!isTimeZone('Mars/Olympus'));
    assert.ok(!isTimeZone(''));
  });
});

describe('the API token kept for the session', () => {
  const memory = () => {
    const m = new Map<string, string>();
    return {
      m,
      storage: { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k) },
    };
  };

  test('views that meet a 401 together share one question; the answer reaches them all and is stored', async () => {
    const { m, storage } = memory();
    const keeper = new TokenKeeper(storage);
    assert.equal(keeper.get(), null);
    let changes = 0;
    keeper.subscribe(() => changes++);
    const a = keeper.ask({ refused: false, message: 'missing Authorization' });
    const b = keeper.ask({ refused: false, message: 'missing Authorization' });
    assert.deepEqual(keeper.question(), { refused: false, message: 'missing Authorization' });
    assert.equal(changes, 1, 'one question, not two');
    keeper.set('  s3cret ');
    assert.deepEqual(await Promise.all([a, b]), ['s3cret', 's3cret']);
    assert.equal(keeper.question(), null);
    assert.equal(keeper.get(), 's3cret');
    assert.equal(m.get(TOKEN_STORAGE_KEY), 's3cret');
    assert.equal(keeper.version(), 1);
    // A new keeper on the same storage (a reload of the tab) has it.
    assert.equal(new TokenKeeper(storage).get(), 's3cret');
  });

  test('a refusal is said on the open question; dismissing answers null; forget clears the storage', async () => {
    const { m, storage } = memory();
    const keeper = new TokenKeeper(storage);
    keeper.set('old');
    const first = keeper.ask({ refused: false, message: 'missing' });
    const second = keeper.ask({ refused: true, message: 'invalid token' });
    assert.deepEqual(keeper.question(), { refused: true, message: 'invalid token' });
    keeper.dismiss();
    assert.deepEqual(await Promise.all([first, second]), [null, null]);
    assert.equal(keeper.version(), 1, 'no new token was given');
    keeper.forget();
    assert.equal(keeper.get(), null);
    assert.equal(m.has(TOKEN_STORAGE_KEY), false);
    assert.throws(() => keeper.set('   '), /empty/);
  });

  test('a storage that throws (disabled) still keeps the token for the page', () => {
    const broken = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
      removeItem: () => {
        throw new Error('denied');
      },
    };
    const keeper = new TokenKeeper(broken);
    assert.equal(keeper.get(), null);
    keeper.set('t');
    assert.equal(keeper.get(), 't');
    keeper.forget();
    assert.equal(keeper.get(), null);
  });
});
