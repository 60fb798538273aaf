import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { Eco2mixBatch, type Eco2mixObservation } from '../../../src/pipelines/eco2mix/batch.js';
import { readEco2mixFile, readEco2mixPath } from '../../../src/pipelines/eco2mix/readers.js';
import { CURRENT_LABELS, CURRENT_NAMES, csv, LAYOUT_2020_LABELS } from '../../fixtures/eco2mix.js';

function read(file: string, text: string): Eco2mixBatch {
  const batch = new Eco2mixBatch();
  readEco2mixFile(file, strToU8(text), batch);
  return batch;
}

async function readPath(file: string, bytes: Uint8Array): Promise<Eco2mixBatch> {
  const dir = await mkdtemp(join(tmpdir(), 'ecluse-eco2mix-read-'));
  try {
    await writeFile(join(dir, file), bytes);
    const batch = new Eco2mixBatch();
    await readEco2mixPath(file, join(dir, file), batch);
    return batch;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const obs = (b: Eco2mixBatch, i: number): Eco2mixObservation => {
  const o = b.observations[i];
  assert.ok(o, `observation ${i}`);
  return o;
};

const JAN_15 = ['2024-01-15', '10:00', '2024-01-15T10:00:00+01:00'];

test('labels CSV, current layout, BOM: offsets applied, ND/-/"" missing, "-6" is -6, a bad value kept null, Corsica rejected whole', () => {
  const text = csv(CURRENT_LABELS, [
    [
      '11',
      'Île-de-France',
      'Données définitives',
      ...JAN_15,
      '9510',
      '405',
      'ND',
      '21',
      '4',
      '5',
      '-',
      '95',
      '8985',
      '0',
      '0',
      '21',
      '0',
      '4.26',
      '12.1',
      '',
      '',
      '',
    ],
    [
      '32',
      'Hauts-de-France',
      'Données définitives',
      ...JAN_15,
      '6800',
      '1200',
      '5200',
      '1500',
      '60',
      '2',
      '-6',
      '130',
      '-1850',
      '1',
      '2',
      '1400',
      '100',
      '17.6',
      '40.2',
      '76.5',
      '85.1',
      '',
    ],
    [
      '44',
      'Grand Est',
      'Données définitives',
      ...JAN_15,
      'abc',
      '700',
      '8100',
      '2100',
      '90',
      '1100',
      '-300',
      '120',
      '-9500',
      '',
      '',
      '2100',
      '',
      '',
      '',
      '',
      '',
      '',
    ],
    ['94', 'Corse', 'Données définitives', ...JAN_15, '300', '200', '', '10', '5', '50', '', '10', '', '', '', '', '', '', '', '', '', ''],
  ]);
  const b = read('eco2mix-regional-cons-def.csv', text);
  assert.equal(b.observations.length, 3);
  const idf = obs(b, 0);
  assert.equal(idf.regionCode, '11');
  assert.equal(idf.observedAt, Date.UTC(2024, 0, 15, 9), '10:00+01:00 is 09:00Z');
  assert.equal(idf.nature, 'Données définitives');
  assert.equal(idf.values.consumption, 9510);
  assert.equal(idf.values.nuclear, null, 'ND is missing, not 0');
  assert.equal(idf.values.pumping, null, '"-" is missing, not 0');
  assert.equal(idf.values.battery_charge, 0, '"0" is a real zero');
  assert.deepEqual(idf.loc, { file: 'eco2mix-regional-cons-def.csv', sheet: null, row: 2 });
  const hdf = obs(b, 1);
  assert.equal(hdf.values.pumping, -6);
  assert.equal(hdf.values.exchanges, -1850);
  assert.equal(hdf.values.wind_offshore, 100);
  assert.equal(hdf.values.battery_discharge, 2);
  const ge = obs(b, 2);
  assert.equal(ge.values.consumption, null);
  assert.equal(ge.values.nuclear, 8100);
  assert.equal(ge.values.battery_charge, null, 'an empty cell is missing');
  assert.deepEqual(b.rejects, [
    { file: 'eco2mix-regional-cons-def.csv', sheet: null, row: 4, field: 'consommation', value: 'abc', reason: 'not a number', whole_record: false },
    {
      file: 'eco2mix-regional-cons-def.csv',
      sheet: null,
      row: 5,
      field: 'code_insee_region',
      value: '94',
      reason: 'unknown region code (expected one of 11, 24, 27, 28, 32, 44, 52, 53, 75, 76, 84, 93)',
      whole_record: true,
    },
  ]);
  assert.deepEqual([b.rowsRead, b.rowsRejected, b.valuesRejected, b.emptySlots], [4, 1, 1, 0]);
});

test('labels CSV, 2020 layout: Import/Export columns read as part of the layout, battery and offshore missing; an unknown column named once', () => {
  const header = [...LAYOUT_2020_LABELS, 'Commentaire'];
  const text = csv(header, [
    [
      '53',
      'Bretagne',
      'Données consolidées',
      '2020-06-01',
      '12:00',
      '2020-06-01T12:00:00+02:00',
      '2400',
      '30',
      '',
      '410',
      '380',
      '20',
      '',
      '45',
      '1515',
      '1200',
      '0',
      '',
      'note',
    ],
    [
      '53',
      'Bretagne',
      'Données consolidées',
      '2020-06-01',
      '12:30',
      '2020-06-01T12:30:00+02:00',
      '2380',
      '30',
      '',
      '405',
      '390',
      '20',
      '',
      '45',
      '1490',
      '1180',
      '0',
      '',
      '',
    ],
  ]);
  const b = read('bretagne-2020.csv', text);
  assert.equal(b.observations.length, 2);
  const o = obs(b, 0);
  assert.equal(o.observedAt, Date.UTC(2020, 5, 1, 10));
  assert.equal(o.values.wind, 410);
  assert.equal(o.values.exchanges, 1515);
  assert.equal(o.values.battery_charge, null);
  assert.equal(o.values.wind_offshore, null);
  assert.equal(o.values.wind_onshore, null);
  assert.deepEqual(b.rejects, [
    {
      file: 'bretagne-2020.csv',
      sheet: null,
      row: null,
      field: 'Commentaire',
      value: null,
      reason: 'unknown column ignored (not a field of eco2mix-regional-tr / eco2mix-regional-cons-def)',
      whole_record: false,
    },
  ]);
});

test('field-name CSV of the real-time dataset: future slots with no value skipped and counted, a lone bad value keeps its row', () => {
  const rt = 'Données temps réel';
  const day = '2024-06-01';
  const empty = (n: number) => new Array<string>(n).fill('');
  const text = csv(CURRENT_NAMES, [
    [
      '84',
      'Auvergne-Rhône-Alpes',
      rt,
      day,
      '14:00',
      `${day}T14:00:00+02:00`,
      '7100',
      '150',
      '9800',
      '300',
      '2100',
      '3900',
      '-620',
      '110',
      '-9600',
      '4',
      '0',
      '300',
      '0',
      ...empty(5),
    ],
    ['84', 'Auvergne-Rhône-Alpes', rt, day, '14:15', `${day}T14:15:00+02:00`, ...empty(18)],
    ['84', 'Auvergne-Rhône-Alpes', rt, day, '14:30', `${day}T14:30:00+02:00`, 'ND', '-', ...empty(16)],
    ['84', 'Auvergne-Rhône-Alpes', rt, day, '14:45', `${day}T14:45:00+02:00`, 'x12', ...empty(17)],
    ['84', 'Auvergne-Rhône-Alpes', 'Données consolidées', day, '15:00', `${day}T15:00:00+02:00`, ...empty(18)],
  ]);
  const b = read('eco2mix-regional-tr.csv', text);
  assert.equal(b.emptySlots, 3);
  assert.equal(b.rowsRead, 5);
  assert.equal(b.observations.length, 2);
  assert.equal(obs(b, 0).values.nuclear, 9800);
  assert.equal(obs(b, 0).nature, 'Données temps réel');
  const bad = obs(b, 1);
  assert.equal(bad.observedAt, Date.UTC(2024, 5, 1, 12, 45));
  assert.ok(Object.values(bad.values).every((v) => v === null));
  assert.deepEqual(b.rejects, [
    { file: 'eco2mix-regional-tr.csv', sheet: null, row: 5, field: 'consommation', value: 'x12', reason: 'not a number', whole_record: false },
  ]);
});

test('CSV rows: a missing trailing empty cell is accepted, a row that does not line up is rejected whole', () => {
  const header = ['code_insee_region', 'date_heure', 'consommation', 'column_30'];
  const text = '\uFEFF' + header.join(';') + '\n11;2024-01-15T10:00:00+01:00;9510\n11;2024-01-15T10:30:00+01:00;9500;\n11;2024-01-15T11:00:00+01:00\n';
  const b = read('short.csv', text);
  assert.deepEqual(
    b.observations.map((o) => o.values.consumption),
    [9510, 9500],
  );
  assert.equal(b.rejects.length, 1);
  assert.deepEqual(b.rejects[0], {
    file: 'short.csv',
    sheet: null,
    row: 4,
    field: null,
    value: null,
    reason: '2 cells where the header has 4 columns',
    whole_record: true,
  });
});

const record = (over: Record<string, unknown>): Record<string, unknown> => ({
  code_insee_region: '75',
  libelle_region: 'Nouvelle-Aquitaine',
  nature: 'Données temps réel',
  date: '2024-06-01',
  heure: '14:00',
  date_heure: '2024-06-01T14:00:00+02:00',
  consommation: 4500,
  thermique: '0',
  nucleaire: '7800',
  eolien: 900,
  solaire: '2300',
  hydraulique: 400,
  pompage: '-6',
  bioenergies: null,
  ech_physiques: -6000,
  stockage_batterie: 'ND',
  destockage_batterie: '-',
  eolien_terrestre: 900,
  eolien_offshore: '',
  tco_thermique: 0,
  tch_thermique: null,
  column_68: null,
  ...over,
});

test('JSONL export: numbers and numbers as strings, bad lines, keys without offset or time rejected whole, unknown keys named once', () => {
  const lines = [
    JSON.stringify(record({})),
    '{"code_insee_region":"75","date_heure":"2024-06-01T14:',
    '',
    JSON.stringify(record({ date_heure: '2024-06-01T14:15:00' })),
    JSON.stringify(record({ date_heure: undefined, foo: 1 })),
    JSON.stringify(record({ code_insee_region: 11, date_heure: '2024-06-01T12:15:00Z', nature: 'Données provisoires', foo: 2 })),
    JSON.stringify(record({ date_heure: '2024-02-30T10:00:00+01:00' })),
    JSON.stringify(record({ consommation: true, nucleaire: 1e6, heure: '14:30', date_heure: '2024-06-01T14:30:00+02:00' })),
    JSON.stringify([1, 2]),
  ];
  const b = read('rt.jsonl', lines.join('\n') + '\n');
  assert.equal(b.observations.length, 3);
  const a = obs(b, 0);
  assert.deepEqual(a.values, {
    consumption: 4500,
    thermal: 0,
    nuclear: 7800,
    wind: 900,
    wind_onshore: 900,
    wind_offshore: null,
    solar: 2300,
    hydro: 400,
    pumping: -6,
    bioenergy: null,
    battery_charge: null,
    battery_discharge: null,
    exchanges: -6000,
  });
  assert.equal(a.observedAt, Date.UTC(2024, 5, 1, 12));
  const idf = obs(b, 1);
  assert.equal(idf.regionCode, '11', 'a region code written as a number');
  assert.equal(idf.observedAt, Date.UTC(2024, 5, 1, 12, 15));
  assert.equal(idf.nature, null);
  assert.equal(idf.loc.row, 6);
  const c = obs(b, 2);
  assert.equal(c.values.consumption, null);
  assert.equal(c.values.nuclear, null);
  assert.equal(c.values.solar, 2300);
  const summary = b.rejects.map((r) => [r.row, r.field, r.value, r.whole_record, r.reason]);
  assert.deepEqual(summary, [
    [2, null, null, true, 'truncated JSON line'],
    [4, 'date_heure', '2024-06-01T14:15:00', true, 'date_heure without UTC offset (ambiguous around DST changes; export with the timezone kept in the value)'],
    [5, 'date_heure', null, true, 'missing time (date_heure)'],
    [6, 'nature', 'Données provisoires', false, 'not a nature of the datasets (Données temps réel, Données consolidées, Données définitives)'],
    [7, 'date_heure', '2024-02-30T10:00:00+01:00', true, 'not an ISO 8601 datetime with offset'],
    [8, 'consommation', 'true', false, 'not a number'],
    [8, 'nucleaire', '1000000', false, 'beyond any regional power (|value| > 100000 MW)'],
    [9, null, '[1,2]', true, 'not a JSON object'],
    [null, 'foo', null, false, 'unknown column ignored (not a field of eco2mix-regional-tr / eco2mix-regional-cons-def)'],
  ]);
  assert.deepEqual([b.rowsRead, b.rowsRejected, b.valuesRejected], [8, 5, 3]);
});

test('API records page and export JSON array: the row is the position in the array', () => {
  const page = { total_count: 2, results: [record({ date_heure: '2024-06-01T12:00:00+00:00' }), record({ code_insee_region: '2A' })] };
  const b = read('records.json', JSON.stringify(page));
  assert.equal(b.observations.length, 1);
  assert.equal(obs(b, 0).observedAt, Date.UTC(2024, 5, 1, 12));
  assert.deepEqual(obs(b, 0).loc, { file: 'records.json', sheet: 'results', row: 1 });
  assert.deepEqual(
    b.rejects.map((r) => [r.sheet, r.row, r.field, r.value, r.whole_record]),
    [['results', 2, 'code_insee_region', '2A', true]],
  );

  const exp = read('export.json', JSON.stringify([record({ code_insee_region: '' }), record({ heure: '14:15', date_heure: '2024-06-01T14:15:00+02:00' })]));
  assert.equal(exp.observations.length, 1);
  assert.deepEqual(obs(exp, 0).loc, { file: 'export.json', sheet: null, row: 2 });
  assert.deepEqual(
    exp.rejects.map((r) => [r.row, r.reason]),
    [[1, 'missing region code (code_insee_region)']],
  );
});

test('files that cannot be read are one file reject each, naming why', () => {
  const cases: [string, string, RegExp][] = [
    ['comma.csv', 'code_insee_region,date_heure,consommation\n11,2024-01-15T10:00:00+01:00,9510\n', /separated by ',', expected ';'/],
    ['nokey.csv', '\uFEFFCode INSEE région;Consommation (MW)\n11;9510\n', /no date_heure column \("Date - Heure" in a labels export\)/],
    ['novalue.csv', '\uFEFFcode_insee_region;date_heure;tco_nucleaire\n11;2024-01-15T10:00:00+01:00;3\n', /no power column/],
    ['cut.json', '[{"code_insee_region":"11"', /truncated JSON/],
    ['error.json', '{"error_code":"InvalidRESTParameterError","message":"Invalid value for limit"}', /OpenDataSoft error response.*InvalidRESTParameterError/],
    ['other.json', '{"records":[]}', /expected an OpenDataSoft records response/],
    ['data.xlsx', 'PK', /unsupported file type ".xlsx"/],
    ['empty.jsonl', '', /empty file/],
  ];
  for (const [file, text, reason] of cases) {
    const b = read(file, text);
    assert.equal(b.filesRejected, 1, file);
    assert.equal(b.observations.length, 0, file);
    assert.equal(b.rejects[0]?.file, file);
    assert.match(b.rejects[0]?.reason ?? '', reason, file);
  }
});

test('a ZIP of a labels CSV and a JSONL: both read with their entry names; another entry type is a file reject', async () => {
  const labels = csv(CURRENT_LABELS, [
    ['28', 'Normandie', 'Données consolidées', ...JAN_15, '3900', '80', '9700', '600', '30', '10', '', '60', '-6650', '', '', '550', '50', '', '', '', '', ''],
  ]);
  const zip = zipSync({
    'export/normandie.csv': strToU8(labels),
    'rt.jsonl': strToU8(JSON.stringify(record({})) + '\n'),
    'notes.txt': strToU8('hello'),
  });
  const b = await readPath('drop.zip', zip);
  assert.deepEqual(b.observations.map((o) => [o.regionCode, o.loc.file, o.values.nuclear]).sort(), [
    ['28', 'drop.zip/export/normandie.csv', 9700],
    ['75', 'drop.zip/rt.jsonl', 7800],
  ]);
  assert.deepEqual(
    b.rejects.map((r) => [r.file, r.reason]),
    [['drop.zip/notes.txt', 'unsupported file type in archive (accepted: json, jsonl, ndjson, csv)']],
  );
});

test('a damaged ZIP is a file reject naming the archive', async () => {
  const b = await readPath('broken.zip', strToU8('PK\u0003\u0004 not really a zip'));
  assert.equal(b.filesRejected, 1);
  assert.equal(b.rejects[0]?.file, 'broken.zip');
});
