import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { DEFAULT_ZIP_LIMITS, extractZip, safeEntryName, withZipContents, type ZipContents, type ZipLimits } from '../../../src/engine/readers/zip.js';
import { FileFormatError } from '../../../src/engine/readers/text.js';
import { ConfigError, loadConfig } from '../../../src/config/config.js';
import { textEntry, writeZip, zerosEntry, zipOf } from './zipFixtures.js';

const MiB = 1024 * 1024;
const work = await mkdtemp(join(tmpdir(), 'ecluse-zip-test-'));
after(() => rm(work, { recursive: true, force: true }));
let seq = 0;

/** Writes the archive to disk and extracts it into a fresh folder. */
async function extract(bytes: Uint8Array, limits: Partial<ZipLimits> = {}): Promise<ZipContents & { dir: string }> {
  const n = ++seq;
  const path = join(work, `${n}.zip`);
  await writeFile(path, bytes);
  const dir = await mkdtemp(join(work, `out-${n}-`));
  return { ...(await extractZip(path, dir, { ...DEFAULT_ZIP_LIMITS, ...limits })), dir };
}

const text = async (path: string) => readFile(path, 'utf8');

test('safeEntryName refuses paths escaping the folder', () => {
  assert.equal(safeEntryName('a/b.json'), 'a/b.json');
  assert.equal(safeEntryName('a/../b.json'), 'b.json');
  assert.equal(safeEntryName('a\\b.json'), 'a/b.json');
  for (const bad of ['../evil.json', 'a/../../evil.json', '/etc/passwd', '\\x.json', 'C:\\x.json', 'c:x.json', 'a\0.json', '', '.', 'a/..']) {
    assert.equal(safeEntryName(bad), null, JSON.stringify(bad));
  }
});

test('entries are extracted to numbered files of the folder, whether sizes are in the local headers or after the data', async () => {
  const files = { 'a.json': '{"a":1}', 'sub/b.csv': 'x;y\n1;2\n', 'empty.jsonl': '' };
  const inHeaders = zipSync({ ...Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])), 'folder/': new Uint8Array(0) });
  const streamed = zipOf(Object.entries(files).map(([k, v]) => textEntry(k, v)));
  for (const archive of [inHeaders, streamed]) {
    const x = await extract(archive);
    assert.deepEqual(x.refused, []);
    assert.deepEqual(
      x.files.map((f) => [f.name, f.bytes]),
      [
        ['a.json', 7],
        ['empty.jsonl', 0],
        ['sub/b.csv', 8],
      ],
    );
    for (const f of x.files) {
      assert.equal(await text(f.path), files[f.name as keyof typeof files]);
      assert.ok(f.path.startsWith(x.dir + '/') && !f.path.slice(x.dir.length + 1).includes('/'), f.path);
    }
    assert.equal((await readdir(x.dir)).length, 3);
  }
  assert.equal((await extract(inHeaders)).folders, 1);
});

test('an entry escaping the folder or a nested archive is refused by name; the others are extracted', async () => {
  const x = await extract(zipSync({ 'ok.json': strToU8('{}'), '../evil.json': strToU8('{}'), 'inner.zip': zipSync({ 'a.json': strToU8('{}') }) }));
  assert.deepEqual(
    x.files.map((f) => f.name),
    ['ok.json'],
  );
  assert.deepEqual(
    x.refused.map((r) => r.name),
    ['../evil.json', 'inner.zip'],
  );
  assert.match(x.refused[0]?.reason ?? '', /escapes the archive folder/);
  assert.match(x.refused[1]?.reason ?? '', /nested archives are not opened/);
  assert.deepEqual(await readdir(x.dir), ['1.json']);
});

test('an archive listing too many entries is refused before any is extracted', async () => {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 30; i++) files[`f${i}.json`] = strToU8('{}');
  await assert.rejects(
    extract(zipSync(files), { maxEntries: 10 }),
    (e: unknown) =>
      e instanceof FileFormatError && /lists 30 entries, more than the limit of 10 \(raise it with ECLUSE_ZIP_MAX_ENTRIES or zip.max_entries/.test(e.message),
  );
});

test('a file that is not a zip, or an archive without files, is a clear error', async () => {
  await assert.rejects(extract(strToU8('hello')), /not a ZIP archive, or one cut short/);
  await assert.rejects(extract(zipSync({})), /holds no files/);
  await assert.rejects(extract(zipSync({ 'd/': new Uint8Array(0) })), /holds no files/);
});

