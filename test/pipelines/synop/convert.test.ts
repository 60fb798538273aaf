import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldIndex, SYNOP_FIELDS } from '../../../src/connectors/opendatasoft/synop/fields.js';
import type { SynopValues } from '../../../src/connectors/opendatasoft/synop/values.js';
import { CONVERTED_COLUMNS, convertObservation } from '../../../src/pipelines/synop/convert.js';
import { csvLine, observationRow, SYNOP_COLUMNS } from '../../../src/pipelines/synop/rows.js';

function record(fields: Record<string, string | number | null>): SynopValues {
  const v: SynopValues = new Array(SYNOP_FIELDS.length).fill(null);
  v[fieldIndex('numer_sta')] = '07015';
  v[fieldIndex('date')] = '2024-01-01T00:00:00Z';
  for (const [k, x] of Object.entries(fields)) v[fieldIndex(k)] = x;
  return v;
}

function convert(fields: Record<string, string | number | null>) {
  const rejects: Array<[string, string, string]> = [];
  const values = record(fields);
  const out = convertObservation(values, (f, v, r) => rejects.push([f, v, r]));
  const named = Object.fromEntries(CONVERTED_COLUMNS.map((c, i) => [c, out[i]]));
  return { named, rejects, values };
}

test('units: K → °C, Pa → hPa, m/s → km/h, rounded to two decimals', () => {
  const { named, rejects } = convert({ t: 285.65, td: 280.15, pmer: 101_720, ff: 5.1, raf10: 9.3, rafper: 12 });
  assert.deepEqual(rejects, []);
  assert.equal(named.observed_at, '2024-01-01T00:00:00Z');
  assert.equal(named.temperature_c, 12.5);
  assert.equal(named.dew_point_c, 7);
  assert.equal(named.pressure_sea_hpa, 1017.2);
  assert.equal(named.wind_speed_kmh, 18.36);
  assert.equal(named.gust_kmh, 33.48, 'raf10 first');
});

test('fallbacks: tc when t is missing, rafper when raf10 is missing', () => {
  const { named } = convert({ tc: 12.500000000000028, rafper: 10 });
  assert.equal(named.temperature_c, 12.5);
  assert.equal(named.gust_kmh, 36);
});

test('missing stays missing, never 0', () => {
  const { named } = convert({});
  for (const c of CONVERTED_COLUMNS.slice(1)) assert.equal(named[c], null, c);
});

test('precipitation: −0.1 is a trace (0 mm, flag), 0 is dry, other negatives are rejected', () => {
  const { named, rejects, values } = convert({ rr1: 0, rr3: -0.1, rr6: 2.4, rr12: -1, rr24: null });
  assert.deepEqual([named.precip_1h_mm, named.precip_1h_trace], [0, false]);
  assert.deepEqual([named.precip_3h_mm, named.precip_3h_trace], [0, true]);
  assert.deepEqual([named.precip_6h_mm, named.precip_6h_trace], [2.4, false]);
  assert.deepEqual([named.precip_12h_mm, named.precip_12h_trace], [null, null]);
  assert.deepEqual([named.precip_24h_mm, named.precip_24h_trace], [null, null]);
  assert.deepEqual(rejects, [['rr12', '-1', 'negative precipitation (only -0.1, a trace, is allowed)']]);
  assert.equal(values[fieldIndex('rr12')], null);
  assert.equal(values[fieldIndex('rr3')], -0.1);
});

test('out-of-range values are rejected and nulled before conversion', () => {
  const { named, rejects, values } = convert({ t: 12.5, tc: 12.5, u: 130, pmer: 1017 });
  assert.equal(named.temperature_c, 12.5, 't in °C by mistake is out of range; tc takes over');
  assert.equal(named.pressure_sea_hpa, null);
  assert.deepEqual(
    rejects.map((r) => r[0]),
    ['t', 'u', 'pmer'],
  );
  assert.equal(values[fieldIndex('u')], null);
});

test('bulk rows: 82 fields then the converted columns, as CSV lines', () => {
  assert.equal(SYNOP_COLUMNS.length, 82 + CONVERTED_COLUMNS.length);
  const values = record({ t: 285.65, rr3: -0.1, nom: 'LILLE-LESQUIN', coordonnees: '50.57, 3.0975', libgeo: '' });
  const converted = convertObservation(values, () => assert.fail('no reject expected'));
  const row = observationRow({ stationId: '07015', observedAt: 0, values, converted, loc: { file: 'f', sheet: null, row: 1 } });
  assert.equal(row.length, SYNOP_COLUMNS.length);
  const line = csvLine(row);
  assert.ok(line.startsWith('07015,2024-01-01T00:00:00Z,'));
  assert.ok(line.includes(',"50.57, 3.0975",LILLE-LESQUIN,'));
  assert.ok(line.includes(',"",'), 'an empty string stays distinct from null');
  assert.ok(line.endsWith(',0,true,,,,,,'), line.slice(-40));
});
