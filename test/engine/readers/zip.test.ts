import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zipSync, strToU8 } from 'fflate';
import { readZip, safeEntryName } from '../../../src/engine/readers/zip.js';
import { FileFormatError } from '../../../src/engine/readers/text.js';

test('safeEntryName refuses paths escaping the folder', () => {
  assert.equal(safeEntryName('a/b.json'), 'a/b.json');
  assert.equal(safeEntryName('a/../b.json'), 'b.json');
  assert.equal(safeEntryName('../evil.json'), null);
  assert.equal(safeEntryName('a/../../evil.json'), null);
  assert.equal(safeEntryName('/etc/passwd'), null);
  assert.equal(safeEntryName('C:\\x.json'), null);
});

test('readZip skips ../ entries with a report and reads the rest', () => {
  const zip = zipSync({ 'ok.json': strToU8('{}'), '../evil.json': strToU8('{}') });
  const unsafe: string[] = [];
  const entries = readZip(zip, (name) => unsafe.push(name));
  assert.deepEqual(entries.map((e) => e.name), ['ok.json']);
  assert.deepEqual(unsafe, ['../evil.json']);
});

test('readZip refuses archives with too many files before decompressing them', () => {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 10_000; i++) files[`f${i}.json`] = strToU8('{}');
  const zip = zipSync(files);
  assert.throws(() => readZip(zip, () => {}), (e: unknown) => e instanceof FileFormatError && /more than 5000 files/.test(e.message));
});

test('readZip gives a clear error on a file that is not a zip', () => {
  assert.throws(() => readZip(strToU8('hello'), () => {}), /not a readable ZIP/);
});
