import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FolderStore } from '../../src/lake/folderStore.js';
import { listRawFiles, storeRawFile } from '../../src/lake/raw.js';
import { rawKey } from '../../src/lake/layout.js';

test('folder store publishes atomically and lists in key order', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lake-'));
  const store = new FolderStore(root);
  await store.putBytes('b/2.txt', 'two');
  await store.putStream('a/1.txt', Readable.from(['o', 'ne']));
  assert.equal((await store.getBytes('a/1.txt')).toString(), 'one');
  assert.deepEqual((await store.list('')).map((o) => o.key), ['a/1.txt', 'b/2.txt']);
  // A failed stream leaves nothing behind, not even a temporary file.
  const failing = new Readable({ read() { this.destroy(new Error('boom')); } });
  await assert.rejects(store.putStream('a/3.txt', failing), /boom/);
  assert.deepEqual(await readdir(join(root, 'a')), ['1.txt']);
  await assert.rejects(store.getBytes('nope'), /no object nope/);
  assert.throws(() => store.pathOf('../escape'), /invalid lake key/);
});

test('raw files are content-addressed and keep their original name', async () => {
  const root = await mkdtemp(join(tmpdir(), 'lake-'));
  const store = new FolderStore(root);
  const src = join(root, '..', `in-${process.pid}.json`);
  await writeFile(src, '{"a":1}');
  const when = new Date(Date.UTC(2024, 9, 5, 13, 4, 5, 7));
  const raw = await storeRawFile(store, 'stations', 'infoclimat', src, when);
  assert.equal(raw.sha256, '015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
  assert.equal(raw.key, rawKey('stations', 'infoclimat', when, raw.sha256, 'json'));
  assert.match(raw.key, /^raw\/stations\/infoclimat\/received=2024-10-05\/130405007-015abd.*\.json$/);
  const listed = await listRawFiles(store, 'stations');
  assert.equal(listed.length, 1);
  assert.equal(listed[0]?.originalName, `in-${process.pid}.json`);
});
