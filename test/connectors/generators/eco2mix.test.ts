import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ECO2MIX_FIELDS, SOURCE_FIELDS, fieldIndex } from '../../../src/connectors/opendatasoft/eco2mix/fields.js';
import { ECO2MIX_FORMATS, eco2mixRecords, writeEco2mix, type Eco2mixFormat, type Eco2mixRecord } from '../../../src/connectors/generators/eco2mix.js';
import { Eco2mixBatch } from '../../../src/pipelines/eco2mix/batch.js';
import { readEco2mixPath } from '../../../src/pipelines/eco2mix/readers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecluse-eco2mix-gen-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const EXT: Record<Eco2mixFormat, string> = { 'api-json': 'json', json: 'json', jsonl: 'jsonl', csv: 'csv', 'csv-labels': 'csv' };
/** A fixed clock: 2026-06-01, so 2024 is definitive and 2025 consolidated, and no generated day is "today". */
const NOW = Date.UTC(2026, 5, 1, 10);
const NO_NUCLEAR = ['11', '27', '52', '53', '93'];

const field = (name: string) => fieldIndex(name);
const cell = (v: Eco2mixRecord, name: string) => v[field(name)];
/** A value as the readers type it: numbers and numeric strings are numbers; null, `""`, `"-"`, `"ND"` are missing. */
function typed(x: string | number | null | undefined): number | null {
  if (x === null || x === undefined) return null;
  if (typeof x === 'number') return x;
  const s = x.trim();
  return s === '' || s === '-' || s.toUpperCase() === 'ND' ? null : Number(s);
}
const num = (v: Eco2mixRecord, name: string) => typed(cell(v, name));

async function readBack(path: string, name: string): Promise<Eco2mixBatch> {
  const batch = new Eco2mixBatch();
  await readEco2mixPath(name, path, batch);
  return batch;
}

test('every format, in both layouts, reads back through the readers: the same values, quirks survived, future slots skipped', async () => {
  const base = { regions: 3, from: '2024-10-26', to: '2024-10-27', dataset: 'tr' as const, seed: 3, futureSlots: 8, now: NOW };
  for (const layout of ['current', '2020'] as const) {
    const opts = { ...base, layout };
    const expected = [...eco2mixRecords(opts)];
    const mwValues = expected.flatMap((v) => SOURCE_FIELDS.map((f) => cell(v, f.name)));
    // The quirks are there to be survived: numbers as strings and each spelling of "missing".
    assert.ok(
      mwValues.some((x) => typeof x === 'string' && /^-?\d+$/.test(x)),
      'some numbers written as strings',
    );
    for (const token of ['', '-', 'ND']) assert.ok(mwValues.includes(token), `some values missing as ${JSON.stringify(token)}`);
    const filled = expected.filter((v) => SOURCE_FIELDS.some((f) => typed(cell(v, f.name)) !== null));
    assert.equal(expected.length - filled.length, 8 * 3, 'the last 8 slots of each region empty');

    for (const format of ECO2MIX_FORMATS) {
      const name = `round-${layout}-${format}.${EXT[format]}`;
      const path = join(dir, name);
      const { rows } = await writeEco2mix(path, format, opts);
      assert.equal(rows, expected.length, `${layout} ${format}: rows`);
      const text = await readFile(path, 'utf8');
      if (format.startsWith('csv')) assert.ok(text.startsWith('\uFEFF'), `${format}: BOM`);
      assert.ok(text.includes('+02:00') && text.includes('+01:00'), `${format}: both Paris offsets around the autumn change`);
      const b = await readBack(path, name);
      assert.deepEqual(b.rejects, [], `${layout} ${format}: no reject`);
      assert.equal(b.emptySlots, 24, `${layout} ${format}: future slots counted, not loaded`);
      assert.equal(b.observations.length, filled.length, `${layout} ${format}: observations`);
      b.observations.forEach((o, i) => {
        const v = filled[i] as Eco2mixRecord;
        assert.equal(o.regionCode, cell(v, 'code_insee_region'));
        assert.equal(o.observedAt, Date.parse(cell(v, 'date_heure') as string));
        assert.equal(o.nature, 'Données temps réel');
        for (const f of SOURCE_FIELDS) {
          const want = layout === '2020' && f.currentOnly ? null : typed(cell(v, f.name));
          assert.equal(o.values[f.source as keyof typeof o.values], want, `${layout} ${format} record ${i} ${f.name}`);
        }
      });
    }
  }
});

