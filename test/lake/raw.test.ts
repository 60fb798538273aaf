import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderStore } from '../../src/lake/folderStore.js';
import { rawKey, rawMetaKey } from '../../src/lake/layout.js';
import { withLocalFiles } from '../../src/lake/localFiles.js';
import type { ObjectStore } from '../../src/lake/objectStore.js';
import { listRawFiles, storeRawFile } from '../../src/lake/raw.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3.js';

let local: string;
let s3: S3rverHandle;
before(async () => {
  local = await mkdtemp(join(tmpdir(), 'ecluse-raw-'));
  s3 = await startS3rver();
});
after(async () => {
  await s3?.close();
  await rm(local, { recursive: true, force: true });
});

/** The same raw-zone checks on every store: raw.ts knows only the ObjectStore contract. */
const stores: [string, () => Promise<ObjectStore>][] = [
  ['FolderStore', async () => new FolderStore(await mkdtemp(join(local, 'lake-')))],
  // A page size of 2 makes listRawFiles read several pages of keys and sidecars.
  ['S3Store', async () => s3.store({ bucket: await s3.newBucket(), prefix: 'lake', listPageSize: 2 })],
];

for (const [name, open] of stores) {
  describe(`raw zone on ${name}`, () => {
    test('raw files are stored unchanged, content-addressed, and keep their original name', async () => {
      const store = await open();
      const src = join(local, `in-${name}.json`);
      await writeFile(src, '{"a":1}');
      const when = new Date(Date.UTC(2024, 9, 5, 13, 4, 5, 7));
      const raw = await storeRawFile(store, 'stations', 'infoclimat', src, when);
      assert.equal(raw.sha256, '015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
      assert.equal(raw.key, rawKey('stations', 'infoclimat', when, raw.sha256, 'json'));
      assert.match(raw.key, /^raw\/stations\/infoclimat\/received=2024-10-05\/130405007-015abd.*\.json$/);
      assert.equal((await store.getBytes(raw.key)).toString(), '{"a":1}');
      assert.equal(await readFile(src, 'utf8'), '{"a":1}', 'the input file is left where it was');
      const meta = JSON.parse((await store.getBytes(rawMetaKey(raw.key))).toString()) as Record<string, unknown>;
      assert.equal(meta.original_name, `in-${name}.json`);
      const listed = await listRawFiles(store, 'stations');
      assert.deepEqual(listed, [raw]);
    });

    test('listRawFiles returns every file of the pipeline in arrival order, with its sidecar’s metadata', async () => {
      const store = await open();
      const inputs = [
        ['Weather+Underground+-+Ichtegem,+BE.xlsx', 'wunderground', 'PK-not-really-a-workbook'],
        ['2024-10-05.json', 'infoclimat', '{"day":5}'],
        ['2024-10-06.json', 'infoclimat', '{"day":6}'],
        ['2024-10-07.json', 'infoclimat', '{"day":7}'],
      ] as const;
      const start = Date.UTC(2024, 9, 8, 23, 59, 59, 998);
      const stored = [];
      for (const [i, [file, source, content]] of inputs.entries()) {
        const path = join(local, file);
        await writeFile(path, content);
        stored.push(await storeRawFile(store, 'stations', source, path, new Date(start + i)));
      }
      // Another pipeline's raw files and the staging zone are not listed.
      await writeFile(join(local, 'other.json'), '{}');
      await storeRawFile(store, 'synop', 'ods', join(local, 'other.json'), new Date(start));
      await store.putBytes('staging/reports/month=2024-10/data.parquet', 'PAR1');

      const listed = await listRawFiles(store, 'stations');
      assert.deepEqual(
        listed.map((r) => [r.originalName, r.source, r.receivedAt.toISOString(), r.size]),
        inputs.map(([file, source, content], i) => [file, source, new Date(start + i).toISOString(), content.length]),
      );
      assert.deepEqual(listed, stored);
      // The arrival order crosses midnight: the day folder of the key changes with it.
      assert.match(listed[2]?.key ?? '', /received=2024-10-09\/000000000-/);
      const contents = await withLocalFiles(
        store,
        listed.map((r) => r.key),
        (paths) => Promise.all(paths.map((p) => readFile(p, 'utf8'))),
      );
      assert.deepEqual(
        contents,
        inputs.map(([, , content]) => content),
      );
    });
  });
}

test('withLocalFiles on S3 removes every downloaded copy once fn settles', async () => {
  const store = s3.store({ bucket: await s3.newBucket() });
  await store.putBytes('a/1.json', '1');
  await store.putBytes('b/2.json', '2');
  let lent: string[] = [];
  await assert.rejects(
    withLocalFiles(store, ['a/1.json', 'b/2.json'], async (paths) => {
      lent = paths;
      assert.deepEqual(await Promise.all(paths.map((p) => readFile(p, 'utf8'))), ['1', '2']);
      throw new Error('stage failed');
    }),
    /stage failed/,
  );
  assert.equal(lent.length, 2);
  for (const p of lent) await assert.rejects(readFile(p), /ENOENT/);
});
