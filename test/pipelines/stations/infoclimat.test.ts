import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INFOCLIMAT_FIELD_NAMES, readInfoclimatResponse } from '../../../src/pipelines/stations/infoclimat.js';
import { ReportBatch } from '../../../src/pipelines/stations/reportBatch.js';
import { dayResponse, response, staticRow, synopRow } from '../../fixtures/infoclimat.js';

function read(doc: unknown, configured: string[] = []) {
  const batch = new ReportBatch();
  const sink = batch.forFile({ file: 'day.json', rawKey: 'raw/x', source: 'infoclimat', fieldNames: INFOCLIMAT_FIELD_NAMES });
  readInfoclimatResponse(doc, 'day.json', sink, new Set(configured));
  return batch;
}

test('a valid day gives every report, skips _params, and registers the stations', () => {
  const b = read(dayResponse());
  assert.equal(b.lines.length, 6);
  assert.equal(b.rowsRead, 6);
  assert.equal(b.rejects.length, 0);
  assert.deepEqual([...b.stations.keys()].sort(), ['00052', '07015']);
  assert.equal(b.stations.get('00052')?.license, 'CC BY');
  // file_seq, seq, station, epoch ms, then temperature first among measures
  const first = b.lines[0]?.split(',') ?? [];
  assert.equal(first[2], '07015');
  assert.equal(first[3], String(Date.UTC(2024, 9, 5)));
  assert.equal(first[4], '7.6');
});

test('"0" is a real zero and "" / null are missing, never rejects', () => {
  const b = read(response({ '00052': [staticRow('2024-10-05 00:00:00', '', { vent_moyen: '0', humidite: null })] }));
  assert.equal(b.rejects.length, 0);
  const cells = b.lines[0]?.split(',') ?? [];
  assert.equal(cells[4], ''); // temperature missing
  assert.equal(cells[4 + 4], '0'); // wind_speed_kmh (5th measure) is a real zero
});

test('non-numeric and out-of-range values are rejected with file, row and field, the report kept', () => {
  const b = read(
    response({
      '07015': [synopRow('2024-10-05 00:00:00', 'abc'), synopRow('2024-10-05 01:00:00', '75.2', { humidite: '130' })],
    }),
  );
  assert.equal(b.lines.length, 2);
  assert.equal(b.valuesRejected, 3);
  const [r1, r2, r3] = b.rejects;
  assert.deepEqual(
    { file: r1?.file, sheet: r1?.sheet, row: r1?.row, field: r1?.field, value: r1?.value, whole: r1?.whole_record },
    { file: 'day.json', sheet: 'hourly.07015', row: 1, field: 'temperature', value: 'abc', whole: false },
  );
  assert.match(r2?.reason ?? '', /out of range/);
  assert.equal(r2?.row, 2);
  assert.equal(r3?.field, 'humidite');
});

test('an unknown station is rejected whole; a configured one is accepted', () => {
  const doc = response({ IUNKNOWN1: [staticRow('2024-10-05 00:00:00', '5', { id_station: 'IUNKNOWN1' })] });
  const b = read(doc);
  assert.equal(b.lines.length, 0);
  assert.equal(b.rowsRejected, 1);
  assert.match(b.rejects[0]?.reason ?? '', /unknown station "IUNKNOWN1"/);
  assert.equal(read(doc, ['IUNKNOWN1']).lines.length, 1);
});

test('a bad or nonexistent time rejects the report whole', () => {
  const b = read(response({ '07015': [synopRow('2024-02-30 00:00:00', '5'), synopRow('yesterday', '5')] }));
  assert.equal(b.lines.length, 0);
  assert.equal(b.rowsRejected, 2);
  assert.equal(b.rejects[0]?.field, 'dh_utc');
});

test('a response that is not InfoClimat is one file reject', () => {
  const b = read([1, 2, 3]);
  assert.equal(b.filesRejected, 1);
  assert.match(b.rejects[0]?.reason ?? '', /not an InfoClimat response/);
});
