import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FolderStore } from '../../src/lake/folderStore.js';
import { objectStoreContract } from './objectStore.contract.js';

objectStoreContract('FolderStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ecluse-lake-'));
  return { store: new FolderStore(root), close: () => rm(root, { recursive: true, force: true }) };
});

test('folder store: a failed stream leaves not even a temporary file; paths never escape the root', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ecluse-lake-'));
  try {
    const store = new FolderStore(root);
    await store.putBytes('a/1.txt', 'one');
    const failing = new Readable({
      read() {
        this.destroy(new Error('boom'));
      },
    });
    await assert.rejects(store.putStream('a/3.txt', failing), /boom/);
    assert.deepEqual(await readdir(join(root, 'a')), ['1.txt']);
    assert.throws(() => store.pathOf('../escape'), /invalid lake key/);
    assert.equal(store.pathOf('a/1.txt'), join(root, 'a', '1.txt'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('folder store: withLocalFile lends the object itself, without copying or deleting it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ecluse-lake-'));
  try {
    const store = new FolderStore(root);
    await store.putBytes('raw/x.json', '{}');
    const lent = await store.withLocalFile('raw/x.json', async (path) => path);
    assert.equal(lent, store.pathOf('raw/x.json'));
    assert.equal(await store.exists('raw/x.json'), true);
    // A stray temporary name (a writer killed mid-publish) is never listed.
    await writeFile(join(root, 'raw', '.tmp-1-abc'), 'half');
    assert.deepEqual(
      (await store.list('raw')).map((o) => o.key),
      ['raw/x.json'],
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
