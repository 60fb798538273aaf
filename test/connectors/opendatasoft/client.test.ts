import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OdsApiError, OdsClient, type OdsClientOptions, type Progress } from '../../../src/connectors/opendatasoft/client.js';
import { dateWindowWhere } from '../../../src/connectors/opendatasoft/odsql.js';
import { startOdsServer, synopRecords, SYNOP_LABELS, type OdsFixtureDataset, type OdsStandIn } from '../../helpers/odsServer.js';

const DS = 'donnees-synop-essentielles-omm';

async function standIn(t: { after(fn: () => Promise<void>): void }, records: OdsFixtureDataset['records']): Promise<OdsStandIn> {
  const api = await startOdsServer({ [DS]: { records, labels: SYNOP_LABELS } });
  t.after(() => api.close());
  return api;
}

/** A client whose waits are recorded, not slept; jitter fixed at the middle. */
function client(api: OdsStandIn, extra: Partial<OdsClientOptions> = {}): { ods: OdsClient; waits: number[] } {
  const waits: number[] = [];
  const ods = new OdsClient({ baseUrl: api.url, attempts: 3, backoffMs: 1000, sleep: async (ms) => void waits.push(ms), random: () => 0.5, ...extra });
  return { ods, waits };
}

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'ecluse-ods-'));
}

const lines = async (path: string) =>
  (await readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('records: the query string the API expects, results as sent', async (t) => {
  const api = await standIn(t, synopRecords(12));
  const { ods } = client(api);
  const where = dateWindowWhere('date', { from: '2024-01-01T03:00:00Z', to: '2024-01-02' });
  const page = await ods.records(DS, { select: 'numer_sta,date,t', where, orderBy: 'date', limit: 5, offset: 2, refine: ['nom:ORLY'] });
  assert.equal(api.requests.length, 1);
  const req = api.requests[0]!;
  assert.equal(req.pathname, `/api/explore/v2.1/catalog/datasets/${DS}/records`);
  assert.equal(req.searchParams.get('select'), 'numer_sta,date,t');
  assert.equal(req.searchParams.get('where'), "date >= date'2024-01-01T03:00:00Z' AND date < date'2024-01-02'");
  assert.equal(req.searchParams.get('order_by'), 'date');
  assert.equal(req.searchParams.get('limit'), '5');
  assert.equal(req.searchParams.get('offset'), '2');
  assert.equal(req.searchParams.get('timezone'), 'UTC');
  assert.deepEqual(req.searchParams.getAll('refine'), ['nom:ORLY']);
  // 12 records, 3 stations every 3 h: 9 of them from 03:00 on.
  assert.equal(page.totalCount, 9);
  assert.equal(page.results.length, 5);
  assert.deepEqual(Object.keys(page.results[0]!), ['numer_sta', 'date', 't']);
  assert.equal(page.results[0]!.numer_sta, '07149', 'leading zero kept');
  assert.equal(page.results[0]!.date, '2024-01-01T03:00:00+00:00');
});

test('records refuses, before any request, a limit over 100 or a page beyond the ceiling', async (t) => {
  const api = await standIn(t, synopRecords(3));
  const { ods } = client(api);
  await assert.rejects(ods.records(DS, { limit: 101 }), /limit 101 is outside 0…100/);
  await assert.rejects(ods.records(DS, { limit: 100, offset: 9900 }), /must stay below 10000; use an export/);
  assert.equal(api.requests.length, 0);
  assert.equal((await ods.records(DS, { limit: 99, offset: 9900 })).results.length, 0, '9900 + 99 is still allowed');
});

test('the stand-in answers the ceiling like the API: 400 InvalidRESTParameterError', async (t) => {
  const api = await standIn(t, synopRecords(3));
  const res = await fetch(`${api.url}/api/explore/v2.1/catalog/datasets/${DS}/records?limit=100&offset=9900`);
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error_code: string; message: string };
  assert.equal(body.error_code, 'InvalidRESTParameterError');
  assert.match(body.message, /lower than 10000/);
});

