import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EnergyObservation, EnergyRegion, EnergyStat, MixItem } from '../../web/src/pipelines/eco2mix/api.js';
import {
  EMPTY_OBSERVATION,
  defaultRegion,
  findRegion,
  formatMw,
  formatMwh,
  formatShare,
  incompleteDays,
  latestHour,
  mixRows,
  observedDays,
  pageRange,
  parisDay,
  seriesOf,
  sourceColor,
  sourceLabel,
  stackedSources,
  statsAsObservations,
  statsGrain,
  timeline,
} from '../../web/src/pipelines/eco2mix/energy.js';

/** The Energy page's data shaping (web/src/pipelines/eco2mix/energy.ts): what its charts, tables and grid show. */

const EMPTY = { ...EMPTY_OBSERVATION, nature: 'Données consolidées' };
const obs = (observed_at: string, values: Partial<EnergyObservation> = {}): EnergyObservation => ({ ...EMPTY, observed_at, ...values });

const stat = (source: string, period: string, values: Partial<EnergyStat> = {}): EnergyStat => ({
  region: '11',
  source,
  period,
  grain: period.length === 10 ? 'day' : 'hour',
  avg_mw: 100,
  min_mw: 90,
  max_mw: 110,
  energy_mwh: 100,
  samples: 2,
  completeness: 1,
  share_of_consumption: null,
  nature: 'Données consolidées',
  processed_at: '2024-01-10T00:00:00Z',
  ...values,
});

const region = (code: string, name: string, first: string | null, last: string | null): EnergyRegion => ({
  code,
  name,
  first_observed_at: first,
  last_observed_at: last,
});

/** Paris is UTC+1 in January: wall clock = instant + 1 h. */
const H = 3_600_000;
const ms = (iso: string) => Date.parse(iso);

describe('energy: the stacked chart', () => {
  test('stacked sources: those holding a value, steadiest first; no empty layer (nuclear in Île-de-France)', () => {
    const items = [
      obs('2024-01-01T00:00:00Z', { nuclear: 0, wind_onshore: 10, solar: null, hydro: 3, consumption: 50 }),
      obs('2024-01-01T00:30:00Z', { solar: 1 }),
    ];
    assert.deepEqual(stackedSources(items), ['nuclear', 'hydro', 'wind_onshore', 'solar'], 'a real 0 counts as a value');
  });

  test('data without the onshore/offshore split (2020 layout) stacks wind whole, in the wind’s place', () => {
    const items = [obs('2019-01-01T00:00:00Z', { nuclear: 5, wind: 10, solar: 1, thermal: 2 })];
    assert.deepEqual(stackedSources(items), ['nuclear', 'thermal', 'wind', 'solar']);
    // Split data never stacks wind as well: it would count twice.
    assert.ok(!stackedSources([obs('2024-01-01T00:00:00Z', { wind: 10, wind_onshore: 10 })]).includes('wind'));
  });

  test('timeline: sorted, in Paris wall clock, one null row per gap so every layer breaks at the same place', () => {
    const items = [
      obs('2024-01-01T01:00:00Z', { nuclear: 3 }),
      obs('2024-01-01T00:00:00Z', { nuclear: 1 }),
      obs('2024-01-01T00:30:00Z', { nuclear: 2 }),
      // Three hours missing: more than three 30-minute steps.
      obs('2024-01-01T04:30:00Z', { nuclear: 4 }),
      obs('not an instant', { nuclear: 9 }),
    ];
    const tl = timeline(items);
    assert.deepEqual(
      tl.t.map((t) => new Date(t).toISOString()),
      ['2024-01-01T01:00:00.000Z', '2024-01-01T01:30:00.000Z', '2024-01-01T02:00:00.000Z', '2024-01-01T03:45:00.000Z', '2024-01-01T05:30:00.000Z'],
    );
    assert.deepEqual(
      seriesOf(tl, 'nuclear').map((p) => p[1]),
      [1, 2, 3, null, 4],
    );
    assert.deepEqual(
      seriesOf(tl, 'solar').map((p) => p[1]),
      [null, null, null, null, null],
      'no value is null, never 0',
    );
    // In summer Paris is UTC+2.
    assert.equal(timeline([obs('2024-07-01T00:00:00Z')]).t[0], ms('2024-07-01T00:00:00Z') + 2 * H);
  });

  test('timeline: the server’s bucket is the step when it gives one', () => {
    const items = [obs('2024-01-01T00:00:00Z'), obs('2024-01-01T00:10:00Z'), obs('2024-01-01T00:20:00Z'), obs('2024-01-01T02:10:00Z')];
    assert.equal(timeline(items).rows.filter((r) => r === null).length, 1, 'typical step 10 min: a 110-minute jump is a gap');
    assert.equal(timeline(items, 3600).rows.filter((r) => r === null).length, 0, 'hourly buckets: 110 minutes is not a gap');
    assert.deepEqual(timeline([]), { t: [], rows: [] });
  });

  test('stats as observations: each period’s average at its start; a day starts at Paris midnight', () => {
    const hours = statsAsObservations([
      stat('nuclear', '2024-01-01T01:00:00Z', { avg_mw: 7 }),
      stat('consumption', '2024-01-01T00:00:00Z', { avg_mw: 50 }),
      stat('nuclear', '2024-01-01T00:00:00Z', { avg_mw: 5 }),
      stat('no such source', '2024-01-01T00:00:00Z'),
    ]);
    assert.deepEqual(
      hours.map((o) => [o.observed_at, o.nuclear, o.consumption]),
      [
        ['2024-01-01T00:00:00Z', 5, 50],
        ['2024-01-01T01:00:00Z', 7, null],
      ],
    );
    const days = statsAsObservations([stat('solar', '2024-07-14', { avg_mw: 12 })]);
    assert.deepEqual(
      days.map((o) => [o.observed_at, o.solar]),
      [['2024-07-13T22:00:00.000Z', 12]],
    );
    assert.equal(statsGrain('2024-01-01', '2024-01-31'), 'hour');
    assert.equal(statsGrain('2024-01-01', '2024-02-01'), 'day');
  });
});

