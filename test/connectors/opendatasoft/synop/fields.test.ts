import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldIndex, headerNames, mapHeader, SYNOP_FIELDS, SYNOP_FIELD_NAMES } from '../../../../src/connectors/opendatasoft/synop/fields.js';

test('the table holds the 82 fields of donnees-synop-essentielles-omm, each once', () => {
  assert.equal(SYNOP_FIELDS.length, 82);
  assert.equal(new Set(SYNOP_FIELD_NAMES).size, 82);
  assert.deepEqual(SYNOP_FIELD_NAMES.slice(0, 8), ['numer_sta', 'date', 'pmer', 'tend', 'cod_tend', 'dd', 'ff', 't']);
  assert.equal(SYNOP_FIELD_NAMES.at(-1), 'mois_de_l_annee');
  const byName = Object.fromEntries(SYNOP_FIELDS.map((f) => [f.name, f]));
  assert.equal(byName.t?.unit, 'K');
  assert.equal(byName.pmer?.unit, 'Pa');
  assert.equal(byName.ff?.unit, 'm/s');
  assert.equal(byName.rr3?.unit, 'mm');
  assert.equal(byName.ht_neige?.unit, 'm');
  assert.equal(byName.numer_sta?.type, 'text');
  assert.equal(byName.coordonnees?.type, 'geo_point');
  assert.ok(SYNOP_FIELDS.some((f) => f.doc === 'formats') && SYNOP_FIELDS.some((f) => f.doc === 'schema'));
  assert.throws(() => fieldIndex('temperature'), /unknown SYNOP field/);
});

test('exactly three labels repeat, each coded field before its text twin', () => {
  const counts = new Map<string, string[]>();
  for (const f of SYNOP_FIELDS) counts.set(f.label, [...(counts.get(f.label) ?? []), f.name]);
  const repeated = [...counts].filter(([, names]) => names.length > 1);
  assert.deepEqual(
    new Map(repeated),
    new Map([
      ['Type de tendance barométrique', ['cod_tend', 'type_de_tendance_barometrique']],
      ['Temps présent', ['ww', 'temps_present']],
      ['Temps passé 1', ['w1', 'temps_passe_1']],
    ]),
  );
});

test('a full labels header maps by position onto the field order', () => {
  const m = mapHeader(SYNOP_FIELDS.map((f) => f.label));
  assert.equal(m.kind, 'labels');
  assert.deepEqual(m.unknown, []);
  assert.deepEqual(
    m.columns,
    SYNOP_FIELDS.map((_, i) => i),
  );
});

test('a subset labels header: the n-th occurrence of a repeated label is the n-th field carrying it', () => {
  const header = [
    'ID OMM station',
    'Date',
    'Temps présent',
    'Type de tendance barométrique',
    'Temps présent',
    'Type de tendance barométrique',
    'Temps passé 1',
  ];
  const m = mapHeader(header);
  const names = m.columns.map((i) => (i === null ? null : SYNOP_FIELD_NAMES[i]));
  assert.deepEqual(names, ['numer_sta', 'date', 'ww', 'cod_tend', 'temps_present', 'type_de_tendance_barometrique', 'w1']);
});

test('labels are matched whatever the spacing and case; unknown and third occurrences are reported', () => {
  const m = mapHeader(['numer_sta', "nébulosité des nuages de l' étage inférieur", 'Temps présent', 'Temps présent', 'Temps présent', 'humidex', 'numer_sta']);
  assert.equal(m.kind, 'mixed');
  assert.equal(m.columns[1], fieldIndex('nbas'));
  assert.deepEqual(m.unknown, ['Temps présent', 'humidex', 'numer_sta']);
  assert.deepEqual(m.columns.slice(4), [null, null, null]);
});

test('headerNames gives positional field names for an engine reading by position', () => {
  assert.deepEqual(headerNames(SYNOP_FIELDS.map((f) => f.label)), SYNOP_FIELD_NAMES);
  assert.deepEqual(headerNames(['ID OMM station', 'Date', 'Temps présent', 'x', 'Temps présent']), ['numer_sta', 'date', 'ww', 'unknown_4', 'temps_present']);
});
