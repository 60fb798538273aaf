import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatOffsetDateTime, isoUtc, parseCoordinates, parseOffsetDateTime } from '../../../../src/connectors/opendatasoft/synop/values.js';

test('datetimes: the offset is always applied, never assumed', () => {
  assert.equal(parseOffsetDateTime('2024-07-01T02:00:00+02:00'), Date.UTC(2024, 6, 1, 0));
  assert.equal(parseOffsetDateTime('2024-01-01T01:00:00+01:00'), Date.UTC(2024, 0, 1, 0));
  assert.equal(parseOffsetDateTime('2024-01-01T00:00:00Z'), Date.UTC(2024, 0, 1, 0));
  assert.equal(parseOffsetDateTime('2024-01-01T00:00:00+0000'), Date.UTC(2024, 0, 1, 0));
  assert.equal(parseOffsetDateTime('2023-12-31T21:00:00-03:00'), Date.UTC(2024, 0, 1, 0));
  assert.equal(parseOffsetDateTime('2024-01-01T00:00:00'), 'no-offset');
  assert.equal(parseOffsetDateTime('2024-02-30T00:00:00Z'), null);
  assert.equal(parseOffsetDateTime('yesterday'), null);
});

test('formatted offsets follow the zone, UTC by default', () => {
  assert.equal(formatOffsetDateTime(Date.UTC(2024, 0, 1, 0)), '2024-01-01T00:00:00+00:00');
  assert.equal(formatOffsetDateTime(Date.UTC(2024, 0, 1, 0), 'Europe/Paris'), '2024-01-01T01:00:00+01:00');
  assert.equal(formatOffsetDateTime(Date.UTC(2024, 6, 1, 0), 'Europe/Paris'), '2024-07-01T02:00:00+02:00');
  assert.equal(isoUtc(Date.UTC(2024, 6, 1, 3)), '2024-07-01T03:00:00Z');
});

test('coordonnees in its shapes', () => {
  assert.deepEqual(parseCoordinates({ lon: 3.0975, lat: 50.57 }), { lat: 50.57, lon: 3.0975 });
  assert.deepEqual(parseCoordinates('50.57, 3.0975'), { lat: 50.57, lon: 3.0975 });
  assert.deepEqual(parseCoordinates([3.0975, 50.57]), { lat: 50.57, lon: 3.0975 });
  assert.equal(parseCoordinates(''), null);
  assert.equal(parseCoordinates(null), null);
  assert.equal(parseCoordinates('north'), undefined);
  assert.equal(parseCoordinates({ lon: 3 }), undefined);
  assert.equal(parseCoordinates('95, 3'), undefined);
});
