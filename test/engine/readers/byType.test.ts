import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { readFileByType, readPathByType, type ReadersByType } from '../../../src/engine/readers/byType.js';
import { FileFormatError } from '../../../src/engine/readers/text.js';

/** Readers that record what they were given, and fail the way a reader does on the texts "bad" and "boom". */
function recording(): { readers: ReadersByType; read: string[]; rejects: [string, string, number | null][] } {
  const read: string[] = [];
  const rejects: [string, string, number | null][] = [];
  const reader = (file: string, bytes: Uint8Array) => {
    const text = Buffer.from(bytes).toString('utf8');
    if (text === 'bad') throw new FileFormatError('not what a reader takes', 3);
    if (text === 'boom') throw new TypeError('a bug, not a bad file');
    read.push(`${file}:${text}`);
  };
  return { readers: { json: reader, csv: reader }, read, rejects };
}

test('a file is read by its extension; an unknown type, or a file its reader refuses, is one reject naming it', () => {
  const r = recording();
  const sink = { rejectFile: (file: string, reason: string, row: number | null = null) => void r.rejects.push([file, reason, row]) };
  readFileByType('a.JSON', Buffer.from('{}'), sink, r.readers);
  readFileByType('b.txt', Buffer.from('x'), sink, r.readers);
  readFileByType('c.csv', Buffer.from('bad'), sink, r.readers);
  assert.deepEqual(r.read, ['a.JSON:{}']);
  assert.deepEqual(r.rejects, [
    ['b.txt', 'unsupported file type ".txt" (accepted: json, csv, zip)', null],
    ['c.csv', 'not what a reader takes', 3],
  ]);
  // A reader's own bug is not a bad file: it reaches the caller.
  assert.throws(() => readFileByType('d.csv', Buffer.from('boom'), sink, r.readers), TypeError);
  assert.throws(() => readFileByType('e.zip', Buffer.from(''), sink, r.readers), /extracted from disk/);
});

test('a ZIP is read entry by entry: entries of another type or refused are rejects, the others load', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ecluse-bytype-'));
  try {
    const r = recording();
    const sink = { rejectFile: (file: string, reason: string, row: number | null = null) => void r.rejects.push([file, reason, row]) };
    const zip = join(dir, 'drop.zip');
    await writeFile(zip, zipSync({ 'one.csv': strToU8('1'), 'notes.txt': strToU8('n'), 'two.json': strToU8('bad'), 'inner.zip': strToU8('PK') }));
    await readPathByType('drop.zip', zip, sink, r.readers);
    assert.deepEqual(r.read, ['drop.zip/one.csv:1']);
    const byFile = new Map(r.rejects.map(([f, reason]) => [f, reason]));
    assert.equal(byFile.get('drop.zip/notes.txt'), 'unsupported file type in archive (accepted: json, csv)');
    assert.equal(byFile.get('drop.zip/two.json'), 'not what a reader takes');
    assert.ok(byFile.has('drop.zip/inner.zip'), 'a nested archive is refused by name');
    // A damaged archive is one reject for the archive.
    const damaged = join(dir, 'damaged.zip');
    await writeFile(damaged, 'PK\u0003\u0004 not really');
    const before = r.rejects.length;
    await readPathByType('damaged.zip', damaged, sink, r.readers);
    assert.equal(r.rejects.length, before + 1);
    assert.equal(r.rejects.at(-1)?.[0], 'damaged.zip');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
