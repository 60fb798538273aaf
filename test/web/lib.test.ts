import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatCount, formatDay, formatDuration, formatInstant, formatRelative, formatValue, plural } from '../../web/src/lib/format.js';
import { buildQuery, intParam, isDay, nextDay, parseQuery } from '../../web/src/lib/query.js';
import { alignDays, countValues, daySeries, daysBetween, extreme, monthEnd, numberOrNull, timeSeries } from '../../web/src/lib/series.js';
import { CITY_METRICS, STATION_CHARTS, STATION_MEASURES, axisLabel, isCityMetric } from '../../web/src/lib/units.js';

/** The dashboard's component-free logic (web/src/lib): what the pages show is computed here. */

describe('format', () => {
  test('values carry their unit; missing is a dash, never 0', () => {
    assert.equal(formatValue(12.345, '°C'), '12.3 °C');
    assert.equal(formatValue(0, '°C'), '0.0 °C');
    assert.equal(formatValue(-0.04, '°C'), '0.0 °C', 'no "-0.0"');
    assert.equal(formatValue(null, '°C'), '—');
    assert.equal(formatValue(undefined), '—');
    assert.equal(formatValue(Number.NaN, 'hPa'), '—');
    assert.equal(formatValue(1013.25, 'hPa', 0), '1013 hPa');
  });

  test('counts, plurals, sizes', () => {
    assert.equal(formatCount(2054), '2,054');
    assert.equal(formatCount(null), '—');
    assert.equal(plural(1, 'value'), '1 value');
    assert.equal(plural(0, 'value'), '0 values');
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KB');
    assert.equal(formatBytes(5 * 1024 ** 3), '5.0 GB');
    assert.equal(formatBytes(-1), '—');
  });

  test('durations', () => {
    assert.equal(formatDuration(850), '850 ms');
    assert.equal(formatDuration(12_340), '12.3 s');
    assert.equal(formatDuration(245_000), '4 min 05 s');
    assert.equal(formatDuration(2 * 3_600_000 + 3 * 60_000), '2 h 03 min');
    assert.equal(formatDuration(null), '—');
  });

  test('instants and days', () => {
    assert.equal(formatInstant('2024-10-05T07:08:09.123Z'), '2024-10-05 07:08 UTC');
    assert.equal(formatInstant(null), '—');
    assert.equal(formatInstant('garbage'), 'garbage');
    const now = Date.parse('2024-10-05T12:00:00Z');
    assert.equal(formatRelative('2024-10-05T11:57:00Z', now), '3 min ago');
    assert.equal(formatRelative('2024-10-05T14:00:00Z', now), 'in 2 h');
    assert.equal(formatRelative('2024-10-01T12:00:00Z', now), '4 d ago');
    assert.equal(formatDay('2024-07-14'), '14 Jul 2024');
    assert.equal(formatDay('2024-01-01T00:00:00'), '1 Jan 2024');
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
    const s = timeSeries([{ observed_at: '2024-10-05T02:00:00Z', t: 2 }, { observed_at: 'bad', t: 9 }, { observed_at: '2024-10-05T01:00:00Z', t: 1 }], 't');
    assert.deepEqual(s.map((p) => p[1]), [1, 2]);
    assert.deepEqual(timeSeries([{ observed_at: '2024-10-05T02:00:00Z', t: 2 }], 't').map((p) => p[1]), [2]);
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
    assert.deepEqual(extreme([{ day: 'x', t: -3 }, { day: 'y', t: null }], 't', 'max'), { value: -3, at: 'x' }, 'a negative maximum is not beaten by a null');
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
