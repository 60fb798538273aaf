import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isPartialName, LandingError, listLanding } from '../../../src/connectors/files/landing.js';
import { FolderStore } from '../../../src/lake/folderStore.js';
import type { ObjectStore } from '../../../src/lake/objectStore.js';
import { startS3rver } from '../../helpers/s3.js';

const EXTENSIONS = ['json', 'jsonl', 'csv', 'xlsx', 'zip'];
const NOW = new Date('2024-10-06T00:00:30Z');
const OLD = new Date('2024-10-05T23:00:00Z');

/** Writes files under `root`, all modified at OLD except those named in `recent` (modified at NOW). */
async function drop(root: string, files: Record<string, string>, recent: string[] = []): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, ...name.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
    const when = recent.includes(name) ? NOW : OLD;
    await utimes(path, when, when);
  }
}

test('partial and hidden names', () => {
  for (const name of ['a.json.tmp', 'a.json.part', 'a.json.crdownload', 'A.JSON.PART', '.a.json', 'x/.hidden/a.json', '.tmp-123-abc']) {
    assert.equal(isPartialName(name), true, name);
  }
  for (const name of ['a.json', 'x/a.json', 'a.tmp.json', 'part.csv']) assert.equal(isPartialName(name), false, name);
});

test('folder landing: complete supported files, recursively, sorted by name; partial, hidden and recent ones left', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ecluse-landing-'));
  await drop(
    root,
    {
      'b.json': '{"b":1}',
      'a/z.csv': 'z',
      'a/deeper/y.jsonl': 'y',
      'A-upper.JSON': 'u',
      'c.json.tmp': 'partial',
      'd.json.part': 'partial',
      'e.xlsx.crdownload': 'partial',
      '.f.json': 'hidden',
      '.airbyte/g.json': 'hidden folder',
      'notes.txt': 'not an input',
      noext: 'not an input',
      'fresh.json': 'still being written',
    },
    ['fresh.json'],
  );
  const tooRecent: string[] = [];
  const files = await listLanding(root, { extensions: EXTENSIONS, now: NOW, onTooRecent: (name) => tooRecent.push(name) });
  assert.deepEqual(
    files.map((f) => f.name),
    ['A-upper.JSON', 'a/deeper/y.jsonl', 'a/z.csv', 'b.json'],
  );
  // Left out, but told: the run counts and says what it left for later.
  assert.deepEqual(tooRecent, ['fresh.json']);
  const b = files.find((f) => f.name === 'b.json')!;
  assert.equal(b.size, 7);
  assert.equal(b.mtime?.getTime(), OLD.getTime());
  // A folder landing hands out the file itself: nothing is copied or moved.
  assert.equal(await b.withLocalFile(async (p) => p), join(root, 'b.json'));
  assert.equal(await b.withLocalFile((p) => readFile(p, 'utf8')), '{"b":1}');

  // The age limit is configurable; without extensions every complete file is listed.
  const all = await listLanding(root, { now: NOW, minAgeMs: 0 });
  assert.deepEqual(
    all.map((f) => f.name),
    ['A-upper.JSON', 'a/deeper/y.jsonl', 'a/z.csv', 'b.json', 'fresh.json', 'noext', 'notes.txt'],
  );
  // Default age limit against the real clock: files just written are too recent.
  const justNow = await mkdtemp(join(tmpdir(), 'ecluse-landing-'));
  await writeFile(join(justNow, 'x.json'), '{}');
  assert.deepEqual(await listLanding(justNow), []);
});

test('a missing or non-folder landing is a clear error; other URL schemes are refused', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ecluse-landing-'));
  await assert.rejects(
    listLanding(join(root, 'nope')),
    (err: unknown) => err instanceof LandingError && /landing folder .*nope does not exist/.test(err.message),
  );
  await writeFile(join(root, 'file'), 'x');
  await assert.rejects(listLanding(join(root, 'file')), /is not a folder/);
  await assert.rejects(listLanding('ftp://example.org/drop'), /expected a folder path or s3:\/\/bucket\/prefix/);
  await assert.rejects(listLanding('s3://bucket/drop'), /no object store available for s3:\/\/ locations/);
});

test('object-store landing: keys as names, partial and hidden keys left, no age limit', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ecluse-landing-store-'));
  const store = new FolderStore(root);
  await store.putBytes('daily/2024-10-05.json', '{"day":5}');
  await store.putBytes('daily/2024-10-04.jsonl', '{"day":4}\n');
  await store.putBytes('daily/2024-10-06.json.part', 'partial');
  await store.putBytes('.hidden/x.json', '{}');
  await store.putBytes('readme.md', 'not an input');
  const files = await listLanding(store, { extensions: EXTENSIONS, now: new Date(0) });
  assert.deepEqual(
    files.map((f) => f.name),
    ['daily/2024-10-04.jsonl', 'daily/2024-10-05.json'],
  );
  assert.equal(files[1]!.size, 9);
  assert.equal(await files[1]!.withLocalFile((p) => readFile(p, 'utf8')), '{"day":5}');
});

test('an s3:// landing is opened through the given constructor', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ecluse-landing-store-'));
  const store: ObjectStore = new FolderStore(root);
  await store.putBytes('in/a.csv', 'a');
  const opened: string[] = [];
  const files = await listLanding('s3://bucket/drop', {
    extensions: EXTENSIONS,
    openStore: (url) => {
      opened.push(url);
      return store;
    },
  });
  assert.deepEqual(opened, ['s3://bucket/drop']);
  assert.deepEqual(
    files.map((f) => f.name),
    ['in/a.csv'],
  );
});

test('an S3 landing on s3rver: listed under its prefix, partial keys left, objects downloaded on demand', async (t) => {
  // s3rver is pure JS, started with the tests: this case never skips.
  const s3 = await startS3rver();
  t.after(() => s3.close());
  const bucket = await s3.newBucket();
  const writer = s3.store({ bucket, prefix: 'greenandcoop' });
  await writer.putBytes('infoclimat/2024-10-05.json', '{"day":5}');
  await writer.putBytes('infoclimat/2024-10-06.json.crdownload', 'partial');
  await writer.putBytes('a/x.csv', 'x');
  await s3.store({ bucket, prefix: 'elsewhere' }).putBytes('y.json', '{}');
  const files = await listLanding(`s3://${bucket}/greenandcoop`, {
    extensions: EXTENSIONS,
    openStore: (url) => {
      assert.equal(url, `s3://${bucket}/greenandcoop`);
      return s3.store({ bucket, prefix: 'greenandcoop', listPageSize: 1 });
    },
  });
  assert.deepEqual(
    files.map((f) => [f.name, f.size]),
    [
      ['a/x.csv', 1],
      ['infoclimat/2024-10-05.json', 9],
    ],
  );
  let downloaded = '';
  assert.equal(await files[1]!.withLocalFile(async (p) => ((downloaded = p), readFile(p, 'utf8'))), '{"day":5}');
  assert.ok(!downloaded.startsWith(tmpdir()) || !existsSync(downloaded), 'the download is removed once read');
});