describe('energy: range, region, completeness', () => {
  const idf = region('11', 'Île-de-France', '2024-01-01T00:00:00Z', '2024-01-20T22:30:00Z');

  test('range: the URL’s days; else the region’s last 7 Paris days, never before its first', () => {
    assert.deepEqual(pageRange({ from: '2024-01-03', to: '2024-01-05' }, idf, '2025-01-01'), { from: '2024-01-03', to: '2024-01-05' });
    assert.deepEqual(pageRange({}, idf, '2025-01-01'), { from: '2024-01-14', to: '2024-01-20' });
    // 22:30Z on 20 January is 23:30 in Paris: still the 20th; 23:30Z is the 21st.
    assert.deepEqual(pageRange({}, { ...idf, last_observed_at: '2024-01-20T23:30:00Z' }, '2025-01-01'), { from: '2024-01-15', to: '2024-01-21' });
    assert.deepEqual(pageRange({}, { ...idf, last_observed_at: '2024-01-03T12:00:00Z' }, '2025-01-01'), { from: '2024-01-01', to: '2024-01-03' });
    assert.deepEqual(pageRange({ from: '2024-01-09', to: '2024-01-02' }, idf, '2025-01-01'), { from: '2024-01-02', to: '2024-01-09' }, 'backwards: swapped');
    assert.deepEqual(pageRange({ from: 'soon', to: '2024-13-01' }, idf, '2025-01-01'), { from: '2024-01-14', to: '2024-01-20' }, 'not days: defaults');
    assert.deepEqual(pageRange({}, undefined, '2025-01-01'), { from: '2024-12-26', to: '2025-01-01' });
  });

  test('regions: found by code or name; France first when the server has it', () => {
    const regions = [idf, region('FR', 'France', null, null), region('53', 'Bretagne', null, null)];
    assert.equal(findRegion(regions, '53')?.name, 'Bretagne');
    assert.equal(findRegion(regions, 'île-de-france')?.code, '11');
    assert.equal(findRegion(regions, 'fr')?.code, 'FR');
    assert.equal(findRegion(regions, 'Atlantis'), undefined);
    assert.equal(findRegion(regions, undefined), undefined);
    assert.equal(defaultRegion(regions)?.code, 'FR');
    assert.equal(defaultRegion([idf])?.code, '11');
    assert.equal(defaultRegion([]), undefined);
  });

  test('incomplete days: consumption’s day rows below 100 %, and days without a row at 0 %', () => {
    const days = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04'];
    const rows = [
      stat('consumption', '2024-01-01'),
      stat('consumption', '2024-01-02', { completeness: 0.958333, samples: 46, nature: 'Données temps réel' }),
      // Another source's gap is not the day's.
      stat('solar', '2024-01-03', { completeness: 0.5 }),
      stat('consumption', '2024-01-03'),
      stat('consumption', '2024-01-05', { completeness: 0.1 }),
    ];
    assert.deepEqual(incompleteDays(days, rows), [
      { day: '2024-01-02', completeness: 0.958333, samples: 46, nature: 'Données temps réel' },
      { day: '2024-01-04', completeness: 0, samples: 0, nature: null },
    ]);
    assert.deepEqual(
      incompleteDays(days, rows, 'solar').map((d) => d.day),
      ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04'],
    );
  });

  test('observed days: the range cut to the region’s first and last Paris days', () => {
    assert.deepEqual(observedDays('2023-12-30', '2024-01-02', idf), ['2024-01-01', '2024-01-02']);
    assert.deepEqual(observedDays('2024-01-19', '2024-02-02', idf), ['2024-01-19', '2024-01-20']);
    assert.deepEqual(observedDays('2024-02-01', '2024-02-02', idf), []);
    assert.deepEqual(observedDays('2024-01-01', '2024-01-02', region('FR', 'France', null, null)), []);
    assert.equal(parisDay('2023-12-31T23:00:00Z'), '2024-01-01');
    assert.equal(parisDay(null), null);
  });
});