test('rows per region and local day: 48 or 96, the spring day with repeated date_heure values, the autumn day with 25 hours', async () => {
  const cases = [
    { dataset: 'cons-def' as const, step: 48, spring: { rows: 48, instants: 46 }, autumn: 50 },
    { dataset: 'tr' as const, step: 96, spring: { rows: 96, instants: 92 }, autumn: 100 },
  ];
  for (const c of cases) {
    for (const [from, to, dst] of [
      ['2024-03-30', '2024-04-01', '2024-03-31'],
      ['2024-10-26', '2024-10-28', '2024-10-27'],
    ] as const) {
      const name = `days-${c.dataset}-${dst}.jsonl`;
      const path = join(dir, name);
      const { rows } = await writeEco2mix(path, 'jsonl', { regions: 'all', from, to, dataset: c.dataset, seed: 5, now: NOW });
      const b = await readBack(path, name);
      assert.deepEqual(b.rejects, []);
      assert.equal(b.observations.length, rows);
      const perDay = new Map<string, { rows: number; instants: Set<number> }>();
      // Grouping by the local date the file writes, through the records (the reader keeps instants only).
      const records = [...eco2mixRecords({ regions: 'all', from, to, dataset: c.dataset, seed: 5, now: NOW })];
      records.forEach((v, k) => {
        const key = `${cell(v, 'code_insee_region') as string} ${cell(v, 'date') as string}`;
        const d = perDay.get(key) ?? { rows: 0, instants: new Set<number>() };
        d.rows++;
        d.instants.add((b.observations[k] as { observedAt: number }).observedAt);
        perDay.set(key, d);
      });
      assert.equal(perDay.size, 12 * 3, `${c.dataset} ${dst}: 12 regions × 3 days`);
      for (const [key, d] of perDay) {
        const day = key.slice(3);
        if (day !== dst) assert.deepEqual([d.rows, d.instants.size], [c.step, c.step], `${c.dataset} ${key}`);
        else if (dst.endsWith('03-31')) assert.deepEqual([d.rows, d.instants.size], [c.spring.rows, c.spring.instants], `${c.dataset} ${key}`);
        else assert.deepEqual([d.rows, d.instants.size], [c.autumn, c.autumn], `${c.dataset} ${key}`);
      }
      if (dst.endsWith('03-31')) {
        // As test/pipelines/eco2mix/dst.test.ts models it: the local 02:00 that never was, written as the summer instant after.
        const two = records.find((v) => cell(v, 'date') === dst && cell(v, 'heure') === '02:00');
        assert.equal(cell(two as Eco2mixRecord, 'date_heure'), `${dst}T03:00:00+02:00`);
      } else {
        const twos = records.filter((v) => cell(v, 'code_insee_region') === '11' && cell(v, 'heure') === '02:00' && cell(v, 'date') === dst);
        assert.deepEqual(
          twos.map((v) => cell(v, 'date_heure')),
          [`${dst}T02:00:00+02:00`, `${dst}T02:00:00+01:00`],
        );
      }
    }
  }
});

test('determinism: same seed, same bytes; another seed, other values', async () => {
  const opts = { regions: 4, from: '2024-01-01', to: '2024-01-03', dataset: 'tr' as const, now: NOW };
  const [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir, `${n}.csv`)) as [string, string, string];
  await writeEco2mix(a, 'csv', { ...opts, seed: 1 });
  await writeEco2mix(b, 'csv', { ...opts, seed: 1 });
  await writeEco2mix(c, 'csv', { ...opts, seed: 2 });
  assert.deepEqual(await readFile(a), await readFile(b));
  assert.notDeepEqual(await readFile(a), await readFile(c));
});

