/**
 * Properties of the ZIP reader on hostile input: whatever the bytes, extraction ends with contents that keep
 * every promise (files inside the folder, limits held, refusals named) or with a FileFormatError naming the
 * problem — never another error, never a file outside its folder, never unbounded work.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import fc from 'fast-check';
import { strToU8, zipSync } from 'fflate';
import { DEFAULT_ZIP_LIMITS, extractZip, safeEntryName, type ZipContents, type ZipLimits } from '../../../src/engine/readers/zip.js';
import { FileFormatError } from '../../../src/engine/readers/text.js';
import { textEntry, zerosEntry, zipOf } from './zipFixtures.js';

const MiB = 1024 * 1024;
/** zlib hands out its output 16 KiB at a time: a limit is passed by at most one such chunk. */
const SLACK = 64 * 1024;
const work = await mkdtemp(join(tmpdir(), 'ecluse-zip-prop-'));
after(() => rm(work, { recursive: true, force: true }));
let seq = 0;

type Outcome = { contents: ZipContents } | { error: FileFormatError };

/**
 * Extracts the bytes into a fresh folder, checks what holds whatever the archive, and removes the folder.
 * Any error other than a FileFormatError fails the property.
 */
async function outcome(bytes: Uint8Array, limits: ZipLimits = DEFAULT_ZIP_LIMITS, inspect?: (contents: ZipContents) => Promise<void>): Promise<Outcome> {
  const n = ++seq;
  const path = join(work, `${n}.zip`);
  const dir = await mkdtemp(join(work, `out-${n}-`));
  await writeFile(path, bytes);
  try {
    let contents: ZipContents;
    try {
      contents = await extractZip(path, dir, limits);
    } catch (err) {
      if (!(err instanceof FileFormatError)) throw err;
      assert.ok(err.message.length > 10, err.message);
      return { error: err };
    }
    const onDisk = (await readdir(dir)).sort();
    assert.deepEqual(onDisk, contents.files.map((f) => f.path.slice(dir.length + 1)).sort(), 'only the extracted files are left, directly in the folder');
    for (const f of contents.files) {
      assert.ok(f.bytes <= limits.maxEntryBytes, `${f.name}: ${f.bytes} bytes`);
      assert.ok(!f.name.startsWith('/') && !f.name.split('/').includes('..'), f.name);
    }
    for (const r of contents.refused) {
      // eslint-disable-next-line no-control-regex -- no control character may reach a message
      assert.doesNotMatch(r.name, /[\u0000-\u001f]/);
      assert.ok(r.reason.length > 10);
    }
    assert.ok(contents.inflatedBytes <= limits.maxTotalBytes + SLACK, `${contents.inflatedBytes} bytes inflated`);
    await inspect?.(contents);
    return { contents };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(path, { force: true });
  }
}

const SMALL: Record<string, string> = { 'a.json': '{"a":[1,2,3]}', 'sub/b.csv': 'x;y\n1;2\n', 'empty.jsonl': '' };
const VALID = {
  'sizes in local headers': zipSync({ ...Object.fromEntries(Object.entries(SMALL).map(([k, v]) => [k, strToU8(v)])), 'dir/': new Uint8Array(0) }),
  'sizes in data descriptors': zipOf(Object.entries(SMALL).map(([k, v]) => textEntry(k, v))),
};

for (const [layout, archive] of Object.entries(VALID)) {
  test(`an archive (${layout}) cut at any byte is a FileFormatError naming the damage`, async () => {
    const whole = await outcome(archive);
    assert.ok('contents' in whole && whole.contents.files.length === 3);
    for (let n = 0; n < archive.length; n++) {
      const cut = await outcome(archive.subarray(0, n));
      assert.ok('error' in cut, `cut at ${n} of ${archive.length} was read`);
    }
  });

  test(`an archive (${layout}) with bytes changed anywhere is read or refused, never more`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(archive.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), async (changes) => {
        const bytes = Uint8Array.from(archive);
        for (const [at, value] of changes) bytes[at] = value;
        await outcome(bytes);
      }),
      { numRuns: 150 },
    );
  });
}

test('random bytes are not a ZIP archive', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), async (bytes) => {
      const r = await outcome(bytes);
      assert.ok('error' in r);
    }),
    { numRuns: 100 },
  );
});

