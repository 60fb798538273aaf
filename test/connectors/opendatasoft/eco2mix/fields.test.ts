import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ECO2MIX_FIELDS,
  ECO2MIX_REGIONS,
  ECO2MIX_SOURCES,
  fieldIndex,
  isIgnoredColumn,
  mapHeader,
  natureOf,
  SOURCE_FIELDS,
} from '../../../../src/connectors/opendatasoft/eco2mix/fields.js';

const name = (i: number | null) => (i === null ? null : (ECO2MIX_FIELDS[i]?.name ?? '?'));

test('the 12 metropolitan regions of eCO2mix, Corsica (94) not among them', () => {
  assert.deepEqual([...ECO2MIX_REGIONS.keys()], ['11', '24', '27', '28', '32', '44', '52', '53', '75', '76', '84', '93']);
  assert.equal(ECO2MIX_REGIONS.get('84'), 'Auvergne-Rhône-Alpes');
  assert.equal(ECO2MIX_REGIONS.has('94'), false);
});

test('every ecluse source is fed by exactly one MW field, and only MW fields feed sources', () => {
  assert.deepEqual(
    SOURCE_FIELDS.map((f) => [f.source, f.name]),
    [
      ['consumption', 'consommation'],
      ['thermal', 'thermique'],
      ['nuclear', 'nucleaire'],
      ['wind', 'eolien'],
      ['wind_onshore', 'eolien_terrestre'],
      ['wind_offshore', 'eolien_offshore'],
      ['solar', 'solaire'],
      ['hydro', 'hydraulique'],
      ['pumping', 'pompage'],
      ['bioenergy', 'bioenergies'],
      ['battery_charge', 'stockage_batterie'],
      ['battery_discharge', 'destockage_batterie'],
      ['exchanges', 'ech_physiques'],
    ],
  );
  assert.equal(ECO2MIX_FIELDS.filter((f) => f.type === 'mw').length, ECO2MIX_SOURCES.length);
  assert.ok(ECO2MIX_FIELDS.every((f) => (f.type === 'mw') === (f.source !== null) && (f.type === 'mw') === (f.unit === 'MW')));
  assert.equal(new Set(ECO2MIX_FIELDS.map((f) => f.name)).size, ECO2MIX_FIELDS.length);
  assert.deepEqual(
    ECO2MIX_FIELDS.filter((f) => f.currentOnly).map((f) => f.name),
    ['stockage_batterie', 'destockage_batterie', 'eolien_terrestre', 'eolien_offshore'],
  );
  assert.throws(() => fieldIndex('nucléaire'), /unknown eco2mix field/);
});

test('a labels header of the current layout: every column mapped, the trailing empty column ignored, not unknown', () => {
  const header = [
    'Code INSEE région',
    'Région',
    'Nature',
    'Date',
    'Heure',
    'Date - Heure',
    'Consommation (MW)',
    'Nucléaire (MW)',
    'Ech. physiques (MW)',
    'Stockage batterie',
    'Déstockage batterie',
    'Eolien terrestre',
    'Eolien offshore',
    'TCO Nucléaire (%)',
    'TCH Nucléaire (%)',
    'Column 30',
  ];
  const m = mapHeader(header);
  assert.deepEqual(m.columns.map(name), [
    'code_insee_region',
    'libelle_region',
    'nature',
    'date',
    'heure',
    'date_heure',
    'consommation',
    'nucleaire',
    'ech_physiques',
    'stockage_batterie',
    'destockage_batterie',
    'eolien_terrestre',
    'eolien_offshore',
    'tco_nucleaire',
    'tch_nucleaire',
    null,
  ]);
  assert.deepEqual(m.unknown, []);
});

test('labels match without case, accents or unit; field names, and a mixture, map too', () => {
  const m = mapHeader(['code_insee_region', 'date_heure', 'ÉOLIEN (MW)', 'Stockage batterie (MW)', 'bioénergies', 'consommation', 'column_68']);
  assert.deepEqual(m.columns.map(name), ['code_insee_region', 'date_heure', 'eolien', 'stockage_batterie', 'bioenergies', 'consommation', null]);
  assert.deepEqual(m.unknown, []);
});

test('the 2020 layout: Import/Export columns ignored; a truly unknown or repeated column is named', () => {
  const m = mapHeader([
    'Code INSEE région',
    'Date - Heure',
    'Consommation (MW)',
    'Import Hauts-de-France',
    'Export Hauts-de-France',
    'Commentaire',
    'Consommation (MW)',
  ]);
  assert.deepEqual(m.columns.map(name), ['code_insee_region', 'date_heure', 'consommation', null, null, null, null]);
  assert.deepEqual(m.unknown, ['Commentaire', 'Consommation (MW)']);
});

test('ignored columns are only the trailing empty one and Import/Export ones', () => {
  for (const n of ['column_30', 'Column 30', 'column_68', '', 'Import Bretagne', 'export_grand_est']) assert.equal(isIgnoredColumn(n), true, n);
  for (const n of ['imported_mw', 'Column', 'columns_3', 'Importation', 'Commentaire']) assert.equal(isIgnoredColumn(n), false, n);
});

test('natures: the three of the datasets, spelt canonically whatever the case or accents', () => {
  assert.equal(natureOf('Données temps réel'), 'Données temps réel');
  assert.equal(natureOf('donnees consolidees'), 'Données consolidées');
  assert.equal(natureOf(' DONNÉES DÉFINITIVES '), 'Données définitives');
  assert.equal(natureOf('Données provisoires'), null);
});