test('pages: exactly 100 records is one full page and nothing more', async (t) => {
  const api = await standIn(t, synopRecords(100));
  const { ods } = client(api);
  const pages = [];
  for await (const p of ods.pages(DS, { orderBy: 'date' })) pages.push(p);
  assert.deepEqual(
    pages.map((p) => p.results.length),
    [100],
  );
  assert.deepEqual(
    api.requests.map((r) => [r.searchParams.get('limit'), r.searchParams.get('offset')]),
    [['100', '0']],
  );
});

test('pages: 250 records in pages of 100, 100, 50, in order, progress per page', async (t) => {
  const api = await standIn(t, synopRecords(250));
  const { ods } = client(api);
  const progress: Progress[] = [];
  const got = [];
  for await (const r of ods.iterate(DS, { orderBy: 'date', onProgress: (p) => progress.push(p) })) got.push(r);
  assert.equal(got.length, 250);
  assert.deepEqual(got, synopRecords(250));
  assert.deepEqual(
    api.requests.map((r) => [r.searchParams.get('limit'), r.searchParams.get('offset')]),
    [
      ['100', '0'],
      ['100', '100'],
      ['50', '200'],
    ],
  );
  assert.deepEqual(
    progress.map((p) => p.fetched),
    [100, 200, 250],
  );
  assert.ok(progress.every((p) => p.total === 250 && p.unit === 'records'));
});

test('pages refuse a query larger than the records endpoint serves, before yielding', async (t) => {
  const api = await standIn(t, synopRecords(10_000));
  const { ods } = client(api);
  const yielded: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const p of ods.pages(DS)) yielded.push(p.results.length);
    })(),
    (err: unknown) => err instanceof OdsApiError && /10000 records match, more than the 9999/.test(err.message) && /use an export/.test(err.message),
  );
  assert.deepEqual(yielded, []);
});

test('downloadWindow: 9999 records page through records, the last page shortened to 99', async (t) => {
  const records = synopRecords(9999);
  const api = await standIn(t, records);
  const { ods } = client(api);
  const dest = join(await tmp(), 'window.jsonl');
  const progress: Progress[] = [];
  const got = await ods.downloadWindow(DS, { dest, orderBy: 'date', onProgress: (p) => progress.push(p) });
  assert.equal(got.via, 'records');
  assert.equal(got.totalCount, 9999);
  assert.equal(got.records, 9999);
  assert.equal(got.bytes, (await stat(dest)).size);
  const asked = api.requests.map((r) => ({
    path: r.pathname.split('/').pop(),
    limit: Number(r.searchParams.get('limit')),
    offset: Number(r.searchParams.get('offset')),
  }));
  assert.deepEqual(asked[0], { path: 'records', limit: 0, offset: 0 }, 'the count comes first');
  assert.equal(asked.length, 1 + 100);
  assert.deepEqual(asked.at(-1), { path: 'records', limit: 99, offset: 9900 });
  assert.ok(asked.every((a) => a.offset + a.limit < 10_000));
  assert.deepEqual(await lines(dest), records);
  assert.deepEqual(progress.at(-1), { fetched: 9999, total: 9999, unit: 'records' });
  assert.deepEqual(await readdir(join(dest, '..')), ['window.jsonl'], 'no .part left');
});

test('downloadWindow: 10000 records go through exports/jsonl with the same where, streamed', async (t) => {
  const records = synopRecords(10_051);
  const api = await standIn(t, records);
  const { ods } = client(api);
  const dest = join(await tmp(), 'window.jsonl');
  // 10 051 records, 3 stations every 3 h: from the 18th slot (record 51) on, 10 000 are left.
  const from = records[51]!.date as string;
  const where = dateWindowWhere('date', { from: from.replace('+00:00', 'Z') });
  const progress: Progress[] = [];
  const got = await ods.downloadWindow(DS, { dest, where, onProgress: (p) => progress.push(p) });
  assert.equal(got.via, 'export');
  assert.equal(got.totalCount, 10_000);
  assert.equal(got.records, 10_000);
  assert.equal(api.requests.length, 2);
  const exp = api.requests[1]!;
  assert.equal(exp.pathname, `/api/explore/v2.1/catalog/datasets/${DS}/exports/jsonl`);
  assert.equal(exp.searchParams.get('where'), where);
  assert.equal(exp.searchParams.get('timezone'), 'UTC');
  assert.equal(exp.searchParams.get('use_labels'), null);
  assert.deepEqual(await lines(dest), records.slice(51));
  assert.deepEqual(progress.at(-1), { fetched: 10_000, total: 10_000, unit: 'records' });
});

