import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { FolderStore } from '../../src/lake/folderStore.js';
import { LakeConfigError, openLake, parseS3Url } from '../../src/lake/open.js';
import { S3Store } from '../../src/lake/s3Store.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3.js';

let cwd: string;
let s3: S3rverHandle;
before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'ecluse-open-'));
  s3 = await startS3rver();
});
after(async () => {
  await s3?.close();
  await rm(cwd, { recursive: true, force: true });
});

const configOf = (env: Record<string, string>) => loadConfig({ ECLUSE_HOME: join(cwd, 'home'), ...env }, cwd);

test('parseS3Url takes a bucket and an optional prefix, trailing slashes dropped', () => {
  assert.deepEqual(parseS3Url('s3://lake'), { bucket: 'lake', prefix: '' });
  assert.deepEqual(parseS3Url('s3://lake/'), { bucket: 'lake', prefix: '' });
  assert.deepEqual(parseS3Url('s3://my.data-lake-1/some/prefix'), { bucket: 'my.data-lake-1', prefix: 'some/prefix' });
  assert.deepEqual(parseS3Url('s3://lake/some/prefix///'), { bucket: 'lake', prefix: 'some/prefix' });
});

test('parseS3Url refuses what it would have to guess at', () => {
  const bad: [string, RegExp][] = [
    ['s3://', /bucket is missing/],
    ['s3:///prefix', /bucket is missing/],
    ['s3:/lake/x', /not an s3:\/\/bucket\/prefix URL/],
    ['S3://lake/x', /not an s3:\/\/bucket\/prefix URL/],
    ['s3://Lake/x', /not a valid bucket name/],
    ['s3://ab/x', /not a valid bucket name/],
    ['s3://a_b/x', /not a valid bucket name/],
    ['s3://-lake/x', /not a valid bucket name/],
    ['s3://da..ta/x', /not a valid bucket name/],
    ['s3://192.168.1.10/x', /not a valid bucket name/],
    ['s3://lake//x', /empty, '.' or '..' segment/],
    ['s3://lake/a/../b', /empty, '.' or '..' segment/],
    ['s3://lake/./b', /empty, '.' or '..' segment/],
    ['s3://lake/x?versionId=1', /no query/],
    ['s3://lake/x#y', /no query/],
    ['s3://lake/a%2Fb', /escape/],
    ['s3://lake/a b', /whitespace/],
  ];
  for (const [url, why] of bad)
    assert.throws(
      () => parseS3Url(url),
      (err: Error) => err instanceof LakeConfigError && why.test(err.message),
      url,
    );
  assert.throws(
    () => parseS3Url('s3://AKIAEXAMPLE:hunter2@lake/x'),
    (err: Error) => err instanceof LakeConfigError && /must not hold credentials/.test(err.message) && !err.message.includes('hunter2'),
  );
});

test('openLake opens a folder, or an S3 store for s3:// URLs', () => {
  const folder = openLake(configOf({ ECLUSE_LAKE: 'lake-dir' }));
  assert.ok(folder instanceof FolderStore);
  assert.equal(folder.location, join(cwd, 'lake-dir'));
  const lake = openLake(configOf({ ECLUSE_LAKE: 's3://lake/some/prefix/', ECLUSE_S3_ENDPOINT: 'http://127.0.0.1:9' }));
  assert.ok(lake instanceof S3Store);
  assert.equal(lake.location, 's3://lake/some/prefix');
  lake.close();
  const aws = openLake(configOf({ ECLUSE_LAKE: 's3://lake' }));
  assert.equal(aws.location, 's3://lake');
  (aws as S3Store).close();
});

test('openLake refuses other schemes and bad endpoints with LakeConfigError, echoing no secret', () => {
  const refused: [Record<string, string>, RegExp][] = [
    [{ ECLUSE_LAKE: 'gs://lake/x' }, /^lake: "gs":\/\/ locations are not supported/],
    [{ ECLUSE_LAKE: 's3://Lake' }, /^lake: .*not a valid bucket name/],
    [{ ECLUSE_LAKE: 's3://lake', ECLUSE_S3_ENDPOINT: 'localhost:9000' }, /ECLUSE_S3_ENDPOINT must be an http:\/\/ or https:\/\/ URL/],
    [{ ECLUSE_LAKE: 's3://lake', ECLUSE_S3_ENDPOINT: 'not a url' }, /is not a URL/],
    [{ ECLUSE_LAKE: 's3://lake', ECLUSE_S3_ENDPOINT: 'http://minio:hunter2@127.0.0.1:9000' }, /must not hold credentials/],
    [{ ECLUSE_LAKE: 'https://user:hunter2@example.com/lake' }, /"https":\/\/ locations are not supported/],
  ];
  for (const [env, why] of refused) {
    assert.throws(
      () => openLake(configOf(env)),
      (err: Error) => err instanceof LakeConfigError && why.test(err.message) && !err.message.includes('hunter2'),
      JSON.stringify(env),
    );
  }
});

test('an S3 lake opened from the configuration works with credentials from the environment', async () => {
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  const lake = openLake(configOf({ ECLUSE_LAKE: `s3://${s3.bucket}/from-config`, ECLUSE_S3_ENDPOINT: s3.endpoint })) as S3Store;
  try {
    await lake.putBytes('raw/a.json', '{}');
    assert.deepEqual(
      (await lake.list('raw')).map((o) => o.key),
      ['raw/a.json'],
    );
    const root = s3.store({ bucket: s3.bucket });
    assert.equal(await root.exists('from-config/raw/a.json'), true);
  } finally {
    lake.close();
    for (const [name, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
});