describe('energy: the regions’ grid and the mix', () => {
  test('latest hour: the last hour with consumption, its three largest production sources', () => {
    const rows = [
      stat('consumption', '2024-01-01T22:00:00Z', { avg_mw: 8000 }),
      stat('nuclear', '2024-01-01T22:00:00Z', { avg_mw: 1 }),
      stat('consumption', '2024-01-01T23:00:00Z', { avg_mw: 7000 }),
      stat('nuclear', '2024-01-01T23:00:00Z', { avg_mw: 5000, share_of_consumption: 0.714286 }),
      stat('hydro', '2024-01-01T23:00:00Z', { avg_mw: 800 }),
      stat('wind', '2024-01-01T23:00:00Z', { avg_mw: 1200 }),
      stat('solar', '2024-01-01T23:00:00Z', { avg_mw: 0 }),
      stat('thermal', '2024-01-01T23:00:00Z', { avg_mw: 300 }),
      // A later hour where only a source reported.
      stat('wind', '2024-01-02T00:00:00Z', { avg_mw: 1100 }),
    ];
    const h = latestHour(rows);
    assert.equal(h?.period, '2024-01-01T23:00:00Z');
    assert.equal(h?.consumption?.avg_mw, 7000);
    assert.deepEqual(
      h?.main.map((r) => r.source),
      ['nuclear', 'wind', 'hydro'],
    );
    assert.deepEqual(
      latestHour(rows, 10)?.main.map((r) => r.source),
      ['nuclear', 'wind', 'hydro', 'thermal'],
      'solar at night produces nothing: not a main source',
    );
    assert.equal(latestHour([stat('wind', '2024-01-02T00:00:00Z')])?.consumption, null, 'no consumption at all: the latest hour still shows');
    assert.equal(latestHour([]), null);
    assert.equal(latestHour([stat('consumption', '2024-01-01')]), null, 'day rows are not hours');
  });

  test('mix rows: production by energy, largest first, then the rest in the API’s order', () => {
    const item = (source: string, energy: number, share: number | null): MixItem => ({
      region: '11',
      source,
      energy_mwh: energy,
      share_of_production: share,
      share_of_consumption: null,
    });
    const rows = mixRows([item('exchanges', 50, null), item('solar', 10, 0.1), item('consumption', 200, null), item('nuclear', 90, 0.9)]);
    assert.deepEqual(
      rows.map((r) => r.source),
      ['nuclear', 'solar', 'consumption', 'exchanges'],
    );
  });

  test('formats: shares in percent, power and energy whole with separators, missing a dash', () => {
    assert.equal(formatShare(0.123456), '12.3 %');
    assert.equal(formatShare(1), '100.0 %');
    assert.equal(formatShare(0), '0.0 %');
    assert.equal(formatShare(null), '—');
    assert.equal(formatMw(12345.6), '12,346 MW');
    assert.equal(formatMw(-250), '-250 MW');
    assert.equal(formatMw(null), '—');
    assert.equal(formatMwh(1234567.4), '1,234,567 MWh');
    assert.equal(formatMwh(undefined), '—');
    assert.equal(sourceLabel('wind_offshore'), 'Wind offshore');
    assert.equal(sourceLabel('geothermal'), 'geothermal');
    assert.equal(sourceColor('geothermal'), '#9e9e9e');
  });
});
