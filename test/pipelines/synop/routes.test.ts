import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { writeSynop } from '../../../src/connectors/generators/synop.js';
import { executeRun } from '../../../src/orchestrator/runner.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { DAILY_STATS_COLUMNS, dailyStatsSql } from '../../../src/pipelines/synop/dailyStats.js';
import { synopPipeline } from '../../../src/pipelines/synop/pipeline.js';
import { fixedOffsetStatsSql, matchCity, slugOf, type SynopStation } from '../../../src/pipelines/synop/routes.js';
import { buildApp } from '../../../src/server/app.js';
import { openPlatform, tempHome, writeInputs } from '../../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';

interface List<T = Record<string, unknown>> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}
type Row = Record<string, unknown>;

/** Stats rows comparable across warehouses: numbers rounded past float noise (sums differ in the last bits). */
function normalise(rows: readonly Row[]): Row[] {
  return rows.map((r) =>
    Object.fromEntries(
      DAILY_STATS_COLUMNS.map((c) => {
        const v = r[c];
        if (c === 'day') return [c, String(v).slice(0, 10)];
        if (typeof v === 'number' || typeof v === 'bigint') return [c, Math.round(Number(v) * 1e9) / 1e9];
        return [c, v ?? null];
      }),
    ),
  );
}

/** A station whose name has an accent, written by hand in the API's JSONL shape. */
const MONTELIMAR = [
  { numer_sta: '07577', date: '2024-01-11T00:00:00+00:00', t: 276.15, pmer: 101500, ff: 2, rr3: 0.4, nom: 'Montélimar' },
  { numer_sta: '07577', date: '2024-01-11T03:00:00+00:00', t: 275.15, pmer: 101400, ff: 3, rr3: -0.1, nom: 'Montélimar' },
  { numer_sta: '07577', date: '2024-01-11T06:00:00+00:00', t: null, pmer: null, ff: 1, rr3: null, nom: 'Montélimar' },
];

test('slugs and city matching ignore case, accents and separators', () => {
  assert.equal(slugOf('LILLE-LESQUIN'), 'lille-lesquin');
  assert.equal(slugOf("PLOUMANAC'H"), 'ploumanac-h');
  assert.equal(slugOf('RENNES-ST JACQUES'), 'rennes-st-jacques');
  assert.equal(slugOf('Montélimar'), 'montelimar');
  const stations: SynopStation[] = [
    { numer_sta: '07015', name: 'LILLE-LESQUIN', slug: 'lille-lesquin', latitude: 50.57, longitude: 3.1 },
    { numer_sta: '07577', name: 'Montélimar', slug: 'montelimar', latitude: null, longitude: null },
  ];
  for (const q of ['07015', '7015', 'lille-lesquin', 'LILLE-LESQUIN', 'Lille Lesquin', 'lille_lesquin', 'Lillé-Lesquîn']) {
    assert.equal(matchCity(stations, q)?.numer_sta, '07015', q);
  }
  for (const q of ['MONTELIMAR', 'montélimar', 'Montelimar']) assert.equal(matchCity(stations, q)?.numer_sta, '07577', q);
  for (const q of ['lille', 'paris', '---', '15']) assert.equal(matchCity(stations, q), undefined, q);
});

