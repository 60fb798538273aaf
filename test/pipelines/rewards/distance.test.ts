import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { insertActivities, openCompanyDb, type Employee } from '../../../src/pipelines/rewards/companyDb.js';
import { haversineKm } from '../../../src/pipelines/rewards/distance.js';
import { geocodeAll } from '../../../src/pipelines/rewards/geocoder.js';
import { refreshRewards } from '../../../src/pipelines/rewards/refresh.js';
import { openPlatform, tempHome } from '../../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../../helpers/warehouses.js';
import { ACTIVITIES, BIKE, EMPLOYEES, insertEmployees, NOW, RULES, settingsWith, WALK } from './rulesFixture.js';

/** The national address API's answers, by address: [lon, lat]; absent → no feature (not found). */
const OFFICE: [number, number] = [3.9035, 43.5676];
const PLACES: Record<string, [number, number]> = {
  [RULES.office]: OFFICE,
  '3 Rue de la Loge, 34000 Montpellier': [3.8767, 43.6108],
  '10 Quai de Bosc, 34200 Sète': [3.6975, 43.4028],
};
const km = (to: [number, number]) => Math.round(haversineKm(to, OFFICE) * RULES.roadFactor * 10) / 10;

/** A stand-in for api-adresse.data.gouv.fr on loopback: counts what it is asked; `failFirst` answers 503 once. */
function geocoderServer(opts: { failFirst?: string; down?: boolean } = {}) {
  const asked: string[] = [];
  let failed = false;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams.get('q') ?? '';
    asked.push(q);
    if (url.pathname !== '/search' || url.searchParams.get('limit') !== '1') {
      res.writeHead(400).end();
      return;
    }
    if (opts.down || (q === opts.failFirst && !failed)) {
      failed = true;
      res.writeHead(503, { 'content-type': 'text/plain' }).end('busy');
      return;
    }
    const at = PLACES[q];
    const features = at ? [{ type: 'Feature', geometry: { type: 'Point', coordinates: at }, properties: { label: q.toUpperCase(), score: 0.93 } }] : [];
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'FeatureCollection', features }));
  });
  return {
    asked,
    url: async () => {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** No distance column: the geocoder is asked, except for 108 whose HR row has one. */
const GEOCODED: Employee[] = [
  ...EMPLOYEES.map((e) => ({ ...e, declared_distance_km: e.employee_id === 108 ? 2 : null })),
  {
    ...EMPLOYEES[0]!,
    employee_id: 109,
    first_name: 'Jean',
    commute_mode: WALK,
    declared_distance_km: null,
    home_address: 'Lieu-dit Nulle Part, 34999 Ailleurs',
  },
  // Same address as 102, spelt with extra spaces: one request for both.
  {
    ...EMPLOYEES[0]!,
    employee_id: 110,
    first_name: 'Zoé',
    commute_mode: BIKE,
    declared_distance_km: null,
    home_address: '3 Rue de la Loge,  34000 Montpellier',
  },
];

const homes: string[] = [];
after(() => dropSchemas(homes));

for (const kind of ['duckdb', 'postgres'] as WarehouseKind[]) {
  describe(`geocoder distances on ${kind}`, { skip: await skipUnless(kind) }, () => {
    const geo = geocoderServer({ failFirst: '10 Quai de Bosc, 34200 Sète' });
    let url: string;
    before(async () => {
      url = await geo.url();
    });
    after(() => geo.close());

    test('each address asked once (the office too, "not found" cached), great circle × road factor; a second refresh asks nothing', async () => {
      const home = await tempHome('ecluse-rewards-geocoder-');
      homes.push(home);
      const platform = await openPlatform(home, { ECLUSE_WAREHOUSE: warehouseFor(kind, home) });
      const { warehouse } = platform;
      try {
        const company = await openCompanyDb(undefined, warehouse);
        await insertEmployees(company, GEOCODED);
        await insertActivities(company, ACTIVITIES, NOW);
        const settings = settingsWith({ geocoderUrl: url });
        await refreshRewards({ warehouse, company, settings, now: NOW });

        // 8 distinct addresses (107 has none, 108 has its HR distance, 110 shares 102's), Sète asked twice (503, then the answer).
        const distinct = new Set(geo.asked);
        assert.equal(distinct.size, 8, geo.asked.join(' | '));
        assert.equal(geo.asked.length, 9);
        assert.equal(geo.asked.filter((q) => q === '10 Quai de Bosc, 34200 Sète').length, 2);
        assert.ok(distinct.has(RULES.office));
        assert.ok(!distinct.has('8 Rue des Lilas, 34970 Lattes'), 'an HR distance is not geocoded');

        const rows = await warehouse.query(
          `SELECT employee_id, distance_km, distance_source, distance_status, bonus_reason FROM rewards WHERE year = 2025 ORDER BY employee_id`,
        );
        const by = new Map(rows.map((r) => [Number(r.employee_id), r]));
        const loge = km(PLACES['3 Rue de la Loge, 34000 Montpellier']!);
        const sete = km(PLACES['10 Quai de Bosc, 34200 Sète']!);
        assert.ok(loge > 5 && loge < 8 && sete > 25, `${loge} ${sete}`);
        assert.deepEqual([by.get(102)?.distance_km, by.get(102)?.distance_source, by.get(102)?.distance_status], [loge, 'geocoder', 'checked']);
        assert.deepEqual([by.get(110)?.distance_km, by.get(110)?.distance_status], [loge, 'checked']);
        assert.deepEqual([by.get(104)?.distance_km, by.get(104)?.distance_status], [sete, 'inconsistent']);
        assert.deepEqual([by.get(108)?.distance_km, by.get(108)?.distance_source], [2, 'hr-file']);
        assert.deepEqual([by.get(109)?.distance_km, by.get(109)?.distance_status], [null, 'unchecked']);
        assert.match(String(by.get(109)?.bonus_reason), /home address not found by the geocoder: Lieu-dit Nulle Part/);
        assert.deepEqual([by.get(107)?.distance_status], ['unchecked']);
        assert.match(String(by.get(107)?.bonus_reason), /no home address/);
        // 101's Frontignan address is unknown to this stand-in: not found, cached as null coordinates.
        const cached = await warehouse.query(`SELECT address, longitude, latitude, label, score FROM rewards_geocodes ORDER BY address`);
        assert.equal(cached.length, 8);
        assert.deepEqual(
          cached.find((c) => c.address === 'Lieu-dit Nulle Part, 34999 Ailleurs'),
          { address: 'Lieu-dit Nulle Part, 34999 Ailleurs', longitude: null, latitude: null, label: null, score: null },
        );
        assert.deepEqual(
          cached.find((c) => c.address === RULES.office),
          {
            address: RULES.office,
            longitude: OFFICE[0],
            latitude: OFFICE[1],
            label: RULES.office.toUpperCase(),
            score: 0.93,
          },
        );

        const before = geo.asked.length;
        await refreshRewards({ warehouse, company, settings, now: NOW });
        assert.equal(geo.asked.length, before, 'the second refresh asks nothing');
        const [again] = await warehouse.query(`SELECT distance_km FROM rewards WHERE year = 2025 AND employee_id = 104`);
        assert.equal(again?.distance_km, sete);
      } finally {
        await warehouse.close();
      }
    });
  });
}

test('a geocoder down: the distances stay unchecked, nothing is cached, the next call asks again', async () => {
  const geo = geocoderServer({ down: true });
  const url = await geo.url();
  const platform = await openPlatform(await tempHome('ecluse-rewards-geodown-'));
  try {
    const opts = { url, warehouse: platform.warehouse, office: RULES.office, roadFactor: 1.25, attempts: 2, backoffMs: 1 };
    const { geocodes, failure } = await geocodeAll([RULES.office, 'a', 'b'], opts);
    assert.equal(geocodes.size, 0);
    assert.match(failure ?? '', /HTTP 503.*after 2 attempts/);
    assert.equal(geo.asked.length, 2, 'the remaining addresses are not asked once the geocoder is found down');
    assert.deepEqual(await platform.warehouse.query(`SELECT count(*) AS n FROM rewards_geocodes`), [{ n: 0 }]);
    await geocodeAll([RULES.office], opts);
    assert.equal(geo.asked.length, 4);
  } finally {
    await geo.close();
    await platform.warehouse.close();
  }
});
