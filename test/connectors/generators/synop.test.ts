import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fieldIndex, SYNOP_FIELD_NAMES, SYNOP_FIELDS } from '../../../src/connectors/opendatasoft/synop/fields.js';
import type { SynopValues } from '../../../src/connectors/opendatasoft/synop/values.js';
import { SYNOP_FORMATS, synopRecords, synopStations, writeSynop, type SynopFormat } from '../../../src/connectors/generators/synop.js';
import { SynopBatch } from '../../../src/pipelines/synop/batch.js';
import { readSynopFile } from '../../../src/pipelines/synop/readers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecluse-synop-gen-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const EXT: Record<SynopFormat, string> = { 'api-json': 'json', json: 'json', jsonl: 'jsonl', csv: 'csv', 'csv-labels': 'csv' };
const col = (rows: SynopValues[], name: string) => rows.map((r) => r[fieldIndex(name)]);
const nums = (xs: unknown[]) => xs.filter((x): x is number => typeof x === 'number');

test('stations: real WMO numbers with leading zeros, plausible metadata', () => {
  const st = synopStations(63);
  assert.equal(st.length, 63);
  assert.equal(new Set(st.map((s) => s.numer_sta)).size, 63);
  assert.ok(st.every((s) => /^\d{5}$/.test(s.numer_sta)));
  const lille = st.find((s) => s.numer_sta === '07015');
  assert.equal(lille?.nom, 'LILLE-LESQUIN');
  assert.equal(lille?.code_dep, '59');
  assert.equal(lille?.nom_reg, 'Hauts-de-France');
  assert.throws(() => synopStations(64), /1 to 63/);
});

test('determinism: same seed, same bytes; another seed, other values', async () => {
  const opts = { stations: 4, from: '2024-01-01', to: '2024-01-03' };
  const a = join(dir, 'a.jsonl');
  const b = join(dir, 'b.jsonl');
  const c = join(dir, 'c.jsonl');
  await writeSynop(a, 'jsonl', opts);
  await writeSynop(b, 'jsonl', opts);
  await writeSynop(c, 'jsonl', { ...opts, seed: 2 });
  assert.deepEqual(await readFile(a), await readFile(b));
  assert.notDeepEqual(await readFile(a), await readFile(c));
});

test('a month of 20 stations: 82 fields, 3-hourly, real units, gaps and traces', () => {
  const rows = [...synopRecords({ stations: 20, from: '2024-01-01', to: '2024-01-31', seed: 7 })];
  const slots = 20 * 31 * 8;
  assert.ok(rows.every((r) => r.length === 82));
  assert.ok(rows.length < slots && rows.length > slots * 0.9, `${rows.length} of ${slots} slots: some missing, most present`);
  assert.ok(col(rows, 'date').every((d) => /^2024-01-\d\dT(00|03|06|09|12|15|18|21):00:00Z$/.test(String(d))));
  const t = nums(col(rows, 't'));
  assert.ok(t.length < rows.length, 'some temperatures missing');
  assert.ok(
    t.every((k) => k > 250 && k < 300),
    'January in metropolitan France, in kelvin',
  );
  const mean = t.reduce((s, k) => s + k, 0) / t.length;
  assert.ok(mean > 272 && mean < 285, `mean ${mean} K`);
  // tc = t − 273.15, computed in binary floating point like the real dataset.
  const tc = col(rows, 'tc');
  rows.forEach((r, i) => {
    const k = r[fieldIndex('t')];
    if (typeof k === 'number') assert.ok(Math.abs((tc[i] as number) - (k - 273.15)) < 1e-9);
  });
  assert.ok(
    tc.some((x) => typeof x === 'number' && Math.round(x * 10) / 10 !== x),
    'float noise present',
  );
  const pmer = nums(col(rows, 'pmer'));
  assert.ok(
    pmer.every((p) => p > 95_000 && p < 106_000 && p % 10 === 0),
    'Pa, whole tenths of hPa',
  );
  assert.ok(
    nums(col(rows, 'ff')).every((v) => v >= 0 && v < 40),
    'm/s',
  );
  const rr3 = nums(col(rows, 'rr3'));
  assert.ok(rr3.includes(-0.1), 'traces written as -0.1');
  assert.ok(
    rr3.some((v) => v > 0),
    'some rain',
  );
  assert.ok(rr3.every((v) => v >= 0 || v === -0.1));
  assert.ok(
    col(rows, 'rr24').every((v, i) => v === null || String(col(rows, 'date')[i]).includes('T06:')),
    'rr24 at 06 UTC only',
  );
  assert.ok(col(rows, 'tn12').some((v) => v !== null) && col(rows, 'tn12').some((v) => v === null), 'tn12 at some hours');
  // Every field is filled somewhere except the rarely reported ones; text twins follow their codes.
  const neverFilled = SYNOP_FIELD_NAMES.filter((n) => col(rows, n).every((v) => v === null));
  assert.ok(
    neverFilled.every((n) => ['niv_bar', 'geop', 'ssfrai', 'perssfrai', 'phenspe1', 'phenspe2', 'phenspe3', 'phenspe4', 'sw', 'tw'].includes(n)),
    neverFilled.join(),
  );
  rows.forEach((r) => assert.equal(r[fieldIndex('cod_tend')] === null, r[fieldIndex('type_de_tendance_barometrique')] === null));
  assert.ok(col(rows, 'mois_de_l_annee').every((m) => m === 1));
  assert.equal(col(rows, 'coordonnees')[0], '50.136, 1.834');
});

