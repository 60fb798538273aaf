import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ObjectNotFoundError, type ObjectStore } from '../../src/lake/objectStore.js';

export interface StoreUnderTest {
  store: ObjectStore;
  close?: () => Promise<void> | void;
}

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function failingStream(after: string): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(after);
      } else this.destroy(new Error('boom'));
    },
  });
}

async function gone(path: string): Promise<boolean> {
  return access(path).then(
    () => false,
    () => true,
  );
}

const keys = async (store: ObjectStore, prefix: string) => (await store.list(prefix)).map((o) => o.key);

/**
 * The behaviour every lake store must share, registered as tests for the stores `open` makes (a fresh,
 * empty one per test). Run with a small list page size and delete batch where the store has them.
 */
export function objectStoreContract(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${name}: ObjectStore contract`, () => {
    const it = (title: string, fn: (store: ObjectStore, local: string) => Promise<void>) =>
      test(title, async () => {
        const s = await open();
        const local = await mkdtemp(join(tmpdir(), 'ecluse-contract-'));
        try {
          await fn(s.store, local);
        } finally {
          await s.close?.();
          await rm(local, { recursive: true, force: true });
        }
      });

    it('bytes, text and empty objects round trip unchanged', async (store) => {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await store.putBytes('bin/all.bin', bytes);
      await store.putBytes('txt/name.txt', 'Armentières ☂');
      await store.putBytes('empty/0', '');
      assert.deepEqual(await store.getBytes('bin/all.bin'), bytes);
      assert.equal((await store.getBytes('txt/name.txt')).toString('utf8'), 'Armentières ☂');
      assert.equal((await store.getBytes('empty/0')).length, 0);
      assert.equal(await text(await store.getStream('txt/name.txt')), 'Armentières ☂');
    });

    it('a stream is published whole and replaces the previous object', async (store) => {
      await store.putBytes('a/x.txt', 'old');
      await store.putStream('a/x.txt', Readable.from(['n', 'e', 'w']));
      assert.equal((await store.getBytes('a/x.txt')).toString(), 'new');
      assert.equal(await text(await store.getStream('a/x.txt')), 'new');
      assert.equal((await store.list('a')).length, 1);
    });

    it('putFile copies a local file, or takes it with consume', async (store, local) => {
      const kept = join(local, 'kept.json');
      const taken = join(local, 'taken.json');
      await writeFile(kept, '{"kept":true}');
      await writeFile(taken, '{"taken":true}');
      await store.putFile('f/kept.json', kept);
      await store.putFile('f/taken.json', taken, { consume: true });
      assert.equal(await readFile(kept, 'utf8'), '{"kept":true}', 'without consume the local file stays');
      assert.ok(await gone(taken), 'with consume the local file is the store’s');
      assert.equal((await store.getBytes('f/kept.json')).toString(), '{"kept":true}');
      assert.equal((await store.getBytes('f/taken.json')).toString(), '{"taken":true}');
      await assert.rejects(store.putFile('f/missing.json', join(local, 'missing.json')));
      assert.equal(await store.exists('f/missing.json'), false);
    });

    it('list gives keys relative to the store, in key order, with size and time; a prefix names a folder', async (store) => {
      const before = Date.now() - 5_000;
      for (const k of ['b/2.txt', 'a/sub/3.txt', 'ab/4.txt', 'a/10.txt', 'a/1.txt', 'A/0.txt']) await store.putBytes(k, k);
      assert.deepEqual(await keys(store, ''), ['A/0.txt', 'a/1.txt', 'a/10.txt', 'a/sub/3.txt', 'ab/4.txt', 'b/2.txt']);
      assert.deepEqual(await keys(store, 'a'), ['a/1.txt', 'a/10.txt', 'a/sub/3.txt']);
      assert.deepEqual(await keys(store, 'a/'), ['a/1.txt', 'a/10.txt', 'a/sub/3.txt']);
      assert.deepEqual(await keys(store, 'a/sub'), ['a/sub/3.txt']);
      assert.deepEqual(await keys(store, 'nope'), []);
      assert.deepEqual(await keys(store, 'a/1.txt'), [], 'an object is not a folder');
      const [first] = await store.list('a/sub');
      assert.equal(first?.size, 'a/sub/3.txt'.length);
      assert.ok(first.modifiedAt instanceof Date);
      assert.ok(first.modifiedAt.getTime() >= before && first.modifiedAt.getTime() <= Date.now() + 5_000, `${first.modifiedAt.toISOString()} is now`);
    });

    it('keys with =, +, commas, spaces and accents round trip and list as given', async (store) => {
      const odd = [
        'staging/reports/month=2024-10/data.parquet',
        'raw/in/Weather+Underground+-+Ichtegem,+BE.xlsx',
        'raw/in/Armentières relevé (1).json',
        'raw/in/a%20b&c=d;e',
      ];
      for (const k of odd) await store.putBytes(k, k);
      for (const k of odd) assert.equal((await store.getBytes(k)).toString(), k);
      assert.deepEqual(await keys(store, ''), [...odd].sort());
      assert.equal(await store.exists(odd[1] as string), true);
      await store.deletePrefix('raw/in');
      assert.deepEqual(await keys(store, ''), [odd[0]]);
    });

    it('list reads every page of a long listing', async (store) => {
      const expected = Array.from({ length: 11 }, (_, i) => `p/${String(i).padStart(2, '0')}.json`);
      for (const k of [...expected].reverse()) await store.putBytes(k, '{}');
      await store.putBytes('q/outside.json', '{}');
      assert.deepEqual(await keys(store, 'p'), expected);
      assert.equal((await store.list('')).length, 12);
    });

    it('exists tells objects from absent keys and folders; delete removes one object', async (store) => {
      assert.equal(await store.exists('e/1'), false);
      await store.putBytes('e/1', 'x');
      assert.equal(await store.exists('e/1'), true);
      assert.equal(await store.exists('e'), false, 'a folder is not an object');
      await store.delete('e/1');
      assert.equal(await store.exists('e/1'), false);
      await store.delete('e/1');
      await store.delete('never/was');
    });

    it('deletePrefix removes what list(prefix) returns, and nothing else', async (store) => {
      for (let i = 0; i < 8; i++) await store.putBytes(`d/${i}`, 'x');
      await store.putBytes('d/sub/8', 'x');
      await store.putBytes('dd/9', 'x');
      await store.putBytes('e/10', 'x');
      await store.deletePrefix('d');
      assert.deepEqual(await keys(store, ''), ['dd/9', 'e/10']);
      await store.deletePrefix('missing/');
      await store.deletePrefix('e/10');
      assert.deepEqual(await keys(store, ''), ['dd/9', 'e/10'], 'an object is not a folder');
      await store.deletePrefix('');
      assert.deepEqual(await keys(store, ''), []);
      await store.putBytes('after/wipe', 'x');
      assert.deepEqual(await keys(store, ''), ['after/wipe']);
    });

    it('withLocalFile lends a readable path with the key’s name, and passes on results and errors', async (store) => {
      await store.putBytes('w/data.json', '{"a":1}');
      const got = await store.withLocalFile('w/data.json', async (path) => {
        assert.ok(path.endsWith('data.json'), `${path} keeps the key's name (readers choose by extension)`);
        return readFile(path, 'utf8');
      });
      assert.equal(got, '{"a":1}');
      const oops = new Error('reader failed');
      await assert.rejects(
        store.withLocalFile('w/data.json', async () => {
          throw oops;
        }),
        (err) => err === oops,
      );
      assert.equal(await store.exists('w/data.json'), true, 'lending a copy never removes the object');
    });

    it('a missing object is a clear error naming the key and the lake', async (store) => {
      let called = false;
      for (const attempt of [
        () => store.getBytes('no/such.json'),
        () => store.getStream('no/such.json'),
        () =>
          store.withLocalFile('no/such.json', async () => {
            called = true;
          }),
      ]) {
        await assert.rejects(attempt, (err: unknown) => {
          assert.ok(err instanceof ObjectNotFoundError, String(err));
          assert.equal(err.key, 'no/such.json');
          assert.ok(err.message.includes(`no object no/such.json in lake ${store.location}`), err.message);
          return true;
        });
      }
      assert.equal(called, false);
    });

    it('unsafe keys are refused by every method', async (store, local) => {
      const file = join(local, 'f');
      await writeFile(file, 'x');
      for (const key of ['', '/a', 'a/../b', '..', 'a//b', 'a\\b', './a', 'a/', 'a\0b']) {
        const calls: [string, () => Promise<unknown>][] = [
          ['putBytes', () => store.putBytes(key, 'x')],
          ['putStream', () => store.putStream(key, Readable.from(['x']))],
          ['putFile', () => store.putFile(key, file)],
          ['getBytes', () => store.getBytes(key)],
          ['getStream', () => store.getStream(key)],
          ['withLocalFile', () => store.withLocalFile(key, async () => undefined)],
          ['exists', () => store.exists(key)],
          ['delete', () => store.delete(key)],
        ];
        for (const [method, call] of calls) await assert.rejects(async () => call(), /invalid lake key/, `${method}(${JSON.stringify(key)})`);
      }
      for (const prefix of ['../x', '/x', 'a//b', 'a/./b']) {
        await assert.rejects(async () => store.list(prefix), /invalid lake key/, `list(${JSON.stringify(prefix)})`);
        await assert.rejects(async () => store.deletePrefix(prefix), /invalid lake key/, `deletePrefix(${JSON.stringify(prefix)})`);
      }
      assert.deepEqual(await keys(store, ''), []);
      assert.equal(await readFile(file, 'utf8'), 'x');
    });

    it('a failed upload publishes nothing and leaves the previous object whole', async (store) => {
      await store.putBytes('u/kept.txt', 'old');
      await assert.rejects(store.putStream('u/kept.txt', failingStream('half')), /boom/);
      assert.equal((await store.getBytes('u/kept.txt')).toString(), 'old');
      await assert.rejects(store.putStream('u/new.txt', failingStream('half')), /boom/);
      assert.equal(await store.exists('u/new.txt'), false);
      assert.deepEqual(await keys(store, ''), ['u/kept.txt']);
    });
  });
}
