import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MonthlyActivity } from '../../web/src/pipelines/rewards/api.js';
import {
  distanceStatusInfo,
  distanceVsLimit,
  employeeName,
  formatEur,
  formatHours,
  formatKm,
  formatMeasure,
  measureParam,
  monthLabel,
  monthlyChartOption,
  monthlySeries,
  notificationStatusParam,
  overLimit,
  parisToday,
  parisYear,
  sportColor,
  statusCounts,
  statusInfo,
  totalMessages,
  yearChoices,
  yearMonths,
  yearParam,
  yearRange,
} from '../../web/src/pipelines/rewards/rewards.js';

/** The Rewards page's data shaping (web/src/pipelines/rewards/rewards.ts): what its totals, chart, tables and feed show. */

/** Intl's French grouping is a narrow no-break space, and a no-break space comes before the euro sign. */
const NNBSP = '\u202f';
const NBSP = '\u00a0';

const row = (month: string, sport: string, activities: number, hours: number, distance_km: number | null): MonthlyActivity => ({
  month,
  sport,
  activities,
  hours,
  distance_km,
});

describe('rewards: the year shown', () => {
  test('the Paris year turns at Paris midnight, an hour before UTC’s in winter', () => {
    assert.equal(parisYear(Date.parse('2025-12-31T22:59:59Z')), 2025);
    assert.equal(parisYear(Date.parse('2025-12-31T23:00:00Z')), 2026);
    assert.equal(parisToday(Date.parse('2025-12-31T23:30:00Z')), '2026-01-01');
    assert.equal(parisToday(Date.parse('2025-07-14T21:59:00Z')), '2025-07-14');
    assert.equal(parisToday(Date.parse('2025-07-14T22:00:00Z')), '2025-07-15');
  });

  test('a URL’s year: four digits between 2000 and 2100, else none (the page then writes the current one)', () => {
    assert.equal(yearParam('2025'), 2025);
    assert.equal(yearParam(undefined), null);
    assert.equal(yearParam('25'), null);
    assert.equal(yearParam('2025-01'), null);
    assert.equal(yearParam('1999'), null);
    assert.equal(yearParam('abcd'), null);
  });

  test('the selector: this year and the four before, latest first; a year asked for outside them is added', () => {
    assert.deepEqual(yearChoices(2026, 2026), [2026, 2025, 2024, 2023, 2022]);
    assert.deepEqual(yearChoices(2026, 2024), [2026, 2025, 2024, 2023, 2022]);
    assert.deepEqual(yearChoices(2026, 2019), [2026, 2025, 2024, 2023, 2022, 2019]);
    assert.deepEqual(yearChoices(2026, 2027), [2027, 2026, 2025, 2024, 2023, 2022]);
  });

  test('a year’s days and months: twelve of a past year, up to this month of this one, none of a future one', () => {
    assert.deepEqual(yearRange(2025), { from: '2025-01-01', to: '2025-12-31' });
    assert.equal(yearMonths(2024, '2025-08-17').length, 12);
    assert.equal(yearMonths(2024, '2025-08-17')[11], '2024-12');
    assert.deepEqual(yearMonths(2025, '2025-03-01'), ['2025-01', '2025-02', '2025-03']);
    assert.deepEqual(yearMonths(2026, '2025-08-17'), []);
  });

  test('month labels; not a month is shown as given', () => {
    assert.equal(monthLabel('2025-03'), 'Mar 2025');
    assert.equal(monthLabel('2025-12'), 'Dec 2025');
    assert.equal(monthLabel('2025-13'), '2025-13');
    assert.equal(monthLabel('March'), 'March');
  });
});