test('every writer reads back, through the readers, to the same observations', async () => {
  const opts = { stations: 6, from: '2024-10-26', to: '2024-10-28', timezone: 'Europe/Paris', seed: 3 };
  const expected = [...synopRecords(opts)];
  for (const format of SYNOP_FORMATS) {
    const path = join(dir, `round-${format}.${EXT[format]}`);
    const { rows } = await writeSynop(path, format, opts);
    assert.equal(rows, expected.length, format);
    const bytes = await readFile(path);
    const text = bytes.toString('utf8');
    if (format.startsWith('csv')) assert.ok(text.startsWith('\uFEFF'), `${format}: BOM`);
    // Around the autumn DST change both Paris offsets appear.
    assert.ok(text.includes('+02:00') && text.includes('+01:00'), `${format}: offsets`);
    const batch = new SynopBatch();
    readSynopFile(`round.${EXT[format]}`, bytes, batch);
    assert.deepEqual(batch.rejects, [], format);
    assert.equal(batch.observations.length, expected.length, format);
    batch.observations.forEach((o, i) => assert.deepEqual(o.values, expected[i], `${format} record ${i}`));
  }
});

test('API JSON: total_count first and all 82 keys per record; labels header in export order', async () => {
  const opts = { stations: 2, from: '2024-05-01', to: '2024-05-01' };
  const api = join(dir, 'api.json');
  await writeSynop(api, 'api-json', opts);
  const text = await readFile(api, 'utf8');
  assert.ok(text.startsWith('{"total_count":'));
  const doc = JSON.parse(text) as { total_count: number; results: Record<string, unknown>[] };
  assert.equal(doc.total_count, doc.results.length);
  assert.deepEqual(Object.keys(doc.results[0] ?? {}), SYNOP_FIELD_NAMES);
  assert.deepEqual(Object.keys(doc.results[0]?.coordonnees as object), ['lon', 'lat']);
  const labels = join(dir, 'labels.csv');
  await writeSynop(labels, 'csv-labels', opts);
  const header = (await readFile(labels, 'utf8')).slice(1).split('\n', 1)[0]?.split(';');
  assert.deepEqual(
    header,
    SYNOP_FIELDS.map((f) => f.label),
  );
});

test('a year of 62 stations streams to a file of about 180k rows without holding them', { timeout: 120_000 }, async () => {
  const path = join(dir, 'year.jsonl');
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 20);
  const before = process.memoryUsage().heapUsed;
  const { rows } = await writeSynop(path, 'jsonl', { stations: 62, from: '2024-01-01', to: '2024-12-31' });
  clearInterval(timer);
  assert.ok(rows > 170_000 && rows < 182_000, `${rows}`);
  const size = (await stat(path)).size;
  assert.ok(size > 180 * 1024 ** 2, `${size} bytes`);
  assert.ok(peak - before < size / 2, `heap grew by ${peak - before} bytes for a ${size}-byte file`);
});
