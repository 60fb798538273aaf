import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  collectScheduledInputs,
  DEFAULT_INFOCLIMAT_STATIONS,
  infoclimatStationIds,
  NothingToReadError,
  previousDay,
} from '../../../src/pipelines/stations/sources.js';
import { FolderStore } from '../../../src/lake/folderStore.js';
import { sha256OfFile } from '../../../src/lake/raw.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { stationsConfig } from '../../../src/pipelines/stations/settings.js';
import { DEFAULT_WU_STATIONS } from '../../../src/connectors/wunderground/stations.js';
import { dayResponse } from '../../fixtures/infoclimat.js';
import { openPlatform, tempHome } from '../../helpers/platform.js';
import { startS3rver } from '../../helpers/s3.js';

const TOKEN = 'tok-3n7';
const OLD = new Date('2024-10-05T12:00:00Z');
/** 00:00:30 on 6 October in Paris (CEST): the run's previous day is the 5th. */
const RUN_AT = new Date('2024-10-05T22:00:30Z');

/** A loopback stand-in for the InfoClimat open-data API answering like the real one for the requested day. */
async function standIn(reply?: (res: ServerResponse) => void): Promise<{ url: string; requests: URL[]; close(): Promise<void> }> {
  const requests: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url);
    if (reply) return reply(res);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(dayResponse(url.searchParams.get('start') ?? '')));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/opendata/`,
    requests,
    close: () => new Promise<void>((ok) => (server.closeAllConnections(), server.close(() => ok()))),
  };
}

async function drop(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, ...name.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
    await utimes(path, OLD, OLD);
  }
}

/** A platform on a fresh home, with the scheduled-source settings overridden. */
async function platform(settings: { landing?: string; infoclimatToken?: string; infoclimatUrl?: string }): Promise<Platform> {
  const p = await openPlatform(await tempHome('ecluse-sources-'));
  const config = stationsConfig.override(
    { ...p.config, landing: settings.landing },
    { infoclimat_token: settings.infoclimatToken, infoclimat_url: settings.infoclimatUrl },
  );
  return { ...p, config };
}

/** Marks a file's content as loaded by a committed run, as the pipeline does. */
async function markLoaded(p: Platform, path: string): Promise<void> {
  const runId = await p.warehouse.startRun('stations', 'test', 'cli');
  const counts = { files: 1, files_skipped: 0, rows_read: 0, rows_written: 0, rows_rejected: 0, values_rejected: 0 };
  await p.warehouse.transaction(async () => {
    await p.warehouse.registerFiles(runId, [
      {
        pipeline: 'stations',
        sha256: await sha256OfFile(path),
        key: `raw/stations/landing/x-${runId}.json`,
        original_name: basename(path),
        source: 'landing',
        size: 1,
        received_at: new Date(),
      },
    ]);
    await p.warehouse.finishRun(runId, 'succeeded', counts, {});
  });
}

test('previous day in Europe/Paris, across midnight and both offsets', () => {
  assert.equal(previousDay(new Date('2024-10-05T22:30:00Z')), '2024-10-05'); // 00:30 CEST on the 6th
  assert.equal(previousDay(new Date('2024-10-05T21:30:00Z')), '2024-10-04'); // 23:30 CEST on the 5th
  assert.equal(previousDay(new Date('2024-01-01T23:30:00Z')), '2024-01-01'); // 00:30 CET on 2 January
  assert.equal(previousDay(new Date('2024-03-01T00:30:00Z')), '2024-02-29'); // leap day
  assert.equal(previousDay(new Date('2025-01-01T00:00:00Z')), '2024-12-31'); // 01:00 CET, year boundary
});

test('no landing and no token: a clear error', async (t) => {
  const p = await platform({});
  t.after(() => p.warehouse.close());
  await assert.rejects(
    collectScheduledInputs(p, { trigger: 'schedule' }, await mkdtemp(join(tmpdir(), 'ecluse-scratch-'))),
    (err: unknown) =>
      err instanceof NothingToReadError && err.message === 'stations: nothing to read: set ECLUSE_LANDING or ECLUSE_INFOCLIMAT_TOKEN, or give --input',
  );
});

test('landing folder and API: new landing files in name order, then the previous day from InfoClimat', async (t) => {
  const api = await standIn();
  t.after(() => api.close());
  const landing = await mkdtemp(join(tmpdir(), 'ecluse-landing-'));
  await drop(landing, {
    'airbyte/2024_10_05.jsonl': '{"_airbyte_data":{}}\n',
    'a-first.json': JSON.stringify(dayResponse('2024-10-04')),
    'copy-of-first.json': JSON.stringify(dayResponse('2024-10-04')),
    'b.json.part': 'partial',
    'notes.txt': 'ignored',
  });
  const p = await platform({ landing, infoclimatToken: TOKEN, infoclimatUrl: api.url });
  t.after(() => p.warehouse.close());
  const scratch = await mkdtemp(join(tmpdir(), 'ecluse-scratch-'));
  const got = await collectScheduledInputs(p, { trigger: 'schedule' }, scratch, { now: RUN_AT });

  assert.equal(got.day, '2024-10-05');
  assert.deepEqual(
    got.inputs.map((i) => [i.source, i.name]),
    [
      ['landing', 'a-first.json'],
      ['landing', 'airbyte/2024_10_05.jsonl'],
      ['infoclimat-api', 'infoclimat-2024-10-05.json'],
    ],
  );
  assert.equal(got.skipped, 1, 'the copy holds the same bytes as a-first.json');
  // Landing folder files are read in place; the API's day is written to the scratch folder under its name.
  assert.equal(got.inputs[0]!.path, join(landing, 'a-first.json'));
  const apiFile = got.inputs[2]!;
  assert.equal(dirname(dirname(apiFile.path)), scratch);
  assert.equal(basename(apiFile.path), 'infoclimat-2024-10-05.json');
  assert.deepEqual(JSON.parse(await readFile(apiFile.path, 'utf8')), dayResponse('2024-10-05'));
  assert.equal(apiFile.sha256, await sha256OfFile(apiFile.path));
  assert.equal(apiFile.size, Buffer.byteLength(JSON.stringify(dayResponse('2024-10-05'))));

  // One request, for the default GreenAndCoop stations (a fresh warehouse knows no InfoClimat station).
  assert.equal(api.requests.length, 1);
  const q = api.requests[0]!.searchParams;
  assert.deepEqual(q.getAll('stations[]'), [...DEFAULT_INFOCLIMAT_STATIONS].sort());
  assert.deepEqual([q.get('start'), q.get('end'), q.get('token'), q.get('method'), q.get('format')], ['2024-10-05', '2024-10-05', TOKEN, 'get', 'json']);
  // Nothing was moved or deleted from the landing.
  assert.ok(existsSync(join(landing, 'copy-of-first.json')) && existsSync(join(landing, 'b.json.part')));
});

test('files a committed run loaded are skipped, the API day included; a partition picks the day', async (t) => {
  const api = await standIn();
  t.after(() => api.close());
  const landing = await mkdtemp(join(tmpdir(), 'ecluse-landing-'));
  await drop(landing, { 'old.json': '{"old":true}', 'new.json': '{"new":true}' });
  const p = await platform({ landing, infoclimatToken: TOKEN, infoclimatUrl: api.url });
  t.after(() => p.warehouse.close());
  await markLoaded(p, join(landing, 'old.json'));
  const dayFile = join(await mkdtemp(join(tmpdir(), 'ecluse-day-')), 'infoclimat-2024-09-30.json');
  await writeFile(dayFile, JSON.stringify(dayResponse('2024-09-30')));
  await markLoaded(p, dayFile);

  const scratch = await mkdtemp(join(tmpdir(), 'ecluse-scratch-'));
  const got = await collectScheduledInputs(p, { trigger: 'schedule', partition: '2024-09-30' }, scratch, { now: RUN_AT, infoclimatStations: ['07015'] });
  assert.equal(got.day, '2024-09-30');
  assert.deepEqual(
    got.inputs.map((i) => i.name),
    ['new.json'],
  );
  assert.equal(got.skipped, 2);
  assert.equal(api.requests[0]!.searchParams.get('start'), '2024-09-30');
  assert.deepEqual(api.requests[0]!.searchParams.getAll('stations[]'), ['07015']);
  assert.equal(existsSync(join(scratch, 'infoclimat-api', 'infoclimat-2024-09-30.json')), false, 'a seen download is not kept');

  await assert.rejects(collectScheduledInputs(p, { trigger: 'schedule', partition: 'adhoc-3' }, scratch), /partition "adhoc-3" is not a day/);
});

test('an API failure fails the collection, naming the URL without the token', async (t) => {
  const api = await standIn((res) => {
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'KO', errors: ['token expired'] }));
  });
  t.after(() => api.close());
  const p = await platform({ infoclimatToken: TOKEN, infoclimatUrl: api.url });
  t.after(() => p.warehouse.close());
  await assert.rejects(
    collectScheduledInputs(p, { trigger: 'schedule' }, await mkdtemp(join(tmpdir(), 'ecluse-scratch-')), { now: RUN_AT }),
    (err: unknown) => {
      const message = (err as Error).message;
      assert.match(message, /^InfoClimat rejected the token \(HTTP 403\) for http:\/\/127\.0\.0\.1:\d+\/opendata\/\?.*token=\*\*\*: token expired$/);
      assert.ok(!message.includes(TOKEN));
      return true;
    },
  );
});

test('an object-store landing is downloaded to the scratch folder under each file base name', async (t) => {
  const storeRoot = await mkdtemp(join(tmpdir(), 'ecluse-landing-store-'));
  const store = new FolderStore(storeRoot);
  await store.putBytes('infoclimat/2024-10-05.json', JSON.stringify(dayResponse('2024-10-05')));
  await store.putBytes('infoclimat/2024-10-06.json.tmp', 'partial');
  await store.putBytes('wu/Weather+Underground+-+Ichtegem,+BE.xlsx', 'not really a workbook');
  const p = await platform({ landing: 's3://drop/greenandcoop' });
  t.after(() => p.warehouse.close());
  const opened: string[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'ecluse-scratch-'));
  const got = await collectScheduledInputs(p, { trigger: 'schedule' }, scratch, {
    openStore: (url) => {
      opened.push(url);
      return store;
    },
  });
  assert.deepEqual(opened, ['s3://drop/greenandcoop']);
  assert.equal(got.day, null);
  assert.deepEqual(
    got.inputs.map((i) => i.name),
    ['infoclimat/2024-10-05.json', 'wu/Weather+Underground+-+Ichtegem,+BE.xlsx'],
  );
  for (const i of got.inputs) {
    assert.ok(i.path.startsWith(scratch), `${i.path} is in the scratch folder`);
    assert.equal(basename(i.path), basename(i.name));
    assert.deepEqual(await readFile(i.path), await store.getBytes(i.name));
  }
});

test('InfoClimat station ids: defaults, configured non-WU stations, and the warehouse stations table', async (t) => {
  const p = await platform({});
  t.after(() => p.warehouse.close());
  assert.deepEqual(await infoclimatStationIds(p), [...DEFAULT_INFOCLIMAT_STATIONS].sort());
  const withConfig: Platform = {
    ...p,
    config: stationsConfig.override(p.config, { stations: [...DEFAULT_WU_STATIONS, { ...DEFAULT_WU_STATIONS[0]!, id: 'STATIC0042', type: 'static' }] }),
  };
  await p.warehouse.query(`CREATE TABLE stations (id VARCHAR PRIMARY KEY, type VARCHAR)`);
  await p.warehouse.query(`INSERT INTO stations VALUES ('07005', 'synop'), ('ILAMAD25', 'wunderground'), ('00052', 'static')`);
  const ids = await infoclimatStationIds(withConfig);
  assert.deepEqual(ids, ['00052', '000R5', '07005', '07015', 'STATIC0010', 'STATIC0042']);
});

test('an s3:// landing on s3rver, opened the way the lake is (ECLUSE_S3_ENDPOINT, SDK credentials)', async (t) => {
  // s3rver is pure JS, started with the tests: this case never skips.
  const s3 = await startS3rver();
  t.after(() => s3.close());
  const bucket = await s3.newBucket();
  const writer = s3.store({ bucket, prefix: 'drop' });
  t.after(() => writer.close());
  const doc = JSON.stringify(dayResponse('2024-10-04'));
  await writer.putBytes('2024/10/infoclimat-2024-10-04.json', doc);
  await writer.putBytes('2024/10/infoclimat-2024-10-05.json.part', 'partial');
  // The store's client takes its credentials from the SDK's default chain, as in production.
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  process.env.AWS_ACCESS_KEY_ID = s3.credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = s3.credentials.secretAccessKey;
  t.after(() => {
    for (const [name, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  const base = await platform({ landing: `s3://${bucket}/drop` });
  const p: Platform = { ...base, config: { ...base.config, s3Endpoint: s3.endpoint } };
  t.after(() => p.warehouse.close());
  const scratch = await mkdtemp(join(tmpdir(), 'ecluse-scratch-'));
  const got = await collectScheduledInputs(p, { trigger: 'schedule' }, scratch);
  assert.deepEqual(
    got.inputs.map((i) => [i.source, i.name]),
    [['landing', '2024/10/infoclimat-2024-10-04.json']],
  );
  assert.equal(basename(got.inputs[0]!.path), 'infoclimat-2024-10-04.json');
  assert.equal(await readFile(got.inputs[0]!.path, 'utf8'), doc);

  // Loaded by a committed run: the next collection downloads it, recognises it and keeps nothing.
  await markLoaded(p, got.inputs[0]!.path);
  const again = await collectScheduledInputs(p, { trigger: 'schedule' }, await mkdtemp(join(tmpdir(), 'ecluse-scratch-')));
  assert.deepEqual(again.inputs, []);
  assert.equal(again.skipped, 1);
});

test('a malformed s3:// landing is a configuration error naming the landing', async (t) => {
  const p = await platform({ landing: 's3://Not_A_Bucket/drop' });
  t.after(() => p.warehouse.close());
  await assert.rejects(
    collectScheduledInputs(p, { trigger: 'schedule' }, await mkdtemp(join(tmpdir(), 'ecluse-scratch-'))),
    /^LakeConfigError: landing: .*not a valid bucket name/,
  );
});
