import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckSession, literal } from '../../../src/engine/duckdb.js';
import { datasetPrefix } from '../../../src/lake/layout.js';
import { withLocalFiles } from '../../../src/lake/localFiles.js';
import { executeRun } from '../../../src/orchestrator/runner.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { resetPipeline } from '../../../src/pipelines/kit/reset.js';
import { eco2mixPipeline } from '../../../src/pipelines/eco2mix/pipeline.js';
import { tempHome, withPlatform as withHomePlatform } from '../../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';

const TR = 'Données temps réel';
const CONS = 'Données consolidées';
type Raw = number | string | null;

function record(region: string, nature: string, dateHeure: string, v: { consommation?: Raw; nucleaire?: Raw; eolien?: Raw }): string {
  return JSON.stringify({
    code_insee_region: region,
    libelle_region: region === '11' ? 'Île-de-France' : 'Bretagne',
    nature,
    date: dateHeure.slice(0, 10),
    heure: dateHeure.slice(11, 16),
    date_heure: dateHeure,
    consommation: v.consommation ?? null,
    thermique: null,
    nucleaire: v.nucleaire ?? null,
    eolien: v.eolien ?? null,
    solaire: null,
    hydraulique: null,
    pompage: null,
    bioenergies: null,
    ech_physiques: null,
    stockage_batterie: null,
    destockage_batterie: null,
    eolien_terrestre: null,
    eolien_offshore: null,
    column_30: null,
  });
}

/**
 * Spring DST night (Sunday 2024-03-31, a Paris day of 23 hours), real-time, 15-minute samples at 00:00Z … 01:15Z.
 * Île-de-France has no nuclear (`ND`, empty, `-`); its consumption misses 00:30Z (`ND`), its wind 00:15Z
 * (`-`) and 01:00Z (empty). 02:00+01:00 repeats 03:00+02:00 (01:00Z) with another value: the first is kept.
 */
function springTr(): string {
  const local = ['01:00:00+01:00', '01:15:00+01:00', '01:30:00+01:00', '01:45:00+01:00', '03:00:00+02:00', '03:15:00+02:00'];
  const idfConsumption: Raw[] = [1000, '1100', 'ND', 1300, 1400, 1500];
  const idfWind: Raw[] = [10, '-', 30, '40', '', 60];
  const idfNuclear: Raw[] = ['ND', '', '-', 'ND', '', 'ND'];
  const lines = local.map((t, k) =>
    record('11', TR, `2024-03-31T${t}`, { consommation: idfConsumption[k] ?? null, eolien: idfWind[k] ?? null, nucleaire: idfNuclear[k] ?? null }),
  );
  lines.push(record('11', TR, '2024-03-31T02:00:00+01:00', { consommation: 9999, eolien: 9999 }));
  for (const t of local) lines.push(record('53', TR, `2024-03-31T${t}`, { consommation: 2000, nucleaire: '500' }));
  return lines.join('\n') + '\n';
}

/**
 * Autumn DST day (Sunday 2024-10-27, 25 hours in Paris: 2024-10-26T22:00Z → 2024-10-27T23:00Z), Bretagne,
 * consolidated, every 30 minutes: 50 samples. Consumption 3000 + 10k at sample k; wind 100, `ND` at k = 7.
 */
function autumnCons(): string {
  const lines: string[] = [];
  for (let k = 0; k < 50; k++) {
    const at = new Date(Date.UTC(2024, 9, 26, 22, 0) + k * 30 * 60_000).toISOString().replace('.000Z', '+00:00');
    lines.push(record('53', CONS, at, { consommation: 3000 + 10 * k, eolien: k === 7 ? 'ND' : 100 }));
  }
  return lines.join('\n') + '\n';
}

/** Île-de-France consolidated at 00:00Z and 00:30Z: each stands for its half hour. */
function springCons(): string {
  return [
    record('11', CONS, '2024-03-31T01:00:00+01:00', { consommation: 1010, eolien: 12, nucleaire: 'ND' }),
    record('11', CONS, '2024-03-31T01:30:00+01:00', { consommation: '1210', eolien: '14', nucleaire: '' }),
  ].join('\n');
}

