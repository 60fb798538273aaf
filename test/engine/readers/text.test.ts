import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clip, decodeUtf8, FileFormatError, parseJson, showValue } from '../../../src/engine/readers/text.js';
import { readCsv, detectDelimiter, recordDelimiter } from '../../../src/engine/readers/csv.js';
import { readJsonLines } from '../../../src/engine/readers/jsonl.js';

test('parseJson names the line where a truncated file ends', () => {
  const text = '{\n  "a": 1,\n  "b": [1, 2,\n';
  assert.throws(
    () => parseJson(text),
    (e: unknown) => e instanceof FileFormatError && /truncated JSON/.test(e.message) && e.line === 4,
  );
});

test('a document cut right after a value is truncated too (Node 20 says only "at position N")', () => {
  const text = '{"a": 1, "b": "x"';
  assert.throws(
    () => parseJson(text),
    (e: unknown) => e instanceof FileFormatError && /truncated JSON/.test(e.message),
  );
  const errors: string[] = [];
  const read = [...readJsonLines(Buffer.from('{"a":1}\n{"a": 1, "b": 2\n'), (_l, m) => errors.push(m))];
  assert.equal(read.length, 1);
  assert.deepEqual(errors, ['truncated JSON line']);
});

test('decodeUtf8 drops a BOM and refuses Latin-1 with the line of the bad byte', () => {
  assert.equal(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])), 'a');
  const latin1 = Buffer.concat([Buffer.from('a;b\nok;1\n'), Buffer.from([0x54, 0xe9, 0x6c]), Buffer.from(';2\n')]);
  assert.throws(
    () => decodeUtf8(latin1),
    (e: unknown) => e instanceof FileFormatError && e.line === 3 && /UTF-8/.test(e.message),
  );
});

test('readCsv detects ; and , and keeps record lines', () => {
  assert.equal(detectDelimiter('a;b;"c,d"'), ';');
  assert.equal(detectDelimiter('a,b,c'), ',');
  const t = readCsv(Buffer.from('\uFEFFx;y\n1;"two\nlines"\n3;4\n'));
  assert.deepEqual(t.header, ['x', 'y']);
  assert.equal(t.rows.length, 2);
  assert.deepEqual(t.rows[0]?.cells, ['1', 'two\nlines']);
  assert.equal(t.rows[1]?.line, 4);
});

test('readJsonLines reports a truncated line and goes on', () => {
  const errors: [number, string][] = [];
  const lines = [...readJsonLines(Buffer.from('{"a":1}\n{"a":\n\n{"a":3}\n'), (l, m) => errors.push([l, m]))];
  assert.deepEqual(
    lines.map((l) => l.line),
    [1, 4],
  );
  assert.equal(errors[0]?.[0], 2);
});

test('decodeUtf8 names a UTF-16 file by its byte-order mark', () => {
  for (const [bom, name] of [
    [[0xff, 0xfe], 'UTF-16 LE'],
    [[0xfe, 0xff], 'UTF-16 BE'],
  ] as const) {
    const bytes = Buffer.concat([Buffer.from(bom), Buffer.from('{"a":1}', 'utf16le')]);
    assert.throws(
      () => decodeUtf8(bytes),
      (e: unknown) => e instanceof FileFormatError && e.message.startsWith(`the file is ${name}`) && e.line === 1,
    );
  }
});

test('showValue quotes any parsed value, bounded, even nested past the stack', () => {
  assert.equal(showValue('abc'), 'abc');
  assert.equal(showValue({ a: [1, null] }), '{"a":[1,null]}');
  assert.equal(showValue('x'.repeat(5000)), `${'x'.repeat(1000)}… (5000 characters)`);
  assert.equal(showValue(JSON.parse('['.repeat(100_000) + ']'.repeat(100_000))), '[an array nested too deep to show]');
  assert.equal(showValue(JSON.parse('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000))), '{an object nested too deep to show}');
  assert.equal(clip('abcdef', 3), 'abc… (6 characters)');
});

test('readCsv finds the record delimiter once: a 20 MB first line is read in linear time', () => {
  assert.equal(recordDelimiter('a,b\r\nc'), '\r\n');
  assert.equal(recordDelimiter('"x\ny",b\rc'), '\r');
  assert.equal(recordDelimiter('a,b'), '\n');
  const t0 = performance.now();
  const t = readCsv(Buffer.from(`h;${'x'.repeat(20 << 20)}`));
  const ms = performance.now() - t0;
  assert.equal(t.header[1]?.length, 20 << 20);
  // Before, csv-parse looked for the line end again at every character: 20 MB took ~10 s here, now ~0.5 s.
  assert.ok(ms < 5000, `${Math.round(ms)} ms`);
});