for (const setup of SETUPS) {
  describe(`synop API on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    let home: string;
    let platform: Platform;
    let app: FastifyInstance;
    const get = async <T = List>(url: string, status = 200): Promise<T> => {
      const r = await app.inject(url);
      assert.equal(r.statusCode, status, `${url}: ${r.body}`);
      return r.json<T>();
    };

    before(async () => {
      home = await tempHome('ecluse-synop-routes-');
      platform = await openPlatform(home, await envOf(home));
      const dir = join(home, 'in');
      await writeInputs(dir, { 'montelimar.jsonl': MONTELIMAR.map((r) => JSON.stringify(r)).join('\n') + '\n' });
      // Winter days: Paris is UTC+1 throughout.
      await writeSynop(join(dir, 'gen.jsonl'), 'jsonl', { stations: 3, from: '2024-01-10', to: '2024-01-14', seed: 11 });
      const summary = await executeRun(platform, synopPipeline, { inputs: [dir], trigger: 'cli' });
      assert.equal(summary.status, 'succeeded', summary.error ?? '');
      app = await buildApp({ platform, logger: false });
    });

    after(async () => {
      await app?.close();
      await platform?.warehouse.close();
    });

    test('GET /staging/cities lists each station with its span', async () => {
      const list = await get<List>('/staging/cities');
      const expected = await platform.warehouse.query(
        'SELECT numer_sta, count(*) AS n, max(nom) AS nom FROM observations GROUP BY numer_sta ORDER BY numer_sta',
      );
      assert.equal(list.total, 4);
      assert.deepEqual(
        list.items.map((c) => [c.numer_sta, c.name, c.observations]),
        expected.map((r) => [r.numer_sta, r.nom, Number(r.n)]),
      );
      const lille = list.items.find((c) => c.numer_sta === '07015');
      assert.equal(lille?.slug, 'lille-lesquin');
      assert.equal(typeof lille?.latitude, 'number');
      assert.match(String(lille?.first_observed_at), /^2024-01-10T\d\d:00:00(\.000)?Z$/);
      const paged = await get<List>('/staging/cities?limit=2&offset=1');
      assert.deepEqual(
        [paged.items.map((c) => c.numer_sta), paged.total, paged.limit, paged.offset],
        [list.items.slice(1, 3).map((c) => c.numer_sta), 4, 2, 1],
      );
    });

    test('GET /staging/cities/{city}: name, slug, number, accents; 404 otherwise', async () => {
      const ids = new Set<unknown>();
      for (const city of ['07015', '7015', 'LILLE-LESQUIN', 'lille-lesquin', 'Lille%20Lesquin', 'lill%C3%A9_lesquin']) {
        const body = await get<List>(`/staging/cities/${city}?limit=1`);
        assert.equal(body.items.length, 1, city);
        ids.add(body.items[0]?.numer_sta);
      }
      assert.deepEqual([...ids], ['07015']);
      const mont = await get<List>('/staging/cities/MONTELIMAR');
      assert.equal(mont.total, 3);
      assert.equal(mont.items[1]?.precip_3h_trace, true);
      assert.equal(mont.items[1]?.precip_3h_mm, 0);
      assert.equal(mont.items[2]?.temperature_c, null, 'missing stays missing');
      assert.equal((await get<List>('/staging/cities/mont%C3%A9limar')).total, 3);
      const none = await app.inject('/staging/cities/atlantis');
      assert.equal(none.statusCode, 404);
      assert.equal(none.json().error, 'not_found');
      assert.match(none.json().message, /atlantis/);
      assert.equal((await app.inject('/staging/cities/07015?from=2024-13-01')).statusCode, 400);
      assert.equal((await app.inject('/staging/cities/07015?limit=0')).statusCode, 400);
    });

    test('GET /staging/cities/{city} pages observations of Paris days, ascending', async () => {
      // Paris days 11 and 12 January: 2024-01-10T23:00Z to 2024-01-12T23:00Z.
      const all = await platform.warehouse.query(
        `SELECT observed_at FROM observations WHERE numer_sta = '07015'
         AND observed_at >= CAST('2024-01-10 23:00:00' AS TIMESTAMP) AND observed_at < CAST('2024-01-12 23:00:00' AS TIMESTAMP) ORDER BY observed_at`,
      );
      assert.ok(all.length > 10);
      const page = await get<List>('/staging/cities/lille-lesquin?from=2024-01-11&to=2024-01-12&limit=5&offset=3');
      assert.deepEqual([page.total, page.limit, page.offset], [all.length, 5, 3]);
      assert.deepEqual(
        page.items.map((o) => o.observed_at),
        all.slice(3, 8).map((r) => r.observed_at),
      );
      assert.equal(page.items[0]?.nom, 'LILLE-LESQUIN');
      // Instants: from inclusive, to exclusive.
      const instants = await get<List>('/staging/cities/07015?from=2024-01-11T00:00:00Z&to=2024-01-11T06:00:00Z');
      for (const o of instants.items) assert.ok(String(o.observed_at) >= '2024-01-11T00' && String(o.observed_at) < '2024-01-11T06', String(o.observed_at));
      const last = await get<List>(`/staging/cities/07015?from=2024-01-11&to=2024-01-12&offset=${all.length}`);
      assert.deepEqual([last.items, last.total], [[], all.length]);
    });

    test('GET /curated/cities and /curated/cities/{city} serve the stored Paris days', async () => {
      const stored = normalise(
        await platform.warehouse.query(
          `SELECT ${DAILY_STATS_COLUMNS.map((c) => (c === 'day' ? 'CAST(day AS VARCHAR) AS day' : c)).join(', ')}
           FROM daily_city_stats WHERE numer_sta = '07015' ORDER BY day`,
        ),
      );
      const cities = await get<List>('/curated/cities');
      assert.equal(cities.total, 4);
      const lille = cities.items.find((c) => c.numer_sta === '07015');
      assert.deepEqual(
        { name: lille?.name, slug: lille?.slug, days: lille?.days, first_day: lille?.first_day, last_day: lille?.last_day },
        { name: 'LILLE-LESQUIN', slug: 'lille-lesquin', days: stored.length, first_day: stored[0]?.day, last_day: stored.at(-1)?.day },
      );
      const all = await get<List>('/curated/cities/Lille-Lesquin');
      assert.deepEqual(normalise(all.items), stored);
      const range = await get<List>('/curated/cities/07015?from=2024-01-11&to=2024-01-12');
      assert.deepEqual(
        range.items.map((d) => d.day),
        ['2024-01-11', '2024-01-12'],
      );
      assert.equal(range.total, 2);
      assert.equal((await get<List>('/curated/cities/07015?from=2030-01-01')).total, 0);
      assert.equal((await app.inject('/curated/cities/07015?from=2024-01-12&to=2024-01-11')).statusCode, 400);
      assert.equal((await app.inject('/curated/cities/07015?tz=Asia/Tokyo')).statusCode, 400);
      assert.equal((await app.inject('/curated/cities/nowhere')).statusCode, 404);
    });

    test('the portable statistics query equals the stored rows for a Paris winter day (UTC+1)', async () => {
      const portable = normalise(await platform.warehouse.query(fixedOffsetStatsSql(`numer_sta IN ('07005', '07015', '07020')`, 1))).filter(
        (r) => r.day === '2024-01-12',
      );
      const stored = normalise(
        await platform.warehouse.query(
          `SELECT ${DAILY_STATS_COLUMNS.map((c) => (c === 'day' ? 'CAST(day AS VARCHAR) AS day' : c)).join(', ')}
           FROM daily_city_stats WHERE day = CAST('2024-01-12' AS DATE) ORDER BY numer_sta`,
        ),
      ).filter((r) => r.numer_sta !== '07577');
      assert.equal(stored.length, 3);
      assert.deepEqual(
        portable.sort((a, b) => String(a.numer_sta).localeCompare(String(b.numer_sta))),
        stored,
      );
    });

    test('tz=UTC recomputes the statistics for UTC days from staging', async () => {
      const utc = await get<List>('/curated/cities/07015?from=2024-01-11&to=2024-01-13&tz=UTC');
      assert.deepEqual(
        utc.items.map((d) => d.day),
        ['2024-01-11', '2024-01-12', '2024-01-13'],
      );
      // Computed by hand from the day's staging rows.
      const obs = (await get<List>('/staging/cities/07015?from=2024-01-12T00:00:00Z&to=2024-01-13T00:00:00Z')).items;
      const day = utc.items[1] as Row;
      const temps = obs.map((o) => o.temperature_c).filter((t): t is number => typeof t === 'number');
      const rains = obs.map((o) => o.precip_3h_mm).filter((t): t is number => typeof t === 'number');
      const close = (a: unknown, b: number | null) => (b === null ? assert.equal(a, null) : assert.ok(Math.abs(Number(a) - b) < 1e-9, `${String(a)} vs ${b}`));
      assert.equal(day.observations, obs.length);
      close(day.completeness, obs.length / 8);
      close(day.temperature_min_c, Math.min(...temps));
      close(day.temperature_max_c, Math.max(...temps));
      close(day.temperature_avg_c, temps.reduce((a, b) => a + b, 0) / temps.length);
      close(day.rainfall_mm, rains.length ? rains.reduce((a, b) => a + b, 0) : null);
      assert.equal(day.hours_with_rain, 3 * obs.filter((o) => Number(o.precip_3h_mm) > 0 || o.precip_3h_trace === true).length);
      // A trace counts as rain, 0 mm; a missing temperature is left out.
      const mont = await get<List>('/curated/cities/montelimar?tz=UTC');
      assert.deepEqual(normalise(mont.items)[0], {
        numer_sta: '07577',
        day: '2024-01-11',
        temperature_min_c: 2,
        temperature_avg_c: 2.5,
        temperature_max_c: 3,
        pressure_min_hpa: 1014,
        pressure_avg_hpa: 1014.5,
        pressure_max_hpa: 1015,
        wind_avg_kmh: 7.2,
        wind_max_kmh: 10.8,
        gust_max_kmh: null,
        rainfall_mm: 0.4,
        hours_with_rain: 6,
        observations: 3,
        completeness: 0.375,
      });
      if (setup.warehouse === 'duckdb') {
        // The pipeline's own definition, in UTC, over the same rows.
        const reference = normalise(await platform.warehouse.query(`${dailyStatsSql('observations', 'UTC')} ORDER BY numer_sta, day`));
        assert.deepEqual(
          normalise(utc.items),
          reference.filter((r) => r.numer_sta === '07015' && String(r.day) >= '2024-01-11' && String(r.day) <= '2024-01-13'),
        );
      }
    });
  });
}