type Row = Record<string, unknown>;
const FIGURES = ['avg_mw', 'min_mw', 'max_mw', 'energy_mwh', 'samples', 'completeness', 'share_of_consumption', 'nature'] as const;
/** Both warehouses give a TIMESTAMP as `YYYY-MM-DDTHH:MM:SSZ`; the lake's rows are read in the same form. */
const SELECT = `SELECT region_code, source, grain, period, period_start, ${FIGURES.join(', ')}, processed_at, CAST(run_id AS INTEGER) AS run_id`;
const LAKE_SELECT = `SELECT region_code, source, grain, period, strftime(period_start, '%Y-%m-%dT%H:%M:%SZ') AS period_start, ${FIGURES.join(', ')},
  strftime(processed_at, '%Y-%m-%dT%H:%M:%SZ') AS processed_at, CAST(run_id AS INTEGER) AS run_id`;
const ORDER = 'ORDER BY region_code, source, grain, period, run_id';

const figures = (r: Row | undefined) => (r ? Object.fromEntries(FIGURES.map((c) => [c, r[c]])) : undefined);

for (const setup of SETUPS) {
  describe(`eco2mix regional_energy_stats on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    const withPlatform = async <T>(home: string, fn: (p: Platform) => Promise<T>) => withHomePlatform(home, fn, await envOf(home));
    const run = (home: string, inputs: string[]) => withPlatform(home, (p) => executeRun(p, eco2mixPipeline, { inputs, trigger: 'cli' }));
    const all = (home: string) => withPlatform(home, (p) => p.warehouse.query(`SELECT * FROM (${SELECT} FROM regional_energy_stats) x ${ORDER}`));
    const latest = (home: string) => withPlatform(home, (p) => p.warehouse.query(`SELECT * FROM (${SELECT} FROM regional_energy_stats_latest) x ${ORDER}`));
    const lakeRows = (home: string) =>
      withPlatform(home, async (p) => {
        const keys = (await p.lake.list(datasetPrefix('curated', 'regional_energy_stats'))).map((o) => o.key).sort();
        const engine = await DuckSession.open();
        try {
          const rows = await withLocalFiles(p.lake, keys, (paths) =>
            engine.plainRows(`${LAKE_SELECT} FROM read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false) ${ORDER}`),
          );
          return { keys, rows };
        } finally {
          engine.close();
        }
      });
    const find = (rows: readonly Row[], region: string, source: string, grain: string, period: string) =>
      rows.filter((r) => r.region_code === region && r.source === source && r.grain === grain && r.period === period);

    async function files(home: string) {
      const dir = join(home, 'in');
      await mkdir(dir, { recursive: true });
      const paths = {
        spring: join(dir, 'spring-tr.jsonl'),
        autumn: join(dir, 'autumn-cons.jsonl'),
        cons: join(dir, 'spring-cons.jsonl'),
        again: join(dir, 'again.jsonl'),
      };
      await writeFile(paths.spring, springTr());
      await writeFile(paths.autumn, autumnCons());
      await writeFile(paths.cons, springCons());
      // A re-delivery of a key in place with the same nature: staging keeps the first value, so nothing changes.
      await writeFile(paths.again, record('53', TR, '2024-03-31T01:00:00+01:00', { consommation: 1, nucleaire: 1 }) + '\n');
      return paths;
    }

    test('hour and day aggregates equal hand-computed values across both DST days; consolidated data appends revised rows; a rerun appends nothing; rebuild gives the same latest view', async () => {
      const home = await tempHome('ecluse-eco2mix-stats-');
      const f = await files(home);
      const one = await run(home, [f.spring, f.autumn]);
      assert.equal(one.status, 'succeeded', one.error ?? '');
      const first = await all(home);
      // Île-de-France: consumption and wind × (2 hours + the day); Bretagne spring: consumption and nuclear × 3;
      // Bretagne autumn: consumption and wind × (25 hours + the day).
      assert.equal(first.length, 6 + 6 + 52);
      assert.deepEqual(find(first, '11', 'nuclear', 'day', '2024-03-31'), [], 'no nuclear sample in Île-de-France: no row');
      assert.equal(first.filter((r) => r.region_code === '11' && r.source === 'nuclear').length, 0);

      // Spring: 00:00Z hour of Île-de-France, 3 real-time samples of 0.25 h (00:30Z is ND).
      assert.deepEqual(figures(find(first, '11', 'consumption', 'hour', '2024-03-31T00:00:00Z')[0]), {
        avg_mw: 1133.333333,
        min_mw: 1000,
        max_mw: 1300,
        energy_mwh: 850,
        samples: 3,
        completeness: 0.75,
        share_of_consumption: null,
        nature: TR,
      });
      assert.deepEqual(figures(find(first, '11', 'wind', 'hour', '2024-03-31T00:00:00Z')[0]), {
        avg_mw: 26.666667,
        min_mw: 10,
        max_mw: 40,
        energy_mwh: 20,
        samples: 3,
        completeness: 0.75,
        share_of_consumption: 0.023529, // 20 / 850
        nature: TR,
      });
      // 01:00Z: the first of the repeated instant (1400), not the repeat (9999).
      assert.deepEqual(figures(find(first, '11', 'consumption', 'hour', '2024-03-31T01:00:00Z')[0]), {
        avg_mw: 1450,
        min_mw: 1400,
        max_mw: 1500,
        energy_mwh: 725,
        samples: 2,
        completeness: 0.5,
        share_of_consumption: null,
        nature: TR,
      });
      // The day of 23 hours expects 92 real-time samples: 5 present → 1.25 h / 23 h.
      const idfDay = find(first, '11', 'consumption', 'day', '2024-03-31')[0];
      assert.deepEqual(figures(idfDay), {
        avg_mw: 1260,
        min_mw: 1000,
        max_mw: 1500,
        energy_mwh: 1575,
        samples: 5,
        completeness: 0.054348,
        share_of_consumption: null,
        nature: TR,
      });
      assert.equal(idfDay?.period_start, '2024-03-30T23:00:00Z', 'the Paris day starts at 23:00Z the day before (UTC+1)');
      assert.deepEqual(figures(find(first, '11', 'wind', 'day', '2024-03-31')[0]), {
        avg_mw: 35,
        min_mw: 10,
        max_mw: 60,
        energy_mwh: 35,
        samples: 4,
        completeness: 0.043478, // 1 h / 23 h
        share_of_consumption: 0.022222, // 35 / 1575
        nature: TR,
      });
      assert.equal(find(first, '53', 'nuclear', 'hour', '2024-03-31T00:00:00Z')[0]?.share_of_consumption, 0.25, '500 / 2000');
      assert.equal(find(first, '53', 'consumption', 'hour', '2024-03-31T00:00:00Z')[0]?.completeness, 1);

      // Autumn: 25 hours, 50 consolidated samples of 0.5 h expected.
      const autumnHours = first.filter(
        (r) => r.region_code === '53' && r.source === 'consumption' && r.grain === 'hour' && String(r.period).startsWith('2024-10'),
      );
      assert.equal(autumnHours.length, 25);
      assert.ok(autumnHours.every((r) => r.samples === 2 && r.completeness === 1 && r.nature === CONS));
      const autumnDay = find(first, '53', 'consumption', 'day', '2024-10-27')[0];
      assert.deepEqual(figures(autumnDay), {
        avg_mw: 3245,
        min_mw: 3000,
        max_mw: 3490,
        energy_mwh: 81125,
        samples: 50,
        completeness: 1,
        share_of_consumption: null,
        nature: CONS,
      });
      assert.equal(autumnDay?.period_start, '2024-10-26T22:00:00Z');
      assert.deepEqual(figures(find(first, '53', 'wind', 'day', '2024-10-27')[0]), {
        avg_mw: 100,
        min_mw: 100,
        max_mw: 100,
        energy_mwh: 2450,
        samples: 49,
        completeness: 0.98, // 24.5 h / 25 h
        share_of_consumption: 0.0302, // 2450 / 81125
        nature: CONS,
      });
      // 00:00Z on the autumn day: samples 4 and 5 (3040, 3050 MW) for half an hour each.
      assert.deepEqual(figures(find(first, '53', 'consumption', 'hour', '2024-10-27T00:00:00Z')[0])?.energy_mwh, 3045);
      assert.deepEqual(await latest(home), first, 'one row per key so far');
      const lake = await lakeRows(home);
      assert.deepEqual(
        lake.keys,
        ['2024-03', '2024-10'].map((m) => `${datasetPrefix('curated', 'regional_energy_stats')}month=${m}/data.parquet`),
      );
      assert.deepEqual(lake.rows, first);

      // Consolidated Île-de-France at 00:00Z and 00:30Z: each stands for its half hour, so the real-time
      // 00:15Z and 00:45Z drop out of the revised periods.
      const two = await run(home, [f.cons]);
      assert.equal(two.status, 'succeeded', two.error ?? '');
      const second = await all(home);
      const appended = second.filter((r) => r.run_id === two.run_id);
      assert.deepEqual(
        appended.map((r) => `${String(r.source)} ${String(r.grain)} ${String(r.period)}`),
        ['consumption day 2024-03-31', 'consumption hour 2024-03-31T00:00:00Z', 'wind day 2024-03-31', 'wind hour 2024-03-31T00:00:00Z'],
        'only the periods whose values changed; the 01:00Z hour and Bretagne are untouched',
      );
      assert.deepEqual(figures(find(appended, '11', 'consumption', 'hour', '2024-03-31T00:00:00Z')[0]), {
        avg_mw: 1110,
        min_mw: 1010,
        max_mw: 1210,
        energy_mwh: 1110,
        samples: 2,
        completeness: 1,
        share_of_consumption: null,
        nature: CONS,
      });
      assert.equal(find(appended, '11', 'wind', 'hour', '2024-03-31T00:00:00Z')[0]?.share_of_consumption, 0.011712, '13 / 1110');
      // The day mixes natures: 1010 and 1210 for 0.5 h, 1400 and 1500 for 0.25 h; the lowest nature wins.
      assert.deepEqual(figures(find(appended, '11', 'consumption', 'day', '2024-03-31')[0]), {
        avg_mw: 1223.333333,
        min_mw: 1010,
        max_mw: 1500,
        energy_mwh: 1835,
        samples: 4,
        completeness: 0.065217, // 1.5 h / 23 h
        share_of_consumption: null,
        nature: TR,
      });
      assert.deepEqual(figures(find(appended, '11', 'wind', 'day', '2024-03-31')[0])?.energy_mwh, 28);
      // The old rows stay; the latest view shows the new ones.
      assert.equal(second.length, first.length + 4);
      assert.deepEqual(
        second.filter((r) => r.run_id === one.run_id),
        first,
      );
      const view = await latest(home);
      assert.equal(view.length, first.length);
      assert.equal(find(view, '11', 'consumption', 'hour', '2024-03-31T00:00:00Z')[0]?.run_id, two.run_id);
      assert.equal(find(view, '11', 'consumption', 'hour', '2024-03-31T01:00:00Z')[0]?.run_id, one.run_id);
      assert.deepEqual((await lakeRows(home)).rows, view, 'the lake holds the latest rows');

      // A re-delivery that changes no staging row recomputes Bretagne's day and appends nothing.
      const three = await run(home, [f.again]);
      assert.equal(three.status, 'succeeded', three.error ?? '');
      assert.equal(three.files, 1);
      assert.deepEqual(await all(home), second);
      const logs = await withPlatform(home, (p) => p.warehouse.query(`SELECT msg FROM run_logs WHERE run_id = $1`, [three.run_id]));
      assert.match(logs.map((l) => String(l.msg)).join('\n'), /regional_energy_stats: 6 rows recomputed, 0 appended/);
      assert.deepEqual((await lakeRows(home)).rows, view);

      // Rebuild: the raw zone replayed as one run gives the same latest figures.
      const strip = (rows: readonly Row[]) => rows.map(({ processed_at: _p, run_id: _r, ...rest }) => rest);
      const rebuilt = await withPlatform(home, async (p) => {
        await resetPipeline(p, eco2mixPipeline);
        assert.equal((await p.warehouse.query('SELECT count(*) AS n FROM regional_energy_stats'))[0]?.n, 0);
        assert.deepEqual(await p.lake.list(datasetPrefix('curated', 'regional_energy_stats')), []);
        return executeRun(p, eco2mixPipeline, { trigger: 'rebuild', partition: 'rebuild' });
      });
      assert.equal(rebuilt.status, 'succeeded', rebuilt.error ?? '');
      assert.deepEqual(strip(await latest(home)), strip(view));
      assert.deepEqual(strip(await all(home)), strip(view), 'a rebuild appends one row per key');
      assert.deepEqual((await lakeRows(home)).rows, await latest(home));
    });

    test('national totals (FR): the regions summed at the instants all 12 have, aggregated like a region, equal hand-computed values', async () => {
      const home = await tempHome('ecluse-eco2mix-fr-');
      const dir = join(home, 'in');
      await mkdir(dir, { recursive: true });
      const regions = ['11', '24', '27', '28', '32', '44', '52', '53', '75', '76', '84', '93'];
      const lines: string[] = [];
      regions.forEach((region, k) => {
        const nucleaire = region === '24' ? 500 : null;
        lines.push(record(region, CONS, '2024-01-15T11:00:00+01:00', { consommation: 1000 + 100 * k, nucleaire }));
        // Île-de-France's 10:30Z is real-time: the national instant takes the lowest nature and its 15 minutes.
        lines.push(record(region, region === '11' ? TR : CONS, '2024-01-15T11:30:00+01:00', { consommation: 1010 + 100 * k, nucleaire }));
        // Provence-Alpes-Côte d'Azur misses 11:00Z: that instant has no national total.
        if (region !== '93') lines.push(record(region, CONS, '2024-01-15T12:00:00+01:00', { consommation: 1020 + 100 * k, nucleaire }));
      });
      const input = join(dir, 'fr.jsonl');
      await writeFile(input, lines.join('\n') + '\n');
      const r = await run(home, [input]);
      assert.equal(r.status, 'succeeded', r.error ?? '');
      const rows = await latest(home);
      const fr = rows.filter((row) => row.region_code === 'FR');
      // Σ consumption: 10:00Z 12 × 1000 + 100 × 66 = 18600 (30 min), 10:30Z 18720 (15 min, real-time).
      const consumption = { avg_mw: 18640, min_mw: 18600, max_mw: 18720, energy_mwh: 13980, samples: 2, share_of_consumption: null, nature: TR };
      assert.deepEqual(figures(find(fr, 'FR', 'consumption', 'hour', '2024-01-15T10:00:00Z')[0]), { ...consumption, completeness: 0.75 });
      assert.deepEqual(figures(find(fr, 'FR', 'consumption', 'day', '2024-01-15')[0]), { ...consumption, completeness: 0.03125 });
      const nuclear = { avg_mw: 500, min_mw: 500, max_mw: 500, energy_mwh: 375, samples: 2, share_of_consumption: 0.026824, nature: TR };
      assert.deepEqual(figures(find(fr, 'FR', 'nuclear', 'hour', '2024-01-15T10:00:00Z')[0]), { ...nuclear, completeness: 0.75 });
      assert.deepEqual(figures(find(fr, 'FR', 'nuclear', 'day', '2024-01-15')[0]), { ...nuclear, completeness: 0.03125 });
      assert.deepEqual(find(fr, 'FR', 'consumption', 'hour', '2024-01-15T11:00:00Z'), [], 'no national total where a region is missing');
      assert.deepEqual(find(fr, 'FR', 'wind', 'day', '2024-01-15'), [], 'no region has wind: no national row');
      assert.equal(fr.length, 4);
      // The regions' own rows are there too, 11:00Z included.
      assert.equal(find(rows, '11', 'consumption', 'hour', '2024-01-15T11:00:00Z')[0]?.samples, 1);
      assert.deepEqual((await lakeRows(home)).rows, rows, 'the lake holds the national rows too');
    });
  });
}
