import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startS3rver, type S3rverHandle } from '../helpers/s3.js';
import { objectStoreContract } from './objectStore.contract.js';

// s3rver is pure JS and starts with the tests: these never skip.
let s3: S3rverHandle;
before(async () => {
  s3 = await startS3rver();
});
after(async () => {
  await s3?.close();
});

// Tiny pages and batches, so that the contract's listings and deletions cross their boundaries.
const small = { listPageSize: 2, deleteBatchSize: 3 };

objectStoreContract('S3Store at the root of a bucket', async () => {
  const store = s3.store({ bucket: await s3.newBucket(), ...small });
  return { store, close: () => store.close() };
});

objectStoreContract('S3Store under a prefix', async () => {
  const store = s3.store({ bucket: await s3.newBucket(), prefix: 'some/prefix', ...small });
  return { store, close: () => store.close() };
});

test('a prefixed store sees, lists and deletes only under its prefix', async () => {
  const bucket = await s3.newBucket();
  const root = s3.store({ bucket, ...small });
  const lake = s3.store({ bucket, prefix: 'some/prefix/', ...small });
  assert.equal(lake.location, `s3://${bucket}/some/prefix`);
  assert.equal(root.location, `s3://${bucket}`);
  for (const k of ['other/x', 'some/prefixed/y', 'some/prefix-not/z', 'some/x']) await root.putBytes(k, k);
  await lake.putBytes('in/a', 'a');
  await lake.putBytes('in/b', 'b');
  assert.deepEqual(
    (await lake.list('')).map((o) => o.key),
    ['in/a', 'in/b'],
  );
  assert.deepEqual(
    (await root.list('some/prefix')).map((o) => o.key),
    ['some/prefix/in/a', 'some/prefix/in/b'],
  );
  assert.equal(await lake.exists('x'), false);
  assert.equal((await root.getBytes('some/prefix/in/a')).toString(), 'a');
  await lake.deletePrefix('');
  assert.deepEqual(
    (await root.list('')).map((o) => o.key),
    ['other/x', 'some/prefix-not/z', 'some/prefixed/y', 'some/x'],
  );
});

test('withLocalFile downloads to a temporary file that is gone after fn, also when fn throws', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'ecluse-s3tmp-'));
  try {
    const store = s3.store({ bucket: s3.bucket, prefix: 'local', tmpDir: tmp });
    await store.putBytes('raw/day.json', '{"status":"OK"}');
    let lent = '';
    const content = await store.withLocalFile('raw/day.json', async (path) => {
      lent = path;
      assert.ok(path.startsWith(tmp), `${path} is under the configured temporary folder`);
      return readFile(path, 'utf8');
    });
    assert.equal(content, '{"status":"OK"}');
    await assert.rejects(access(lent), /ENOENT/);
    await assert.rejects(
      store.withLocalFile('raw/day.json', async (path) => {
        lent = path;
        await access(path);
        throw new Error('reader failed');
      }),
      /reader failed/,
    );
    await assert.rejects(access(lent), /ENOENT/);
    await assert.rejects(
      store.withLocalFile('raw/none.json', async () => 1),
      /no object raw\/none\.json/,
    );
    assert.deepEqual(await readdir(tmp), [], 'no temporary folder left behind');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test('a large object goes up in parts; a failed multipart upload publishes nothing', async () => {
  const store = s3.store({ bucket: s3.bucket, prefix: 'big' });
  const part = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < part.length; i++) part[i] = (i * 31) & 0xff;
  const whole = Buffer.concat([part, part, part]); // 12 MiB: more than one 5 MiB part
  await store.putStream('whole.bin', Readable.from([part, part, part]));
  const back = await store.getBytes('whole.bin');
  assert.equal(back.length, whole.length);
  assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(whole).digest('hex'));

  let sent = 0;
  const broken = new Readable({
    read() {
      if (sent++ < 3) this.push(part);
      else this.destroy(new Error('boom'));
    },
  });
  await assert.rejects(store.putStream('broken.bin', broken), (err: Error) => {
    assert.match(err.message, /^s3:\/\/lake\/big\/broken\.bin: .*boom/);
    return true;
  });
  assert.equal(await store.exists('broken.bin'), false);
  assert.deepEqual(
    (await store.list('')).map((o) => o.key),
    ['whole.bin'],
  );
});

test('S3 errors name the bucket and the key; consume keeps the local file when the upload fails', async () => {
  const missing = s3.store({ bucket: 'no-such-bucket', prefix: 'p' });
  await assert.rejects(missing.getBytes('a/b.json'), /^Error: s3:\/\/no-such-bucket\/p\/a\/b\.json: NoSuchBucket/);
  await assert.rejects(missing.list('a'), /s3:\/\/no-such-bucket\/p\/a\/: NoSuchBucket/);
  await assert.rejects(missing.deletePrefix(''), /s3:\/\/no-such-bucket\/p\/: NoSuchBucket/);
  const local = await mkdtemp(join(tmpdir(), 'ecluse-s3local-'));
  try {
    const file = join(local, 'keep.json');
    await writeFile(file, '{}');
    await assert.rejects(missing.putFile('a/keep.json', file, { consume: true }), /s3:\/\/no-such-bucket\/p\/a\/keep\.json: NoSuchBucket/);
    assert.equal(await readFile(file, 'utf8'), '{}');
  } finally {
    await rm(local, { recursive: true, force: true });
  }
  const store = s3.store({ bucket: s3.bucket, prefix: 'errors' });
  await assert.rejects(store.getBytes('a/b.json'), {
    name: 'ObjectNotFoundError',
    message: 'no object a/b.json in lake s3://lake/errors (s3://lake/errors/a/b.json: NoSuchKey)',
  });
});