test('a large highly-compressed entry is refused after inflating only up to the limit; the good entry is extracted', async () => {
  // 1 GiB of zeros in about 1 MB: refused at 4 MiB by the per-entry limit (the ratio limit set out of the way).
  const bomb = zipOf([textEntry('good.json', '{"ok":true}'), zerosEntry('bomb.json', 1024)]);
  const started = Date.now();
  const x = await extract(bomb, { maxEntryBytes: 4 * MiB, maxRatio: 1e9 });
  assert.deepEqual(
    x.files.map((f) => f.name),
    ['good.json'],
  );
  assert.equal(await text(x.files[0]?.path ?? ''), '{"ok":true}');
  assert.equal(x.refused.length, 1);
  assert.equal(x.refused[0]?.name, 'bomb.json');
  assert.match(
    x.refused[0]?.reason ?? '',
    /^expands past 4 MiB, the limit per entry \(raise it with ECLUSE_ZIP_MAX_ENTRY_MB or zip.max_entry_mb in ecluse.config.json\); not read$/,
  );
  assert.ok(x.inflatedBytes <= 4 * MiB + 256 * 1024, `inflated ${x.inflatedBytes} bytes`);
  assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
  // The refused entry leaves no file behind.
  assert.deepEqual(await readdir(x.dir), ['1.json']);
});

test('the default ratio limit refuses a bomb within a few MiB, whatever its headers claim', async () => {
  // The archive claims 1 KiB for an entry that inflates to 1 GiB.
  const x = await extract(zipOf([zerosEntry('lies.jsonl', 1024, 1024), textEntry('b.json', '[]')]));
  assert.deepEqual(
    x.files.map((f) => f.name),
    ['b.json'],
  );
  assert.match(
    x.refused[0]?.reason ?? '',
    /^expands more than 100 times its compressed size \(.* so far\), the limit against zip bombs \(raise it with ECLUSE_ZIP_MAX_RATIO/,
  );
  assert.ok(x.inflatedBytes < 16 * MiB, `inflated ${x.inflatedBytes} bytes`);
});

test('a local header claiming another size than the data inflates to: the entry is refused as damaged', async () => {
  const archive = zipSync({ 'a.json': strToU8('{"a":1}'), 'b.json': strToU8('{"b":2}') });
  // The first local header's uncompressed size (offset 22) says 3 bytes; the central directory is left alone.
  archive[22] = 3;
  const x = await extract(archive);
  assert.deepEqual(
    x.files.map((f) => f.name),
    ['b.json'],
  );
  assert.match(x.refused[0]?.reason ?? '', /^expands to 7 bytes where the archive says 3: damaged or forged; not read$/);
});

test('the total limit: the entry that passes it and the ones after are refused, each by name', async () => {
  const entries = ['a', 'b', 'c'].map((n) => zerosEntry(`${n}.json`, 3));
  const x = await extract(zipOf(entries), { maxTotalBytes: 5 * MiB, maxRatio: 1e9 });
  assert.deepEqual(
    x.files.map((f) => f.name),
    ['a.json'],
  );
  assert.deepEqual(
    x.refused.map((r) => r.name),
    ['b.json', 'c.json'],
  );
  assert.match(
    x.refused[0]?.reason ?? '',
    /^the archive expanded past 5 MiB, its limit in all \(raise it with ECLUSE_ZIP_MAX_TOTAL_MB.*\); this entry and the ones after it are not read$/,
  );
  assert.match(x.refused[1]?.reason ?? '', /^not read: the archive expanded past 5 MiB/);
  assert.ok(x.inflatedBytes <= 5 * MiB + 256 * 1024);
});

test('the total ratio: many small entries cannot add up to more than the ratio times the archive', async () => {
  // Each entry stays under the ratio-free size; together they pass 100 times the archive's size.
  const entries = Array.from({ length: 8 }, (_, i) => zerosEntry(`${i}.json`, 1));
  const x = await extract(zipOf(entries));
  assert.ok(x.files.length >= 1 && x.files.length < 8, `${x.files.length} extracted`);
  assert.match(x.refused[0]?.reason ?? '', /the archive expanded more than 100 times its size of .* in all \(raise it with ECLUSE_ZIP_MAX_RATIO/);
});

test('the event loop keeps turning while a big entry is inflated', async () => {
  // 512 MiB of zeros, refused at 96 MiB: tens of milliseconds of inflating at most per turn.
  const archive = zipOf([zerosEntry('big.json', 512)]);
  let longest = 0;
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  try {
    const x = await extract(archive, { maxEntryBytes: 96 * MiB, maxRatio: 1e9 });
    assert.match(x.refused[0]?.reason ?? '', /limit per entry/);
  } finally {
    clearInterval(timer);
  }
  assert.ok(longest < 250, `the event loop stalled for ${longest} ms`);
});

test('extracting a 512 MiB entry keeps the process under 200 MB of memory', async () => {
  const archive = await writeZip(join(work, 'half-gib.zip'), [zerosEntry('big.json', 512)]);
  // A child process, so that its peak resident size is this extraction's alone.
  const script = `
    import { withZipContents } from ${JSON.stringify(new URL('../../../src/engine/readers/zip.ts', import.meta.url).href)};
    const limits = { maxEntries: 10, maxEntryBytes: 1024 * 1024 * 1024, maxTotalBytes: 1024 * 1024 * 1024, maxRatio: 1e9 };
    const bytes = await withZipContents(${JSON.stringify(archive)}, { limits, scratch: ${JSON.stringify(work)} }, async (c) => c.files[0]?.bytes);
    console.log(JSON.stringify({ bytes, maxRssKb: process.resourceUsage().maxRSS }));
  `;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`child exited with ${code}`))));
  });
  const { bytes, maxRssKb } = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { bytes: number; maxRssKb: number };
  assert.equal(bytes, 512 * MiB);
  assert.ok(maxRssKb < 200 * 1024, `peak RSS ${Math.round(maxRssKb / 1024)} MB`);
});