test('random bytes after a local header and before a valid end record: read or refused, never more', async () => {
  const end = (count: number) => {
    const b = Buffer.alloc(22);
    b.writeUInt32LE(0x06054b50, 0);
    b.writeUInt16LE(count, 8);
    b.writeUInt16LE(count, 10);
    return b;
  };
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.uint8Array({ maxLength: 2048 }), fc.nat(3), async (head, body, count) => {
      await outcome(Buffer.concat([head, Buffer.from([0x50, 0x4b, 0x03, 0x04]), body, end(count)]));
    }),
    { numRuns: 150 },
  );
});

const HOSTILE = [
  '../x.json',
  '../../etc/passwd',
  '/abs.json',
  '\\abs.json',
  'C:\\x.json',
  'c:/x.json',
  'a\0b.json',
  'a/../../x.json',
  '..',
  '.',
  'nested.zip',
  'dir/',
  'dir\\',
];

test('entries with hostile names: each unsafe or nested one refused by name, folders skipped, every other extracted with its bytes', async () => {
  const name = fc.oneof(
    fc.constantFrom(...HOSTILE),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
    fc
      .tuple(
        fc.constantFrom('', 'a/', '../', './', 'x\\..\\'),
        fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }),
        fc.constantFrom('.json', '.csv', '.zip', '', '/'),
      )
      .map(([a, b, c]) => `${a}${b}${c}`),
  );
  const entry = fc.record({ name, content: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 300 })) });
  await fc.assert(
    fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 8 }), async (entries) => {
      let extracted: string[] = [];
      const r = await outcome(zipOf(entries.map((e) => textEntry(e.name, e.content))), DEFAULT_ZIP_LIMITS, async ({ files }) => {
        extracted = await Promise.all(files.map(async (f) => `${f.name}=${Buffer.from(await readFile(f.path)).toString('hex')}`));
      });
      if ('error' in r) {
        // Only an archive without a single file to offer is refused whole.
        assert.match(r.error.message, /holds no files/);
        assert.ok(entries.every((e) => e.name.endsWith('/') || e.name.endsWith('\\')));
        return;
      }
      const { files, refused, folders } = r.contents;
      const isFolder = (n: string) => n.endsWith('/') || n.endsWith('\\');
      const wanted = entries.filter(
        (e) => !isFolder(e.name) && safeEntryName(e.name) !== null && extname(safeEntryName(e.name) ?? '').toLowerCase() !== '.zip',
      );
      assert.equal(folders, entries.filter((e) => isFolder(e.name)).length);
      assert.equal(files.length, wanted.length);
      assert.equal(refused.length, entries.length - wanted.length - folders);
      assert.equal(extracted.length, files.length);
      // eslint-disable-next-line no-control-regex -- names are given back with control characters escaped
      const escape = (n: string) => n.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      const expected = wanted.map((e) => `${escape(safeEntryName(e.name) ?? '')}=${Buffer.from(e.content).toString('hex')}`);
      assert.deepEqual(extracted.sort(), expected.sort());
    }),
    { numRuns: 200 },
  );
});

test('bombs of any size under any limits: the work stops at the limits and memory stays bounded', async () => {
  const rssBefore = process.memoryUsage().rss;
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ mib: fc.integer({ min: 1, max: 64 }), claimed: fc.option(fc.nat(), { nil: undefined }) }), { minLength: 1, maxLength: 3 }),
      fc.record({
        maxEntries: fc.integer({ min: 1, max: 4 }),
        maxEntryBytes: fc.integer({ min: 1, max: 16 * MiB }),
        maxTotalBytes: fc.integer({ min: 1, max: 24 * MiB }),
        maxRatio: fc.constantFrom(1, 10, 100, 1e9),
      }),
      async (bombs, limits) => {
        const r = await outcome(zipOf(bombs.map((b, i) => zerosEntry(`${i}.json`, b.mib, b.claimed))), limits);
        if ('error' in r) {
          assert.match(r.error.message, /more than the limit of/);
          assert.ok(bombs.length > limits.maxEntries);
          return;
        }
        assert.equal(r.contents.files.length + r.contents.refused.length, bombs.length);
        for (const f of r.contents.files) assert.ok(f.bytes <= limits.maxEntryBytes);
      },
    ),
    { numRuns: 40 },
  );
  const grown = process.resourceUsage().maxRSS * 1024 - rssBefore;
  assert.ok(grown < 200 * MiB, `peak RSS ${Math.round(grown / MiB)} MiB above the start`);
});
