import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { bulkInsert } from '../../src/engine/bulk.js';
import { csvCell, csvLine } from '../../src/engine/csvCell.js';
import { DuckSession } from '../../src/engine/duckdb.js';

/** Reads records back the way the consumers do: an unquoted empty field is NULL, a quoted one an empty string. */
function readBack(text: string, delimiter: string): (string | null)[][] {
  return parse(text, {
    delimiter,
    record_delimiter: '\n',
    cast: (value, context) => (value === '' && !context.quoting ? null : value),
  }) as (string | null)[][];
}

/** Text rich in what CSV must quote: delimiters, quotes, line ends, white space at the ends, nothing at all. */
const tricky = fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('a', ' ', '\t', ',', ';', '"', '\r', '\n', '\r\n', 'é', '\u00a0') }), fc.constant(''));
const cell = fc.option(tricky, { nil: null });

test('what csvLine writes, csv-parse reads back identically (text, empty strings and nulls kept apart), for each delimiter', () => {
  // Every record of a file has the same number of fields (a one-field null record would be a blank line).
  const table = fc
    .integer({ min: 2, max: 6 })
    .chain((width) => fc.array(fc.array(cell, { minLength: width, maxLength: width }), { minLength: 1, maxLength: 5 }));
  for (const delimiter of [',', ';', '\t', '|']) {
    fc.assert(
      fc.property(table, (rows) => {
        const text = rows.map((r) => csvLine(r, delimiter) + '\n').join('');
        assert.deepEqual(readBack(text, delimiter), rows);
      }),
      { numRuns: 300 },
    );
  }
});

test('quoting: the empty string and white space at an end are quoted, null is nothing, plain text and numbers are left as they are', () => {
  assert.equal(csvCell(null), '');
  assert.equal(csvCell(undefined), '');
  assert.equal(csvCell(''), '""');
  assert.equal(csvCell(' a'), '" a"');
  assert.equal(csvCell('a\t'), '"a\t"');
  assert.equal(csvCell('a b'), 'a b');
  assert.equal(csvCell('a;b'), 'a;b', 'the delimiter is the one given');
  assert.equal(csvCell('a;b', ';'), '"a;b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell(1.5), '1.5');
  assert.equal(csvCell(false), 'false');
  assert.equal(csvLine(['x', null, '', 2], ';'), 'x;;"";2');
  assert.throws(() => csvCell('a', '"'), /delimiter/);
});

test('DuckDB reads a bulk CSV back identically: empty strings, nulls, quotes, line ends and edge spaces', async () => {
  const values = ['plain', '', null, ' lead', 'trail ', 'a,b', 'say "hi"', 'two\nlines', 'cr\r\nlf', '\t', 'Lille-Lesquin'];
  const s = await DuckSession.open();
  try {
    await s.run(`CREATE TABLE t (i INTEGER, v VARCHAR)`);
    await bulkInsert(
      s,
      't',
      [
        ['i', 'INTEGER'],
        ['v', 'VARCHAR'],
      ],
      values.map((v, i) => [i, v]),
    );
    const rows = await s.rows<{ i: number; v: string | null }>(`SELECT i, v FROM t ORDER BY i`);
    assert.deepEqual(
      rows.map((r) => r.v),
      values,
    );
  } finally {
    s.close();
  }
});