describe('rewards: activities by sport and month', () => {
  const items = [
    row('2025-01', 'Randonnée', 2, 5.5, 24.2),
    row('2025-01', 'Course à pied', 10, 8, 85),
    row('2025-03', 'Course à pied', 4, 3, 30.5),
    row('2025-02', 'Yoga', 6, 6, null),
    row('2025-03', 'Escalade', 3, 6, null),
    row('2025-03', 'Randonnée', 1, 3, null),
  ];
  const months = ['2025-01', '2025-02', '2025-03'];

  test('one series per sport, a value per month; a month without the sport is 0, never left out', () => {
    const chart = monthlySeries(items, months, 'activities');
    assert.deepEqual(chart.months, months);
    assert.deepEqual(
      chart.sports.map((s) => [s.sport, s.values, s.total]),
      [
        ['Course à pied', [10, 0, 4], 14],
        ['Yoga', [0, 6, 0], 6],
        ['Escalade', [0, 0, 3], 3],
        ['Randonnée', [2, 0, 1], 3],
      ],
      'largest total first, ties by name',
    );
  });

  test('ties are ordered by the sport’s French name; names are kept as declared (accents)', () => {
    const chart = monthlySeries(
      [row('2025-01', 'Équitation', 1, 1, null), row('2025-01', 'Escalade', 1, 1, null), row('2025-01', 'Vélo', 1, 1, 10)],
      ['2025-01'],
      'activities',
    );
    assert.deepEqual(
      chart.sports.map((s) => s.sport),
      ['Équitation', 'Escalade', 'Vélo'],
    );
  });

  test('hours and distance: a sport none of whose rows has a distance has no distance series; a missing month is 0', () => {
    const hours = monthlySeries(items, months, 'hours');
    assert.deepEqual(hours.sports.find((s) => s.sport === 'Yoga')?.values, [0, 6, 0]);
    assert.equal(hours.sports[0]?.sport, 'Course à pied');
    const km = monthlySeries(items, months, 'distance_km');
    assert.deepEqual(
      km.sports.map((s) => [s.sport, s.values]),
      [
        ['Course à pied', [85, 0, 30.5]],
        ['Randonnée', [24.2, 0, 0]],
      ],
    );
  });

  test('months of the rows outside the range asked for are added in order, not dropped', () => {
    const chart = monthlySeries([row('2024-12', 'Yoga', 1, 1, null), row('2025-02', 'Yoga', 2, 1, null)], ['2025-01', '2025-02'], 'activities');
    assert.deepEqual(chart.months, ['2024-12', '2025-01', '2025-02']);
    assert.deepEqual(chart.sports[0]?.values, [1, 0, 2]);
  });

  test('two rows of one sport and month add up; no rows: no series', () => {
    const chart = monthlySeries([row('2025-01', 'Yoga', 1, 1, null), row('2025-01', 'Yoga', 2, 1, null)], ['2025-01'], 'activities');
    assert.deepEqual(chart.sports[0]?.values, [3]);
    assert.deepEqual(monthlySeries([], months, 'activities'), { months, sports: [] });
  });

  test('the chart option: a stacked bar per sport over month labels, coloured in order', () => {
    const chart = monthlySeries(items, months, 'activities');
    const option = monthlyChartOption(chart, 'activities');
    assert.deepEqual(option.xAxis.data, ['Jan 2025', 'Feb 2025', 'Mar 2025']);
    assert.equal(option.series.length, 4);
    for (const s of option.series) {
      assert.equal(s.type, 'bar');
      assert.equal(s.stack, 'sports');
      assert.equal(s.data.length, 3);
    }
    assert.equal(option.series[0]?.name, 'Course à pied');
    assert.equal(option.series[0]?.itemStyle.color, sportColor(0));
    assert.notEqual(sportColor(0), sportColor(1));
    assert.equal(sportColor(12), sportColor(0), 'the palette starts over');
    assert.equal(option.yAxis.name, 'activities');
    assert.equal(option.tooltip.valueFormatter(1234), '1,234');
    assert.equal(monthlyChartOption(chart, 'hours').tooltip.valueFormatter(1.5), '1 h 30 min');
  });

  test('the measure in the URL: activities unless hours or distance_km', () => {
    assert.equal(measureParam(undefined), 'activities');
    assert.equal(measureParam('hours'), 'hours');
    assert.equal(measureParam('distance_km'), 'distance_km');
    assert.equal(measureParam('toString'), 'activities', 'no prototype key');
    assert.equal(measureParam('km'), 'activities');
  });
});

