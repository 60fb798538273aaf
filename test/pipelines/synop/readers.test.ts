import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { fieldIndex } from '../../../src/connectors/opendatasoft/synop/fields.js';
import { SynopBatch, type SynopObservation } from '../../../src/pipelines/synop/batch.js';
import { CONVERTED_COLUMNS } from '../../../src/pipelines/synop/convert.js';
import { readSynopFile, readSynopPath, type ReadSynopOptions } from '../../../src/pipelines/synop/readers.js';

function read(file: string, text: string | Uint8Array): SynopBatch {
  const batch = new SynopBatch();
  readSynopFile(file, typeof text === 'string' ? strToU8(text) : text, batch);
  return batch;
}

/** Reads a file from disk, as a run does (ZIP archives are extracted from disk). */
async function readPath(file: string, bytes: Uint8Array, opts?: ReadSynopOptions): Promise<SynopBatch> {
  const dir = await mkdtemp(join(tmpdir(), 'ecluse-synop-read-'));
  try {
    await writeFile(join(dir, file), bytes);
    const batch = new SynopBatch();
    await readSynopPath(file, join(dir, file), batch, opts);
    return batch;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const field = (o: SynopObservation, name: string) => o.values[fieldIndex(name)];
const conv = (o: SynopObservation, name: (typeof CONVERTED_COLUMNS)[number]) => o.converted[CONVERTED_COLUMNS.indexOf(name)];

// A labels export (use_labels=true, timezone=Europe/Paris) with some columns selected, in the
// dataset's order: the repeated labels appear twice, the coded field first.
const LABELS_CSV =
  '\uFEFFID OMM station;Date;Pression au niveau mer;Type de tendance barométrique;Température;Temps présent;Temps passé 1;' +
  'Précipitations dans les 3 dernières heures;Coordonnees;Nom;Type de tendance barométrique;Temps passé 1;Temps présent;' +
  'Température (°C);Longitude;Latitude\r\n' +
  '07015;2024-07-01T02:00:00+02:00;101720;2;291.45;2;0;-0.1;50.57, 3.0975;LILLE-LESQUIN;Hausse (régulière ou irrégulière);' +
  'Nuages couvrant la moitié du ciel ou moins pendant toute la période considérée;État du ciel inchangé dans l’ensemble;18.30000000000001;3.0975;50.57\r\n' +
  '07015;2024-07-01T05:00:00+02:00;101750;;abc;61;6;1.2;;LILLE-LESQUIN;;Pluie;Pluie, sans congélation, continue, faible;;3.0975;50.57\r\n';

test('labels CSV with BOM: repeated labels mapped by position, offsets applied, trace, non-numeric t', () => {
  const b = read('synop-labels.csv', LABELS_CSV);
  assert.equal(b.observations.length, 2);
  const [a, c] = b.observations as [SynopObservation, SynopObservation];
  assert.equal(a.stationId, '07015');
  assert.equal(field(a, 'date'), '2024-07-01T00:00:00Z');
  assert.equal(a.observedAt, Date.UTC(2024, 6, 1, 0));
  assert.equal(field(a, 'cod_tend'), 2);
  assert.equal(field(a, 'type_de_tendance_barometrique'), 'Hausse (régulière ou irrégulière)');
  assert.equal(field(a, 'ww'), 2);
  assert.equal(field(a, 'temps_present'), 'État du ciel inchangé dans l’ensemble');
  assert.equal(field(a, 'w1'), 0);
  assert.match(String(field(a, 'temps_passe_1')), /^Nuages couvrant/);
  assert.equal(field(a, 'rr3'), -0.1, 'the raw field keeps the dataset spelling');
  assert.equal(conv(a, 'precip_3h_mm'), 0);
  assert.equal(conv(a, 'precip_3h_trace'), true);
  assert.equal(conv(a, 'precip_1h_mm'), null, 'an absent column stays missing, never 0');
  assert.equal(conv(a, 'temperature_c'), 18.3);
  assert.equal(conv(a, 'pressure_sea_hpa'), 1017.2);
  assert.equal(field(a, 'coordonnees'), '50.57, 3.0975');
  assert.equal(field(a, 'pmer'), 101720);

  // Second row: t is not a number → one value reject, the observation kept with t null.
  assert.equal(field(c, 't'), null);
  assert.equal(conv(c, 'temperature_c'), null);
  assert.equal(field(c, 'cod_tend'), null);
  assert.equal(field(c, 'temps_passe_1'), 'Pluie');
  assert.equal(field(c, 'coordonnees'), '50.57, 3.0975', 'coordonnees filled from latitude/longitude');
  assert.equal(conv(c, 'precip_3h_mm'), 1.2);
  assert.equal(conv(c, 'precip_3h_trace'), false);
  assert.deepEqual(b.rejects, [{ file: 'synop-labels.csv', sheet: null, row: 3, field: 't', value: 'abc', reason: 'not a number', whole_record: false }]);
  assert.equal(b.valuesRejected, 1);
  assert.equal(b.rowsRejected, 0);
});

test('field-name CSV: an unknown column gives one reject naming it, the rest is loaded', () => {
  const csv =
    '\uFEFFnumer_sta;date;t;humidex;tc;rr3;legacy\n07015;2024-01-01T00:00:00+00:00;275.15;3;2.0000000000000284;0;x\n07015;2024-01-01T03:00:00+00:00;;4;1.5;-0.5;y\n';
  const b = read('names.csv', csv);
  assert.equal(b.observations.length, 2);
  const unknown = b.rejects.filter((r) => r.row === null);
  assert.equal(unknown.length, 1);
  assert.equal(unknown[0]?.field, 'humidex, legacy');
  assert.match(unknown[0]?.reason ?? '', /unknown columns ignored/);
  const [a, c] = b.observations as [SynopObservation, SynopObservation];
  assert.equal(conv(a, 'temperature_c'), 2);
  assert.equal(conv(c, 'temperature_c'), 1.5, 'tc is used when t is missing');
  // A negative amount other than the −0.1 trace is rejected, never loaded as rain.
  assert.equal(conv(c, 'precip_3h_mm'), null);
  assert.equal(field(c, 'rr3'), null);
  const neg = b.rejects.find((r) => r.field === 'rr3');
  assert.equal(neg?.value, '-0.5');
  assert.equal(neg?.row, 3);
});

test('a CSV separated by commas is a clear file-level error', () => {
  const b = read('comma.csv', 'numer_sta,date,t\n07015,2024-01-01T00:00:00+00:00,275.15\n');
  assert.equal(b.observations.length, 0);
  assert.equal(b.filesRejected, 1);
  assert.match(b.rejects[0]?.reason ?? '', /separated by ',', expected ';'/);
  assert.equal(b.rejects[0]?.file, 'comma.csv');
});

test('a CSV without a date column, or of another dataset, is refused as a whole', () => {
  assert.match(read('nodate.csv', 'numer_sta;t\n07015;275\n').rejects[0]?.reason ?? '', /no date column \("Date"/);
  assert.match(read('other.csv', 'a;b\n1;2\n').rejects[0]?.reason ?? '', /no column of donnees-synop-essentielles-omm/);
});

test('JSONL: a truncated line is one record reject, other lines load; JSON coordonnees; record keys checked', () => {
  const jsonl = [
    '{"numer_sta":"07015","date":"2024-07-01T00:00:00+00:00","t":290.15,"coordonnees":{"lon":3.0975,"lat":50.57},"ff":2.5,"raf10":4.1}',
    '{"numer_sta":"07015","date":"2024-07-01T03:00:00+00:00","t":289.1',
    '{"date":"2024-07-01T06:00:00+00:00","t":291.15}',
    '{"numer_sta":"07015","date":"2024-07-01T09:00:00","t":291.15}',
    '{"numer_sta":"07015","date":"2024-07-01T12:00:00+00:00","t":"warm","rafper":10,"rr24":-0.1}',
    '',
  ].join('\n');
  const b = read('synop.jsonl', jsonl);
  assert.equal(b.observations.length, 2);
  const [a, e] = b.observations as [SynopObservation, SynopObservation];
  assert.equal(field(a, 'coordonnees'), '50.57, 3.0975');
  assert.equal(field(a, 'latitude'), 50.57, 'latitude filled from coordonnees');
  assert.equal(conv(a, 'wind_speed_kmh'), 9);
  assert.equal(conv(a, 'gust_kmh'), 14.76);
  assert.equal(conv(e, 'gust_kmh'), 36, 'rafper when raf10 is missing');
  assert.equal(conv(e, 'precip_24h_trace'), true);
  const byRow = new Map(b.rejects.map((r) => [r.row, r]));
  assert.equal(byRow.get(2)?.reason, 'truncated JSON line');
  assert.equal(byRow.get(2)?.whole_record, true);
  assert.equal(byRow.get(3)?.field, 'numer_sta');
  assert.equal(byRow.get(3)?.whole_record, true);
  assert.equal(byRow.get(4)?.field, 'date');
  assert.match(byRow.get(4)?.reason ?? '', /without UTC offset/);
  assert.equal(byRow.get(5)?.field, 't');
  assert.equal(byRow.get(5)?.whole_record, false);
  assert.equal(b.rowsRead, 5);
  assert.equal(b.rowsRejected, 3);
  assert.equal(b.valuesRejected, 1);
});

test('API JSON (results) and export JSON array; coordonnees absent or as a string; numer_sta as a number', () => {
  const api = JSON.stringify({
    total_count: 2,
    results: [
      { numer_sta: 7015, date: '2024-03-31T04:00:00+02:00', pmer: 101000, latitude: 50.57, longitude: 3.0975, altitude: 47, nom: 'LILLE-LESQUIN' },
      { numer_sta: '07005', date: '2024-03-31T01:00:00+01:00', coordonnees: '50.136, 1.834', td: 280.15, vv: 'far' },
    ],
  });
  const b = read('records.json', api);
  assert.equal(b.observations.length, 2);
  const [a, c] = b.observations as [SynopObservation, SynopObservation];
  assert.equal(a.stationId, '07015');
  assert.equal(field(a, 'date'), '2024-03-31T02:00:00Z');
  assert.equal(field(a, 'coordonnees'), '50.57, 3.0975');
  assert.equal(field(a, 'altitude'), 47);
  assert.equal(field(c, 'date'), '2024-03-31T00:00:00Z');
  assert.equal(field(c, 'longitude'), 1.834);
  assert.equal(conv(c, 'dew_point_c'), 7);
  assert.deepEqual(
    b.rejects.map((r) => [r.sheet, r.row, r.field, r.value]),
    [['results', 2, 'vv', 'far']],
  );

  const arr = read('export.json', '[{"numer_sta":"07015","date":"2024-01-01T00:00:00+00:00"}, 3]');
  assert.equal(arr.observations.length, 1);
  assert.equal(arr.rejects[0]?.row, 2);
  assert.equal(arr.rejects[0]?.reason, 'not a JSON object');
});

test('JSON that is not SYNOP data, truncated or an API error is a file reject', () => {
  assert.match(read('t.json', '[{"numer_sta":"07015"').rejects[0]?.reason ?? '', /truncated JSON/);
  assert.match(
    read('e.json', '{"error_code":"InvalidRESTParameterError","message":"bad where"}').rejects[0]?.reason ?? '',
    /InvalidRESTParameterError: bad where/,
  );
  assert.match(read('o.json', '{"data":[]}').rejects[0]?.reason ?? '', /expected an OpenDataSoft records response/);
  assert.match(read('x.txt', 'hello').rejects[0]?.reason ?? '', /unsupported file type/);
});

test('ZIP: entries read by type, ../ paths and other types refused, limits enforced', async () => {
  const zip = zipSync({
    'a.jsonl': strToU8('{"numer_sta":"07015","date":"2024-01-01T00:00:00+00:00","t":275.15}\n'),
    'sub/b.csv': strToU8('\uFEFFnumer_sta;date;t\n07005;2024-01-01T00:00:00+00:00;274.15\n'),
    '../evil.json': strToU8('[{"numer_sta":"66666","date":"2024-01-01T00:00:00+00:00"}]'),
    'notes.txt': strToU8('hi'),
  });
  const b = await readPath('drop.zip', zip);
  assert.deepEqual(b.observations.map((o) => [o.stationId, o.loc.file]).sort(), [
    ['07005', 'drop.zip/sub/b.csv'],
    ['07015', 'drop.zip/a.jsonl'],
  ]);
  const reasons = b.rejects.map((r) => `${r.file}: ${r.reason}`);
  assert.ok(
    reasons.some((r) => r.startsWith('drop.zip/../evil.json: entry path escapes')),
    reasons.join('\n'),
  );
  assert.ok(
    reasons.some((r) => r.startsWith('drop.zip/notes.txt: unsupported')),
    reasons.join('\n'),
  );

  const many: Record<string, Uint8Array> = {};
  for (let i = 0; i < 30; i++) many[`f${i}.jsonl`] = strToU8('');
  const limited = await readPath('many.zip', zipSync(many), { zip: { limits: { maxEntries: 10, maxEntryBytes: 1e6, maxTotalBytes: 1e6, maxRatio: 100 } } });
  assert.equal(limited.filesRejected, 1);
  assert.equal(limited.rejects[0]?.file, 'many.zip');
  assert.match(limited.rejects[0]?.reason ?? '', /lists 30 entries, more than the limit of 10 \(raise it with ECLUSE_ZIP_MAX_ENTRIES/);
});

test('a labels export holding only the text twin of a repeated label: the cells decide', () => {
  const csv =
    '\uFEFFID OMM station;Date;Temps présent;Type de tendance barométrique\n07015;2024-01-01T00:00:00+00:00;Brume;4\n07015;2024-01-01T03:00:00+00:00;;Stationnaire\n';
  const b = read('twins.csv', csv);
  assert.deepEqual(b.rejects, []);
  const [a, c] = b.observations as [SynopObservation, SynopObservation];
  assert.equal(field(a, 'temps_present'), 'Brume');
  assert.equal(field(a, 'ww'), null);
  // A column of codes and text mixed: the text wins, the code is read as text.
  assert.equal(field(c, 'type_de_tendance_barometrique'), 'Stationnaire');
  assert.equal(field(a, 'type_de_tendance_barometrique'), '4');
  assert.equal(field(a, 'cod_tend'), null);
});

test('keys and columns named like Object properties are unknown, not fields', () => {
  const b = read('proto.jsonl', '{"numer_sta":"07015","date":"2024-01-01T00:00:00Z","constructor":1,"toString":2}\n');
  assert.equal(b.observations.length, 1);
  assert.equal(b.rejects[0]?.field, 'constructor, toString');
  const c = read('proto.csv', 'numer_sta;date;__proto__;hasOwnProperty\n07015;2024-01-01T00:00:00Z;1;2\n');
  assert.equal(c.observations.length, 1);
  assert.equal(c.rejects[0]?.field, '__proto__, hasOwnProperty');
});
