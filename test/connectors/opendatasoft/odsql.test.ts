import { test } from 'node:test';
import assert from 'node:assert/strict';
import { andWhere, dateWindowWhere, equalsWhere, odsqlDate, odsqlField, odsqlString } from '../../../src/connectors/opendatasoft/odsql.js';
import { advanceCursor, nextWindowWhere } from '../../../src/connectors/opendatasoft/cursor.js';
import { parseWhere } from '../../helpers/odsServer.js';

test('a date window: inclusive from, exclusive to, date literals', () => {
  assert.equal(dateWindowWhere('date', { from: '2024-01-01', to: '2024-02-01' }), "date >= date'2024-01-01' AND date < date'2024-02-01'");
  assert.equal(dateWindowWhere('date_heure', { from: '2024-03-31T01:00:00+01:00' }), "date_heure >= date'2024-03-31T01:00:00+01:00'");
  assert.equal(dateWindowWhere('date', { to: '2024-02-01' }), "date < date'2024-02-01'");
  assert.equal(dateWindowWhere('date', {}), '');
});

test('a date window refuses what is not a day or an instant with offset, and empty windows', () => {
  assert.throws(() => dateWindowWhere('date', { from: '2024-02-30' }), /neither a day/);
  assert.throws(() => dateWindowWhere('date', { from: '2024-01-01T00:00:00' }), /neither a day/, 'a local time without offset is ambiguous');
  assert.throws(() => dateWindowWhere('date', { from: "2024-01-01' OR 1=1 OR date>'" }), /neither a day/);
  assert.throws(() => dateWindowWhere('date', { from: '2024-02-01', to: '2024-02-01' }), /empty date window/);
});

test('string literals escape their quote and backslashes; both quote styles', () => {
  assert.equal(odsqlString('07015'), '"07015"');
  assert.equal(odsqlString('say "hi"'), '"say \\"hi\\""');
  assert.equal(odsqlString("L'Aigle", "'"), "'L\\'Aigle'");
  assert.equal(odsqlString('a\\b'), '"a\\\\b"');
  assert.equal(odsqlString("it's", '"'), '"it\'s"', 'the other quote needs no escape');
  assert.throws(() => odsqlString('a\nb'), /control character/);
  assert.equal(odsqlDate('2024-01-01'), "date'2024-01-01'");
});

test('field names: bare when plain, back-quoted for keywords and odd names', () => {
  assert.equal(odsqlField('numer_sta'), 'numer_sta');
  assert.equal(odsqlField('date'), 'date', 'the SYNOP field "date" is written bare, as the API documents it');
  assert.equal(odsqlField('and'), '`and`');
  assert.equal(odsqlField('2024'), '`2024`');
  assert.equal(odsqlField('Date - Heure'), '`Date - Heure`');
  assert.throws(() => odsqlField('a`b'), /unusable field name/);
  assert.throws(() => odsqlField(''), /empty/);
});

test('the stand-in reads back the values the builders escape', () => {
  const records = [
    { date: '2024-01-01T00:00:00+00:00', nom: 'say "hi"' },
    { date: '2024-01-01T03:00:00+00:00', nom: "L'Aigle \\ x" },
    { date: '2024-01-31T23:00:00-01:00', nom: 'LILLE-LESQUIN' },
  ];
  const pick = (where: string) => records.filter(parseWhere(where, 'date')).map((r) => r.nom);
  assert.deepEqual(pick(equalsWhere('nom', 'say "hi"')), ['say "hi"']);
  assert.deepEqual(pick(equalsWhere('nom', "L'Aigle \\ x")), ["L'Aigle \\ x"]);
  // 2024-01-31T23:00-01:00 is 2024-02-01T00:00Z: outside the January window once the offset is read.
  assert.deepEqual(pick(dateWindowWhere('date', { from: '2024-01-01', to: '2024-02-01' })), ['say "hi"', "L'Aigle \\ x"]);
  assert.deepEqual(pick(andWhere(dateWindowWhere('date', { from: '2024-01-01' }), equalsWhere('nom', 'LILLE-LESQUIN'))), ['LILLE-LESQUIN']);
});

test('the next incremental window starts strictly after the cursor', () => {
  assert.equal(nextWindowWhere('date', { cursor: '2024-10-05T03:00:00+00:00' }), "date > date'2024-10-05T03:00:00+00:00'");
  assert.equal(
    nextWindowWhere('date', { cursor: '2024-10-05T03:00:00Z', until: '2024-11-01' }),
    "date > date'2024-10-05T03:00:00Z' AND date < date'2024-11-01'",
  );
  assert.equal(nextWindowWhere('date', { cursor: null, start: '2024-01-01' }), "date >= date'2024-01-01'");
  assert.equal(nextWindowWhere('date', { cursor: null }), '');
  assert.throws(() => nextWindowWhere('date', { cursor: '2024-10-05 03:00:00' }), /not an ISO instant with an offset/);
  const records = [{ date: '2024-10-05T03:00:00+00:00' }, { date: '2024-10-05T06:00:00+00:00' }];
  const after = parseWhere(nextWindowWhere('date', { cursor: '2024-10-05T03:00:00Z' }), 'date');
  assert.deepEqual(records.filter(after), [records[1]]);
});

test('the cursor advances to the latest instant, offsets read, junk ignored', () => {
  assert.equal(advanceCursor(null, ['2024-10-05T03:00:00+00:00', '2024-10-05T04:30:00+02:00', 'garbage', null]), '2024-10-05T03:00:00+00:00');
  assert.equal(advanceCursor('2024-10-05T03:00:00Z', ['2024-10-05T04:00:00+02:00']), '2024-10-05T03:00:00Z', 'an earlier instant does not move it back');
  assert.equal(advanceCursor('2024-10-05T03:00:00Z', ['2024-10-05T05:00:00+01:00']), '2024-10-05T05:00:00+01:00');
  assert.equal(advanceCursor(null, []), null);
});