describe('rewards: euros, hours, kilometres', () => {
  test('euros as the HR team writes them, to the cent: 1 547,00 €', () => {
    assert.equal(formatEur(1547), `1${NNBSP}547,00${NBSP}€`);
    assert.equal(formatEur(1547).replace(/\s/g, ' '), '1 547,00 €');
    assert.equal(formatEur(0), `0,00${NBSP}€`);
    assert.equal(formatEur(1234567.891), `1${NNBSP}234${NNBSP}567,89${NBSP}€`);
    assert.equal(formatEur(99.995), `100,00${NBSP}€`);
    assert.equal(formatEur(null), '—');
    assert.equal(formatEur(undefined), '—');
    assert.equal(formatEur(Number.NaN), '—');
  });

  test('hours to the minute: "2 h 05 min", "45 min"; none is a dash, not 0', () => {
    assert.equal(formatHours(2 + 5 / 60), '2 h 05 min');
    assert.equal(formatHours(0.75), '45 min');
    assert.equal(formatHours(0), '0 min');
    assert.equal(formatHours(1234.5), '1,234 h 30 min');
    assert.equal(formatHours(59.999 / 3600), '1 min');
    assert.equal(formatHours(1.9999), '2 h 00 min', 'rounds to the minute across the hour');
    assert.equal(formatHours(null), '—');
    assert.equal(formatHours(-1), '—');
  });

  test('kilometres and measures', () => {
    assert.equal(formatKm(27.34), '27.3 km');
    assert.equal(formatKm(0), '0.0 km');
    assert.equal(formatKm(null), '—');
    assert.equal(formatMeasure(12.25, 'distance_km'), '12.3 km');
    assert.equal(formatMeasure(0.5, 'hours'), '30 min');
    assert.equal(formatMeasure(15, 'activities'), '15');
    assert.equal(formatMeasure(null, 'activities'), '—');
  });

  test('distance against its limit: what is over is said; unknown ends are dashes', () => {
    assert.equal(overLimit(27.3, 25), 27.3 - 25);
    assert.equal(overLimit(null, 25), null);
    assert.equal(distanceVsLimit(27.34, 25), '27.3 km / 25.0 km (+2.3 km)');
    assert.equal(distanceVsLimit(15.01, 15), '15.0 km / 15.0 km (+0.0 km)');
    assert.equal(distanceVsLimit(14, 15), '14.0 km / 15.0 km');
    assert.equal(distanceVsLimit(null, 15), '— / 15.0 km');
  });

  test('names, and the distance check’s statuses (an unknown one shown as given)', () => {
    assert.equal(employeeName({ first_name: 'Juliette', last_name: 'Mendes' }), 'Juliette Mendes');
    assert.equal(employeeName({ first_name: null, last_name: 'Mendes' }), 'Mendes');
    assert.equal(employeeName({ first_name: '', last_name: null }), '—');
    assert.equal(distanceStatusInfo('unchecked').label, 'distance unchecked');
    assert.equal(distanceStatusInfo('inconsistent').label, 'inconsistent');
    assert.notEqual(distanceStatusInfo('inconsistent').color, distanceStatusInfo('checked').color);
    assert.equal(distanceStatusInfo('estimated').label, 'estimated');
  });
});

describe('rewards: the Slack outbox', () => {
  test('counts in the outbox’s order; dead letters and unconfirmed posts highlighted only when there are some', () => {
    const counts = statusCounts({ pending: 3, sending: 1, sent: 120, dead: 2, unconfirmed: 0, skipped: 4 });
    assert.deepEqual(
      counts.map((c) => [c.status, c.count, c.highlight]),
      [
        ['pending', 3, false],
        ['sending', 1, false],
        ['sent', 120, false],
        ['unconfirmed', 0, false],
        ['dead', 2, true],
        ['skipped', 4, false],
      ],
    );
    assert.equal(counts.find((c) => c.status === 'dead')?.label, 'Dead letter');
    assert.equal(statusCounts({ unconfirmed: 1 }).find((c) => c.status === 'unconfirmed')?.highlight, true);
    assert.equal(totalMessages({ pending: 3, sending: 1, sent: 120, dead: 2, unconfirmed: 0, skipped: 4 }), 130);
  });

  test('a status the answer lacks counts 0; no counts at all: every one 0', () => {
    const counts = statusCounts({ sent: 5 });
    assert.equal(counts.length, 6);
    assert.equal(counts.find((c) => c.status === 'pending')?.count, 0);
    assert.equal(totalMessages(null), 0);
    assert.ok(statusCounts(undefined).every((c) => c.count === 0 && !c.highlight));
  });

  test('statuses: known ones explained, alarming ones marked; an unknown one shown as given; the URL’s filter', () => {
    assert.equal(statusInfo('dead').alarming, true);
    assert.equal(statusInfo('unconfirmed').alarming, true);
    assert.equal(statusInfo('sent').alarming, false);
    assert.match(statusInfo('unconfirmed').meaning, /Slack may have shown it/);
    assert.deepEqual(statusInfo('paused'), { label: 'paused', color: '#757575', meaning: 'paused', alarming: false });
    assert.equal(notificationStatusParam('dead'), 'dead');
    assert.equal(notificationStatusParam('DEAD'), null);
    assert.equal(notificationStatusParam('constructor'), null);
    assert.equal(notificationStatusParam(undefined), null);
  });
});