test('withZipContents extracts into the scratch folder given and removes what it extracted', async () => {
  const scratch = await mkdtemp(join(work, 'scratch-'));
  const archive = join(work, 'w.zip');
  await writeFile(archive, zipSync({ 'a.json': strToU8('{}') }));
  const seen = await withZipContents(archive, { scratch }, async (c) => {
    assert.ok(c.files[0]?.path.startsWith(scratch + '/'));
    return text(c.files[0]?.path ?? '');
  });
  assert.equal(seen, '{}');
  assert.deepEqual(await readdir(scratch), []);
  await assert.rejects(
    withZipContents(join(work, 'missing.zip'), { scratch }, async () => 0),
    /ENOENT/,
  );
});

test('the limits come from ecluse.config.json and the environment, which overrides it', async () => {
  const dir = await mkdtemp(join(work, 'config-'));
  assert.deepEqual(loadConfig({ ECLUSE_HOME: dir }, dir).zipLimits, DEFAULT_ZIP_LIMITS);
  await writeFile(join(dir, 'ecluse.config.json'), JSON.stringify({ zip: { max_entries: 50, max_entry_mb: 8, max_total_mb: 64, max_ratio: 20 } }));
  assert.deepEqual(loadConfig({ ECLUSE_HOME: dir }, dir).zipLimits, { maxEntries: 50, maxEntryBytes: 8 * MiB, maxTotalBytes: 64 * MiB, maxRatio: 20 });
  const env = { ECLUSE_HOME: dir, ECLUSE_ZIP_MAX_ENTRIES: '7', ECLUSE_ZIP_MAX_ENTRY_MB: '0.5', ECLUSE_ZIP_MAX_TOTAL_MB: '1', ECLUSE_ZIP_MAX_RATIO: '1000' };
  assert.deepEqual(loadConfig(env, dir).zipLimits, { maxEntries: 7, maxEntryBytes: MiB / 2, maxTotalBytes: MiB, maxRatio: 1000 });
  assert.throws(
    () => loadConfig({ ...env, ECLUSE_ZIP_MAX_RATIO: '0' }, dir),
    (e: unknown) => e instanceof ConfigError && /ECLUSE_ZIP_MAX_RATIO=0/.test(e.message),
  );
  // An entry is read in memory: a limit past what V8 strings hold would bring back the run-wide failure.
  assert.throws(() => loadConfig({ ...env, ECLUSE_ZIP_MAX_ENTRY_MB: '1024' }, dir), /ECLUSE_ZIP_MAX_ENTRY_MB \(zip\.max_entry_mb\) = 1024: at most 500/);
  await writeFile(join(dir, 'ecluse.config.json'), JSON.stringify({ zip: { max_ratio: -1 } }));
  assert.throws(() => loadConfig({ ECLUSE_HOME: dir }, dir), /zip\.max_ratio/);
});