test('shapes: nuclear only where plants are, solar zero at night and higher in the south and in summer, pumping ≤ 0, exchanges signed', () => {
  const winter = [...eco2mixRecords({ regions: 'all', from: '2024-01-08', to: '2024-01-21', dataset: 'cons-def', seed: 11, now: NOW })];
  const summer = [...eco2mixRecords({ regions: 'all', from: '2024-07-08', to: '2024-07-21', dataset: 'cons-def', seed: 11, now: NOW })];
  const all = [...winter, ...summer];
  const of = (rows: Eco2mixRecord[], region: string) => rows.filter((v) => cell(v, 'code_insee_region') === region);
  const mean = (xs: (number | null)[]) => {
    const ns = xs.filter((x): x is number => x !== null);
    return ns.reduce((s, x) => s + x, 0) / ns.length;
  };

  for (const code of ['11', '24', '27', '28', '32', '44', '52', '53', '75', '76', '84', '93']) {
    const nuclear = of(all, code).map((v) => num(v, 'nucleaire'));
    if (NO_NUCLEAR.includes(code))
      assert.ok(
        nuclear.every((x) => x === null),
        `${code}: no nuclear`,
      );
    else assert.ok(mean(nuclear) > 1000, `${code}: nuclear plants run (${mean(nuclear)} MW)`);
  }

  const night = all.filter((v) => {
    const h = Number((cell(v, 'heure') as string).slice(0, 2));
    return h >= 23 || h < 4;
  });
  assert.ok(night.length > 0);
  assert.ok(
    night.every((v) => num(v, 'solaire') === 0 || num(v, 'solaire') === null),
    'no solar between 23:00 and 04:00',
  );
  const noon = (rows: Eco2mixRecord[], code: string) =>
    mean(
      of(rows, code)
        .filter((v) => /^1[2-4]:/.test(cell(v, 'heure') as string))
        .map((v) => num(v, 'tch_solaire')),
    );
  assert.ok(noon(summer, '93') > noon(summer, '32'), `south ${noon(summer, '93')} % > north ${noon(summer, '32')} % of capacity`);
  assert.ok(noon(summer, '75') > 1.5 * noon(winter, '75'), 'summer sun beats winter sun');
  const midday = of(summer, '75').filter((v) => cell(v, 'heure') === '13:00');
  const dawn = of(summer, '75').filter((v) => cell(v, 'heure') === '07:00');
  assert.ok(mean(midday.map((v) => num(v, 'solaire'))) > 3 * mean(dawn.map((v) => num(v, 'solaire'))), 'solar peaks at midday');

  const pumping = all.map((v) => num(v, 'pompage')).filter((x): x is number => x !== null);
  assert.ok(
    pumping.every((x) => x <= 0),
    'pumping draws power',
  );
  assert.ok(
    of(all, '84').some((v) => (num(v, 'pompage') ?? 0) < -500),
    'Auvergne-Rhône-Alpes pumps',
  );
  assert.ok(mean(of(all, '84').map((v) => num(v, 'hydraulique'))) > 5 * mean(of(all, '32').map((v) => num(v, 'hydraulique'))), 'mountain hydro');

  // Île-de-France consumes far more than it produces; Centre-Val de Loire's reactors export.
  assert.ok(mean(of(all, '11').map((v) => num(v, 'ech_physiques'))) > 3000);
  assert.ok(mean(of(all, '24').map((v) => num(v, 'ech_physiques'))) < -3000);
  assert.ok(mean(of(all, '11').map((v) => num(v, 'consommation'))) > 2 * mean(of(all, '24').map((v) => num(v, 'consommation'))), 'scaled by region size');
  assert.ok(mean(of(winter, '53').map((v) => num(v, 'consommation'))) > 1.2 * mean(of(summer, '53').map((v) => num(v, 'consommation'))), 'winter heating');
  const at = (h: string) =>
    mean(
      of(winter, '11')
        .filter((v) => cell(v, 'heure') === h)
        .map((v) => num(v, 'consommation')),
    );
  assert.ok(at('19:00') > 1.15 * at('04:00'), `evening peak ${at('19:00')} over night trough ${at('04:00')}`);

  // Batteries and offshore wind in recent years: small, and offshore only on the coasts that have farms.
  const charge = all.map((v) => num(v, 'stockage_batterie')).filter((x): x is number => x !== null);
  assert.ok(charge.length > 0 && charge.every((x) => x <= 0 && x > -100));
  assert.ok(of(all, '53').some((v) => (num(v, 'eolien_offshore') ?? 0) > 0));
  assert.ok(of(all, '84').every((v) => num(v, 'eolien_offshore') === null));
});

test('natures: real time for tr; for cons-def, definitive before the last complete year, consolidated after', () => {
  const natures = (dataset: 'tr' | 'cons-def', from: string, to: string) =>
    new Set([...eco2mixRecords({ regions: 1, from, to, dataset, now: NOW })].map((v) => cell(v, 'nature')));
  assert.deepEqual(natures('tr', '2025-12-31', '2026-01-01'), new Set(['Données temps réel']));
  assert.deepEqual(natures('cons-def', '2024-12-31', '2024-12-31'), new Set(['Données définitives']));
  assert.deepEqual(natures('cons-def', '2025-01-01', '2025-01-01'), new Set(['Données consolidées']));
});