test('downloadWindow: a window growing past the ceiling while paging never asks beyond it and ends as an export', async (t) => {
  const all = synopRecords(10_050);
  const records = all.slice(0, 9950);
  const api = await standIn(t, records);
  let calls = 0;
  // New observations arrive while the client pages (they sort last: later dates).
  const growing: typeof fetch = (input, init) => {
    if (++calls === 60) records.push(...all.slice(9950));
    return fetch(input, init);
  };
  const { ods } = client(api, { fetch: growing });
  const dest = join(await tmp(), 'grown.jsonl');
  const got = await ods.downloadWindow(DS, { dest, orderBy: 'date' });
  assert.equal(got.via, 'export');
  const pages = api.requests.filter((r) => r.pathname.endsWith('/records'));
  assert.ok(pages.every((r) => Number(r.searchParams.get('offset')) + Number(r.searchParams.get('limit')) < 10_000));
  assert.deepEqual([pages.at(-1)!.searchParams.get('limit'), pages.at(-1)!.searchParams.get('offset')], ['99', '9900']);
  assert.equal(api.requests.at(-1)!.pathname.endsWith('/exports/jsonl'), true);
  assert.equal(got.records, 10_050);
  assert.deepEqual(await lines(dest), all);
  assert.deepEqual(await readdir(join(dest, '..')), ['grown.jsonl']);
});

