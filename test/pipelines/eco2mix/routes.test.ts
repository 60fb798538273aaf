import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { writeEco2mix } from '../../../src/connectors/generators/eco2mix.js';
import { executeRun } from '../../../src/orchestrator/runner.js';
import { eco2mixPipeline } from '../../../src/pipelines/eco2mix/pipeline.js';
import { bucketSeconds } from '../../../src/pipelines/eco2mix/routes.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { buildApp } from '../../../src/server/app.js';
import { openPlatform, tempHome, writeInputs } from '../../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';

type Row = Record<string, unknown>;
interface Page {
  items: Row[];
  total: number;
  limit: number;
  offset: number;
}

const TR = 'Données temps réel';

/**
 * Bretagne (53), Wednesday 2024-01-10 (Paris UTC+1, 2024-01-09T23:00Z → 2024-01-10T23:00Z), real time: two
 * 15-minute records at the start of each 6-hour quarter of the day (00:00, 00:15, 06:00, 06:15, … local),
 * consumption 1000 + 10k at record k, flat production: thermal 30, onshore 80, offshore 20, solar 0,
 * hydro 50, bioenergy 10, battery discharge 5; no nuclear.
 */
const LOCAL_TIMES = ['00:00', '00:15', '06:00', '06:15', '12:00', '12:15', '18:00', '18:15'];
function bretagne(): string {
  return (
    LOCAL_TIMES.map((t, k) =>
      JSON.stringify({
        code_insee_region: '53',
        libelle_region: 'Bretagne',
        nature: TR,
        date: '2024-01-10',
        heure: t,
        date_heure: `2024-01-10T${t}:00+01:00`,
        consommation: 1000 + 10 * k,
        thermique: 30,
        nucleaire: 'ND',
        eolien: 100,
        solaire: 0,
        hydraulique: 50,
        pompage: null,
        bioenergies: 10,
        ech_physiques: -200,
        stockage_batterie: null,
        destockage_batterie: 5,
        eolien_terrestre: 80,
        eolien_offshore: 20,
        column_30: null,
      }),
    ).join('\n') + '\n'
  );
}

/** Energy (MWh) of Bretagne's day per source: each real-time record stands for 0.25 h. */
const BZH_CONSUMPTION = 0.25 * LOCAL_TIMES.reduce((s, _t, k) => s + 1000 + 10 * k, 0);
const BZH_PRODUCTION: Record<string, number> = {
  thermal: 0.25 * 8 * 30,
  wind_onshore: 0.25 * 8 * 80,
  wind_offshore: 0.25 * 8 * 20,
  solar: 0,
  hydro: 0.25 * 8 * 50,
  bioenergy: 0.25 * 8 * 10,
  battery_discharge: 0.25 * 8 * 5,
};

const close = (actual: unknown, expected: number | null, what: string) =>
  expected === null ? assert.equal(actual, null, what) : assert.ok(Math.abs(Number(actual) - expected) < 1e-6, `${what}: ${String(actual)} vs ${expected}`);

test('bucket widths: the smallest of the ladder, then whole days, giving at most max_points buckets', () => {
  const day = [new Date('2024-01-09T23:00:00Z'), new Date('2024-01-10T23:00:00Z')] as const;
  assert.equal(bucketSeconds(...day, 96), 900);
  assert.equal(bucketSeconds(...day, 95), 1800);
  assert.equal(bucketSeconds(...day, 4), 21_600);
  assert.equal(bucketSeconds(...day, 1), 86_400);
  const year = [new Date('2023-12-31T23:00:00Z'), new Date('2024-12-31T23:00:00Z')] as const;
  assert.equal(bucketSeconds(...year, 500), 86_400);
  assert.equal(bucketSeconds(...year, 100), 4 * 86_400);
});