test('layouts: 2020 has Import/Export columns and no battery or offshore column; current has them and the trailing empty column', async () => {
  const opts = { regions: 2, from: '2020-06-01', to: '2020-06-01', dataset: 'cons-def' as const, now: NOW };
  const header = async (layout: 'current' | '2020', format: 'csv' | 'csv-labels') => {
    const path = join(dir, `layout-${layout}-${format}.csv`);
    await writeEco2mix(path, format, { ...opts, layout });
    const lines = (await readFile(path, 'utf8')).slice(1).split('\n');
    return { header: (lines[0] as string).split(';'), first: (lines[1] as string).split(';') };
  };
  const old = await header('2020', 'csv-labels');
  assert.ok(old.header.includes('Import Île-de-France') && old.header.includes('Export Centre-Val de Loire'), old.header.join());
  for (const gone of ['Stockage batterie', 'Déstockage batterie', 'Eolien terrestre', 'Eolien offshore'])
    assert.ok(!old.header.includes(gone), `2020 layout without ${gone}`);
  assert.equal(old.first.length, old.header.length);
  // The first row is Île-de-France's: it imports, so its Import column holds ech_physiques and Export 0.
  const ech = Number(old.first[old.header.indexOf('Ech. physiques (MW)')]);
  assert.equal(Number(old.first[old.header.indexOf('Import Île-de-France')]), Math.max(0, ech));
  assert.equal(old.first[old.header.indexOf('Import Centre-Val de Loire')], '');

  const cur = await header('current', 'csv');
  for (const present of ['stockage_batterie', 'destockage_batterie', 'eolien_terrestre', 'eolien_offshore']) assert.ok(cur.header.includes(present));
  assert.ok(!cur.header.some((h) => /^(import|export)_/.test(h)));
  assert.equal(cur.header.at(-1), 'column_68');
  assert.equal(cur.first.at(-1), '', 'the trailing column is empty');
  assert.equal(cur.header.length, ECO2MIX_FIELDS.length + 1);
});

test('future slots: by default the rest of today when `to` is today; refused for cons-def', async () => {
  // 12:00 in Paris (summer time): the slots from 12:15 to 23:45 are still to come.
  const now = Date.UTC(2024, 5, 1, 10);
  const path = join(dir, 'today.jsonl');
  await writeEco2mix(path, 'jsonl', { regions: 2, from: '2024-05-31', to: '2024-06-01', dataset: 'tr', now });
  const b = await readBack(path, 'today.jsonl');
  assert.deepEqual(b.rejects, []);
  assert.equal(b.emptySlots, 2 * 47);
  assert.equal(b.observations.length, 2 * (96 + 49));
  assert.ok(b.observations.every((o) => o.observedAt <= now));
  await assert.rejects(
    writeEco2mix(join(dir, 'x.csv'), 'csv', { regions: 1, from: '2024-01-01', to: '2024-01-01', dataset: 'cons-def', futureSlots: 2 }),
    /only the real-time/,
  );
});

/** A full collection on demand: the test measures what the writer retains, not the garbage it has yet to free. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') throw new Error('gc not exposed');
  return gc as () => void;
}

test('six months of all regions stream to disk: the file grows while rows are generated, the heap does not hold them', { timeout: 120_000 }, async () => {
  const gc = collector();
  const path = join(dir, 'months.jsonl');
  let peak = 0;
  let samples = 0;
  const sizes = new Set<number>();
  gc();
  const before = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    gc();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    samples++;
    stat(path).then(
      (s) => sizes.add(s.size),
      () => undefined,
    );
  }, 25);
  const { rows } = await writeEco2mix(path, 'jsonl', { regions: 'all', from: '2024-01-01', to: '2024-06-30', dataset: 'cons-def', now: NOW });
  clearInterval(timer);
  assert.equal(rows, 12 * 182 * 48);
  const size = (await stat(path)).size;
  assert.ok(size > 60 * 1024 ** 2, `${size} bytes`);
  const partial = [...sizes].filter((s) => s > 0 && s < size);
  assert.ok(partial.length >= 3, `the file was seen at ${partial.length} partial sizes while writing: written as it goes`);
  assert.ok(samples >= 3, `${samples} heap samples`);
  assert.ok(peak - before < 16 * 1024 ** 2, `live heap grew by ${peak - before} bytes for a ${size}-byte file`);
});

test('options are checked before anything is written', () => {
  const ok = { regions: 2, from: '2024-01-01', to: '2024-01-02', dataset: 'tr' as const, now: NOW };
  const first = (opts: Parameters<typeof eco2mixRecords>[0]) => eco2mixRecords(opts).next();
  assert.equal(first(ok).done, false);
  assert.throws(() => first({ ...ok, regions: 13 }), /regions must be 'all' or an integer from 1 to 12/);
  assert.throws(() => first({ ...ok, regions: 0 }), /regions must be/);
  assert.throws(() => first({ ...ok, from: '2024-02-30' }), /from "2024-02-30" is not a YYYY-MM-DD date/);
  assert.throws(() => first({ ...ok, to: '2023-12-31' }), /is before from/);
  assert.throws(() => first({ ...ok, futureSlots: 97 }), /futureSlots must be an integer from 0 to 96/);
  assert.equal([...eco2mixRecords({ ...ok, regions: 'all' })].length, 12 * 2 * 96);
});