test('exports are streamed to disk: bytes are on disk while the server still holds the rest', async (t) => {
  const records = synopRecords(6);
  const api = await standIn(t, records);
  const { ods } = client(api);
  const dest = join(await tmp(), 'export.jsonl');
  const hold = api.holdNextExport(3);
  let seenWhileHeld = -1;
  const done = ods.exportTo(DS, 'jsonl', dest, {
    onProgress: (p) => {
      if (p.fetched >= 3 && seenWhileHeld < 0) seenWhileHeld = p.fetched;
    },
  });
  await hold.reached;
  // Wait until the client has written the first three lines to its temporary file.
  for (let i = 0; i < 100 && seenWhileHeld < 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(seenWhileHeld, 3, 'progress reported before the body ended');
  await new Promise((r) => setTimeout(r, 50));
  const part = (await readFile(`${dest}.part`, 'utf8')).split('\n').filter(Boolean);
  assert.equal(part.length, 3, 'the first lines are already on disk');
  assert.equal(existsSync(dest), false, 'the final name appears only once complete');
  hold.release();
  const got = await done;
  assert.equal(got.records, 6);
  assert.deepEqual(await lines(dest), records);
  assert.equal(existsSync(`${dest}.part`), false);
});

test('exports/csv with labels: BOM, `;`, French header; exports/json an array', async (t) => {
  const records = synopRecords(4);
  const api = await standIn(t, records);
  const { ods } = client(api);
  const dir = await tmp();
  const csv = await ods.exportTo(DS, 'csv', join(dir, 'x.csv'), { useLabels: true, select: 'numer_sta,date,t,pmer,nom' });
  assert.equal(api.requests[0]!.searchParams.get('use_labels'), 'true');
  assert.equal(api.requests[0]!.pathname.endsWith('/exports/csv'), true);
  const bytes = await readFile(csv.path);
  assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM kept as received');
  const [header, first] = bytes.subarray(3).toString('utf8').split('\r\n');
  assert.equal(header, 'ID OMM station;Date;Température;Pression au niveau mer;Nom');
  assert.equal(first, `07015;2024-01-01T00:00:00+00:00;${records[0]!.t};${records[0]!.pmer};LILLE-LESQUIN`);
  assert.equal(csv.records, null, 'no record count for CSV');
  const json = await ods.exportTo(DS, 'json', join(dir, 'x.json'));
  assert.deepEqual(JSON.parse(await readFile(json.path, 'utf8')), records);
  assert.equal(api.requests[1]!.searchParams.get('use_labels'), null, 'labels only for CSV');
});

test('retries 503 with exponential backoff and jitter, then succeeds', async (t) => {
  const api = await standIn(t, synopRecords(3));
  const { ods, waits } = client(api);
  api.failNext(2, { status: 503 });
  const page = await ods.records(DS);
  assert.equal(page.results.length, 3);
  assert.equal(api.requests.length, 3);
  // Equal jitter with random() = 0.5: three quarters of 1000 ms, then of 2000 ms.
  assert.deepEqual(waits, [750, 1500]);
});

test('jitter spreads the backoff between half and all of it', async (t) => {
  const api = await standIn(t, synopRecords(3));
  const low = client(api, { random: () => 0 });
  api.failNext(1, { status: 503 });
  await low.ods.count(DS);
  const high = client(api, { random: () => 0.999 });
  api.failNext(1, { status: 503 });
  await high.ods.count(DS);
  assert.equal(low.waits[0], 500);
  assert.ok(high.waits[0]! > 990 && high.waits[0]! < 1000, String(high.waits[0]));
});

test('429: waits until X-RateLimit-Reset (epoch seconds or HTTP date) or Retry-After', async (t) => {
  const api = await standIn(t, synopRecords(3));
  const now = Date.parse('2024-10-05T12:00:00Z');
  const { ods, waits } = client(api, { now: () => now, random: () => 0 });
  api.failNext(1, { status: 429, rateLimitReset: String(now / 1000 + 30) });
  api.failNext(1, { status: 429, rateLimitReset: new Date(now + 45_000).toUTCString() });
  assert.equal(await ods.count(DS), 3);
  assert.deepEqual(waits, [30_000, 45_000]);
  const other = client(api, { now: () => now, random: () => 0 });
  api.failNext(1, { status: 429, retryAfter: '7' });
  assert.equal(await other.ods.count(DS), 3);
  assert.deepEqual(other.waits, [7000]);
});

test('429 asking for a longer wait than allowed fails at once, with the API message', async (t) => {
  const api = await standIn(t, synopRecords(3));
  const now = Date.parse('2024-10-05T12:00:00Z');
  const { ods, waits } = client(api, { now: () => now, maxRetryWaitMs: 60_000 });
  api.failNext(1, { status: 429, rateLimitReset: String(now / 1000 + 3600) });
  await assert.rejects(ods.count(DS), (err: unknown) => {
    assert.ok(err instanceof OdsApiError);
    assert.equal(err.status, 429);
    assert.equal(err.errorCode, 'TooManyRequests');
    assert.match(err.message, /HTTP 429 TooManyRequests: Too many requests on the domain\..*wait 3600 s/);
    return true;
  });
  assert.deepEqual(waits, []);
  assert.equal(api.requests.length, 1);
});

test('retries exhausted: the last error, its status and the attempt count', async (t) => {
  const api = await standIn(t, synopRecords(3));
  const { ods, waits } = client(api);
  api.failNext(3, { status: 503 });
  await assert.rejects(ods.records(DS), (err: unknown) => {
    assert.ok(err instanceof OdsApiError);
    assert.equal(err.status, 503);
    assert.equal(err.errorCode, 'ServiceUnavailable');
    assert.match(err.message, /HTTP 503 ServiceUnavailable: .*\(after 3 attempts\)$/);
    assert.match(err.url, /\/records\?limit=100&offset=0&timezone=UTC$/);
    return true;
  });
  assert.equal(api.requests.length, 3);
  assert.equal(waits.length, 2);
});

test('4xx: no retry, OdsApiError with status, error_code, message and URL', async (t) => {
  const api = await standIn(t, synopRecords(3));
  const { ods, waits } = client(api);
  await assert.rejects(ods.records(DS, { where: 'numer_sta LIKE "07%"' }), (err: unknown) => {
    assert.ok(err instanceof OdsApiError);
    assert.equal(err.status, 400);
    assert.equal(err.errorCode, 'ODSQLError');
    assert.equal(err.apiMessage, 'Unsupported where clause: numer_sta LIKE "07%"');
    assert.ok(err.url.startsWith(`${api.url}/api/explore/v2.1/catalog/datasets/${DS}/records?`));
    assert.match(err.message, /^OpenDataSoft http:\/\/127\.0\.0\.1:\d+\/.* HTTP 400 ODSQLError: Unsupported where clause/);
    return true;
  });
  await assert.rejects(ods.count('no-such-dataset'), (err: unknown) => err instanceof OdsApiError && err.status === 404 && err.errorCode === 'DatasetNotFound');
  assert.equal(api.requests.length, 2);
  assert.deepEqual(waits, []);
});

test('a dropped connection and an export cut mid-body are retried; the file comes out whole', async (t) => {
  const records = synopRecords(300);
  const api = await standIn(t, records);
  const { ods, waits } = client(api);
  api.failNext(1, { drop: true });
  api.failNext(1, { cutExportAfter: 5000 });
  const dest = join(await tmp(), 'cut.jsonl');
  const got = await ods.exportTo(DS, 'jsonl', dest);
  assert.equal(api.requests.length, 3);
  assert.equal(waits.length, 2);
  assert.equal(got.records, 300, 'lines of the complete attempt only');
  assert.deepEqual(await lines(dest), records);
});

test('a stalled body times out and is fetched again', async (t) => {
  const records = synopRecords(6);
  const api = await standIn(t, records);
  const { ods, waits } = client(api, { timeoutMs: 200 });
  const hold = api.holdNextExport(2);
  t.after(() => hold.release());
  const dest = join(await tmp(), 'stall.jsonl');
  const got = await ods.exportTo(DS, 'jsonl', dest);
  assert.equal(api.requests.length, 2);
  assert.equal(waits.length, 1);
  assert.equal(got.records, 6);
  assert.deepEqual(await lines(dest), records);
});

test('every attempt failing leaves no file behind', async (t) => {
  const api = await standIn(t, synopRecords(30));
  const { ods } = client(api);
  api.failNext(3, { cutExportAfter: 100 });
  const dir = await tmp();
  await assert.rejects(ods.exportTo(DS, 'jsonl', join(dir, 'x.jsonl')), (err: unknown) => err instanceof OdsApiError && /after 3 attempts/.test(err.message));
  assert.deepEqual(await readdir(dir), []);
});

test('an API key goes in the Authorization header, never in the URL; a path prefix in the base is kept', async (t) => {
  const api = await standIn(t, synopRecords(3));
  const seen: Headers[] = [];
  const spy: typeof fetch = (input, init) => {
    seen.push(new Headers(init?.headers));
    return fetch(input, init);
  };
  const ods = new OdsClient({ baseUrl: `${api.url}/`, apiKey: 'k3y-secret', fetch: spy });
  assert.equal(await ods.count(DS), 3);
  assert.equal(seen[0]!.get('authorization'), 'Apikey k3y-secret');
  assert.ok(!api.requests[0]!.toString().includes('k3y-secret'));
  const prefixed = new OdsClient({ baseUrl: 'https://portal.example/sub/' });
  assert.equal(prefixed.url(DS, 'records', {}).toString(), `https://portal.example/sub/api/explore/v2.1/catalog/datasets/${DS}/records?timezone=UTC`);
});

test('a 200 that is not JSON is a clear OdsApiError, not a SyntaxError', async (t) => {
  const api = await standIn(t, synopRecords(3));
  const html: typeof fetch = async () => new Response('<html><body>Maintenance</body></html>', { status: 200, headers: { 'content-type': 'text/html' } });
  const { ods } = client(api, { fetch: html });
  await assert.rejects(
    ods.count(DS),
    (err: unknown) => err instanceof OdsApiError && err.status === 200 && /not JSON: <html><body>Maintenance/.test(err.message),
  );
});