for (const setup of SETUPS) {
  describe(`eco2mix API on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    let platform: Platform;
    let app: FastifyInstance;
    let runId: number;
    const get = async <T = Page>(url: string, status = 200): Promise<T> => {
      const r = await app.inject(url);
      assert.equal(r.statusCode, status, `${url}: ${r.body}`);
      return r.json<T>();
    };
    const latest = (where: string, params: (string | number)[] = []) =>
      platform.warehouse.query(
        `SELECT region_code, source, grain, period, period_start, avg_mw, min_mw, max_mw, energy_mwh, samples, completeness, share_of_consumption, nature
         FROM regional_energy_stats_latest WHERE ${where} ORDER BY period_start, source`,
        params,
      );

    before(async () => {
      const home = await tempHome('ecluse-eco2mix-routes-');
      platform = await openPlatform(home, await envOf(home));
      const dir = join(home, 'in');
      await writeInputs(dir, { 'bretagne.jsonl': bretagne() });
      // Île-de-France and Centre-Val de Loire around the spring DST day (2024-03-31, 23 hours in Paris), every 30 minutes.
      await writeEco2mix(join(dir, 'gen.jsonl'), 'jsonl', {
        regions: 2,
        from: '2024-03-30',
        to: '2024-04-01',
        dataset: 'cons-def',
        seed: 7,
        now: Date.UTC(2025, 5, 1),
      });
      const summary = await executeRun(platform, eco2mixPipeline, { inputs: [dir], trigger: 'cli' });
      assert.equal(summary.status, 'succeeded', summary.error ?? '');
      runId = Number(summary.run_id);
      // National totals, written here: the suite must not depend on the pipeline computing them.
      for (const [source, energy] of [
        ['consumption', 1000],
        ['nuclear', 600],
        ['wind', 300],
        ['wind_onshore', 250],
        ['wind_offshore', 50],
        ['solar', 100],
      ] as const) {
        await platform.warehouse.execute(
          `INSERT INTO regional_energy_stats (region_code, source, grain, period, period_start, avg_mw, min_mw, max_mw, energy_mwh, samples, completeness,
             share_of_consumption, nature, processed_at, run_id)
           VALUES ('FR', $1, 'day', '2024-01-10', CAST('2024-01-09 23:00:00' AS TIMESTAMP), $2, $2, $2, $3, 48, 1, NULL, $4, CAST('2024-06-01 00:00:00' AS TIMESTAMP), $5)`,
          [source, energy / 24, energy, 'Données consolidées', runId],
        );
      }
      app = await buildApp({ platform, logger: false });
    });

    after(async () => {
      await app?.close();
      await platform?.warehouse.close();
    });

    test('GET /energy/regions: FR first, then each region with data and its first and last instant', async () => {
      const body = await get<{ items: Row[] }>('/energy/regions');
      const spans = await platform.warehouse.query(
        'SELECT region_code, min(observed_at) AS first_at, max(observed_at) AS last_at FROM regional_observations GROUP BY region_code ORDER BY region_code',
      );
      assert.deepEqual(
        body.items.map((r) => r.code),
        ['FR', '11', '24', '53'],
      );
      assert.deepEqual(body.items[0], { code: 'FR', name: 'France', first_observed_at: '2024-01-09T23:00:00Z', last_observed_at: '2024-01-09T23:00:00Z' });
      assert.deepEqual(
        body.items.slice(1).map((r) => [r.code, r.first_observed_at, r.last_observed_at]),
        spans.map((s) => [s.region_code, s.first_at, s.last_at]),
      );
      assert.deepEqual(
        body.items.slice(1).map((r) => r.name),
        ['Île-de-France', 'Centre-Val de Loire', 'Bretagne'],
      );
      assert.equal(body.items[3]?.first_observed_at, '2024-01-09T23:00:00Z');
      assert.equal(body.items[3]?.last_observed_at, '2024-01-10T17:15:00Z');
      assert.match(String(body.items[1]?.first_observed_at), /^2024-03-29T23:00:00Z$/);
    });

    test('GET /energy/regions/{code}/stats: day grain by default, the latest rows, paged', async () => {
      const stored = await latest(`region_code = '11' AND grain = 'day'`);
      assert.equal(new Set(stored.map((r) => r.period)).size, 3);
      const body = await get('/energy/regions/11/stats?from=2024-03-30&to=2024-04-01');
      assert.deepEqual([body.total, body.limit, body.offset], [stored.length, 1000, 0]);
      assert.deepEqual(
        body.items.map((r) => [r.region, r.source, r.period, r.grain]),
        stored.map((r) => ['11', r.source, r.period, 'day']),
      );
      for (const [k, item] of body.items.entries()) {
        for (const c of ['avg_mw', 'min_mw', 'max_mw', 'energy_mwh', 'samples', 'completeness', 'share_of_consumption', 'nature']) {
          assert.deepEqual(item[c], stored[k]?.[c], `${String(item.source)} ${String(item.period)} ${c}`);
        }
        assert.match(String(item.processed_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      }
      // The DST day: 46 half hours, consolidated.
      const dst = body.items.find((r) => r.period === '2024-03-31' && r.source === 'consumption');
      assert.deepEqual([dst?.samples, dst?.completeness], [46, 1]);

      const one = await get('/energy/regions/11/stats?from=2024-03-31&to=2024-03-31&sources=consumption,wind');
      assert.deepEqual(
        one.items.map((r) => [r.period, r.source]),
        [
          ['2024-03-31', 'consumption'],
          ['2024-03-31', 'wind'],
        ],
      );
      const paged = await get('/energy/regions/11/stats?limit=5&offset=4');
      assert.deepEqual([paged.total, paged.limit, paged.offset], [stored.length, 5, 4]);
      assert.deepEqual(
        paged.items.map((r) => [r.period, r.source]),
        stored.slice(4, 9).map((r) => [r.period, r.source]),
      );
      assert.equal((await get('/energy/regions/11/stats?from=2030-01-01')).total, 0);
      // A region known but without data answers an empty page, not 404.
      assert.equal((await get('/energy/regions/93/stats')).total, 0);
    });

    test('GET /energy/regions/{code}/stats?grain=hour: the hours of Paris days, a DST day having 23', async () => {
      const body = await get('/energy/regions/11/stats?from=2024-03-31&to=2024-03-31&grain=hour&sources=consumption');
      assert.equal(body.total, 23);
      assert.equal(body.items[0]?.period, '2024-03-30T23:00:00Z');
      assert.equal(body.items.at(-1)?.period, '2024-03-31T21:00:00Z');
      const stored = await latest(
        `region_code = '11' AND grain = 'hour' AND source = 'consumption' AND period >= '2024-03-30T23' AND period < '2024-03-31T22'`,
      );
      assert.deepEqual(
        body.items.map((r) => [r.period, r.energy_mwh, r.samples, r.grain]),
        stored.map((r) => [r.period, r.energy_mwh, r.samples, 'hour']),
      );
      const two = await get('/energy/regions/11/stats?from=2024-03-31&to=2024-04-01&grain=hour&sources=wind_onshore');
      assert.equal(two.total, 23 + 24);
      // Bretagne's hours: two records each, 15 minutes apart.
      const bzh = await get('/energy/regions/53/stats?from=2024-01-10&to=2024-01-10&grain=hour&sources=consumption');
      assert.deepEqual(
        bzh.items.map((r) => [r.period, r.samples, r.energy_mwh, r.completeness]),
        [
          ['2024-01-09T23:00:00Z', 2, 0.25 * (1000 + 1010), 0.5],
          ['2024-01-10T05:00:00Z', 2, 0.25 * (1020 + 1030), 0.5],
          ['2024-01-10T11:00:00Z', 2, 0.25 * (1040 + 1050), 0.5],
          ['2024-01-10T17:00:00Z', 2, 0.25 * (1060 + 1070), 0.5],
        ],
      );
    });

    test('GET /energy/regions/{code}/stats: 404 for an unknown region, 400 naming the parameter', async () => {
      for (const code of ['99', 'XX', 'fr']) {
        const r = await app.inject(`/energy/regions/${code}/stats`);
        assert.equal(r.statusCode, 404, code);
        assert.equal(r.json().error, 'not_found');
        assert.match(r.json().message, new RegExp(`"${code}".*11, 24`));
      }
      const bad = async (url: string, pattern: RegExp) => {
        const r = await app.inject(url);
        assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
        assert.equal(r.json().error, 'bad_request');
        assert.match(r.json().message, pattern, url);
      };
      await bad('/energy/regions/11/stats?sources=consumption,coal', /sources: unknown source "coal"; known: consumption, thermal, nuclear, wind,/);
      await bad('/energy/regions/11/stats?grain=week', /grain/);
      await bad('/energy/regions/11/stats?from=2024-02-30', /from must be a calendar day YYYY-MM-DD, got "2024-02-30"/);
      await bad('/energy/regions/11/stats?to=yesterday', /^to must be a calendar day/);
      await bad('/energy/regions/11/stats?from=2024-04-01&to=2024-03-31', /from \(2024-04-01\) must not be after to \(2024-03-31\)/);
      await bad('/energy/regions/11/stats?limit=0', /limit/);
      await bad('/energy/regions/11/stats?limit=10001', /limit/);
      await bad('/energy/mix?from=2024-01-10', /to/);
      await bad('/energy/mix?from=2024-01-10&to=2024-1-11', /to must be a calendar day/);
      await bad('/energy/regions/53/observations?from=2024-01-10&to=2024-01-10&max_points=5001', /max_points/);
      await bad('/energy/regions/53/observations?to=2024-01-10', /from/);
      assert.equal((await app.inject('/energy/mix?from=2024-01-10&to=2024-01-10&region=99')).statusCode, 404);
      assert.equal((await app.inject('/energy/regions/99/observations?from=2024-01-10&to=2024-01-10')).statusCode, 404);
    });

    test('GET /energy/regions/FR/stats reads the national rows', async () => {
      const body = await get('/energy/regions/FR/stats?from=2024-01-10&to=2024-01-10&sources=consumption,nuclear');
      assert.deepEqual(
        body.items.map((r) => [r.region, r.source, r.period, r.energy_mwh, r.samples, r.nature, r.processed_at]),
        [
          ['FR', 'consumption', '2024-01-10', 1000, 48, 'Données consolidées', '2024-06-01T00:00:00Z'],
          ['FR', 'nuclear', '2024-01-10', 600, 48, 'Données consolidées', '2024-06-01T00:00:00Z'],
        ],
      );
    });

    test('GET /energy/mix: shares of production and of consumption, wind counted once', async () => {
      const body = await get<{ from: string; to: string; items: Row[] }>('/energy/mix?from=2024-01-10&to=2024-01-10');
      assert.deepEqual([body.from, body.to], ['2024-01-10', '2024-01-10']);
      assert.deepEqual([...new Set(body.items.map((r) => r.region))], ['FR', '53']);
      const fr = body.items.filter((r) => r.region === 'FR');
      assert.deepEqual(fr, [
        { region: 'FR', source: 'nuclear', energy_mwh: 600, share_of_production: 0.6, share_of_consumption: 0.6 },
        { region: 'FR', source: 'wind_onshore', energy_mwh: 250, share_of_production: 0.25, share_of_consumption: 0.25 },
        { region: 'FR', source: 'wind_offshore', energy_mwh: 50, share_of_production: 0.05, share_of_consumption: 0.05 },
        { region: 'FR', source: 'solar', energy_mwh: 100, share_of_production: 0.1, share_of_consumption: 0.1 },
      ]);
      const bzh = body.items.filter((r) => r.region === '53');
      const production = Object.values(BZH_PRODUCTION).reduce((a, b) => a + b, 0);
      assert.deepEqual(
        bzh.map((r) => r.source),
        ['thermal', 'wind_onshore', 'wind_offshore', 'solar', 'hydro', 'bioenergy', 'battery_discharge'],
      );
      for (const r of bzh) {
        const energy = BZH_PRODUCTION[String(r.source)] ?? NaN;
        close(r.energy_mwh, energy, `${String(r.source)} energy`);
        close(r.share_of_production, energy / production, `${String(r.source)} share of production`);
        close(r.share_of_consumption, energy / BZH_CONSUMPTION, `${String(r.source)} share of consumption`);
      }
      const shares = bzh.reduce((s, r) => s + Number(r.share_of_production), 0);
      close(shares, 1, 'production shares add up to 1');
      assert.deepEqual((await get<{ items: Row[] }>('/energy/mix?from=2024-01-10&to=2024-01-10&region=53')).items, bzh);

      // Several days, summed from the stored day rows.
      const mix = await get<{ items: Row[] }>('/energy/mix?from=2024-03-30&to=2024-04-01&region=11');
      const days = await latest(`region_code = '11' AND grain = 'day' AND period >= '2024-03-30' AND period <= '2024-04-01'`);
      const sum = (source: string) => days.filter((d) => d.source === source).reduce((s, d) => s + Number(d.energy_mwh), 0);
      const sources = ['thermal', 'nuclear', 'wind_onshore', 'wind_offshore', 'solar', 'hydro', 'bioenergy', 'battery_discharge'].filter((s) =>
        days.some((d) => d.source === s),
      );
      assert.deepEqual(
        mix.items.map((r) => r.source),
        sources,
      );
      assert.ok(!mix.items.some((r) => r.source === 'wind'));
      const total = sources.reduce((s, src) => s + sum(src), 0);
      for (const r of mix.items) {
        close(r.energy_mwh, sum(String(r.source)), `${String(r.source)} energy`);
        close(r.share_of_production, sum(String(r.source)) / total, `${String(r.source)} share of production`);
        close(r.share_of_consumption, sum(String(r.source)) / sum('consumption'), `${String(r.source)} share of consumption`);
      }
      assert.deepEqual((await get<{ items: Row[] }>('/energy/mix?from=2030-01-01&to=2030-01-02')).items, []);
    });

    test('GET /energy/regions/{code}/observations: rows as they are up to max_points, else bucket means', async () => {
      const raw = await get<Row>('/energy/regions/53/observations?from=2024-01-10&to=2024-01-10&max_points=8');
      assert.deepEqual([raw.region, raw.from, raw.to, raw.bucket_seconds], ['53', '2024-01-10', '2024-01-10', null]);
      const rawItems = raw.items as Row[];
      assert.equal(rawItems.length, 8);
      assert.deepEqual(rawItems[1], {
        observed_at: '2024-01-09T23:15:00Z',
        nature: TR,
        consumption: 1010,
        thermal: 30,
        nuclear: null,
        wind: 100,
        wind_onshore: 80,
        wind_offshore: 20,
        solar: 0,
        hydro: 50,
        pumping: null,
        bioenergy: 10,
        battery_charge: null,
        battery_discharge: 5,
        exchanges: -200,
      });
      // Eight rows into at most four points: 6-hour buckets from the Paris day's start, two rows each.
      const four = await get<Row>('/energy/regions/53/observations?from=2024-01-10&to=2024-01-10&max_points=4');
      assert.equal(four.bucket_seconds, 21_600);
      const items = four.items as Row[];
      assert.deepEqual(
        items.map((r) => [r.observed_at, r.consumption, r.nature, r.nuclear, r.wind]),
        [
          ['2024-01-09T23:00:00Z', 1005, TR, null, 100],
          ['2024-01-10T05:00:00Z', 1025, TR, null, 100],
          ['2024-01-10T11:00:00Z', 1045, TR, null, 100],
          ['2024-01-10T17:00:00Z', 1065, TR, null, 100],
        ],
      );

      // The DST day of Île-de-France: 46 half hours; 10 points make 3-hour buckets, 8 of them.
      const whole = await get<Row>('/energy/regions/11/observations?from=2024-03-31&to=2024-03-31');
      const rows = whole.items as Row[];
      assert.equal(whole.bucket_seconds, null);
      assert.equal(rows.length, 46);
      assert.equal(rows[0]?.observed_at, '2024-03-30T23:00:00Z');
      assert.equal(rows.at(-1)?.observed_at, '2024-03-31T21:30:00Z');
      const stored = await platform.warehouse.query(
        `SELECT observed_at, consumption, solar FROM regional_observations WHERE region_code = '11'
         AND observed_at >= CAST('2024-03-30 23:00:00' AS TIMESTAMP) AND observed_at < CAST('2024-03-31 22:00:00' AS TIMESTAMP) ORDER BY observed_at`,
      );
      assert.deepEqual(
        rows.map((r) => [r.observed_at, r.consumption]),
        stored.map((r) => [r.observed_at, r.consumption]),
      );
      const ten = await get<Row>('/energy/regions/11/observations?from=2024-03-31&to=2024-03-31&max_points=10');
      assert.equal(ten.bucket_seconds, 10_800);
      const buckets = ten.items as Row[];
      assert.equal(buckets.length, 8);
      const start = Date.parse('2024-03-30T23:00:00Z');
      for (const [b, item] of buckets.entries()) {
        assert.equal(item.observed_at, new Date(start + b * 10_800_000).toISOString().replace('.000Z', 'Z'));
        const inside = stored.filter((r) => {
          const t = Date.parse(String(r.observed_at));
          return t >= start + b * 10_800_000 && t < start + (b + 1) * 10_800_000;
        });
        const mean = (c: string) => {
          const v = inside.map((r) => r[c]).filter((x): x is number => typeof x === 'number');
          return v.length ? v.reduce((a, x) => a + x, 0) / v.length : null;
        };
        close(item.consumption, mean('consumption'), `bucket ${b} consumption`);
        close(item.solar, mean('solar'), `bucket ${b} solar`);
      }
      // FR has statistics only.
      assert.deepEqual((await get<Row>('/energy/regions/FR/observations?from=2024-01-10&to=2024-01-10')).items, []);
    });

    test('the routes are in the OpenAPI document, tagged eco2mix', async () => {
      const doc = await get<{ paths: Record<string, Record<string, { tags?: string[] }>> }>('/docs/json');
      for (const path of ['/energy/regions', '/energy/regions/{code}/stats', '/energy/mix', '/energy/regions/{code}/observations']) {
        assert.deepEqual(doc.paths[path]?.get?.tags, ['eco2mix'], path);
      }
    });
  });
}
