import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchInfoclimatDay, infoclimatDayUrl, InfoclimatApiError } from '../../../src/connectors/infoclimat/api.js';
import { dayResponse } from '../../fixtures/infoclimat.js';

const TOKEN = 's3cr3t-T0ken/with+chars';

interface StandIn {
  url: string;
  requests: URL[];
  close(): Promise<void>;
}

/**
 * A loopback stand-in for the InfoClimat open-data API. `reply` gets the request number (0-based) and the
 * parsed URL; by default it answers like the real API for the requested day.
 */
async function infoclimatStandIn(
  reply: (n: number, url: URL, req: IncomingMessage, res: ServerResponse) => void = (_n, url, _req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(dayResponse(url.searchParams.get('start') ?? '2024-10-05')));
  },
): Promise<StandIn> {
  const requests: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url);
    reply(requests.length - 1, url, req, res);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/opendata/`,
    requests,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

async function dest(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'ecluse-icapi-')), 'day.json');
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function assertNoToken(err: unknown): true {
  assert.ok(err instanceof InfoclimatApiError, `expected an InfoclimatApiError, got ${String(err)}`);
  for (const form of [TOKEN, encodeURIComponent(TOKEN)]) {
    assert.ok(!err.message.includes(form), `token in message: ${err.message}`);
    assert.ok(!err.url.includes(form), `token in url: ${err.url}`);
  }
  return true;
}

test('fetches a day: the query the API expects, the body saved unchanged, the token redacted', async (t) => {
  const api = await infoclimatStandIn();
  t.after(() => api.close());
  const path = await dest();
  const got = await fetchInfoclimatDay({ baseUrl: api.url, token: TOKEN, stations: ['00052', '07015'], day: '2024-10-05', dest: path });
  assert.equal(api.requests.length, 1);
  const q = api.requests[0]!.searchParams;
  assert.equal(api.requests[0]!.pathname, '/opendata/');
  assert.equal(q.get('method'), 'get');
  assert.equal(q.get('format'), 'json');
  assert.deepEqual(q.getAll('stations[]'), ['00052', '07015']);
  assert.equal(q.get('start'), '2024-10-05');
  assert.equal(q.get('end'), '2024-10-05');
  assert.equal(q.get('token'), TOKEN);
  const saved = await readFile(path, 'utf8');
  assert.equal(saved, JSON.stringify(dayResponse('2024-10-05')));
  assert.equal(got.bytes, (await stat(path)).size);
  assert.equal(got.path, path);
  assert.ok(!got.url.includes(TOKEN) && !got.url.includes(encodeURIComponent(TOKEN)));
  assert.match(got.url, /[?&]token=\*\*\*(&|$)/);
  assert.match(got.url, /stations\[\]=00052&stations\[\]=07015/);
});

test('the URL keeps parameters of the base URL and the documented stations[] spelling', () => {
  const url = infoclimatDayUrl('https://example.org/opendata/?lang=fr', ['000R5'], '2024-10-05', 'a&b');
  assert.equal(url.toString(), 'https://example.org/opendata/?lang=fr&method=get&format=json&stations[]=000R5&start=2024-10-05&end=2024-10-05&token=a%26b');
});

test('a 503 is retried with exponential backoff, then succeeds', async (t) => {
  const api = await infoclimatStandIn((n, url, _req, res) => {
    if (n < 2) return json(res, 503, { status: 'KO', errors: ['maintenance'] });
    json(res, 200, dayResponse(url.searchParams.get('start')!));
  });
  t.after(() => api.close());
  const waits: number[] = [];
  const path = await dest();
  const got = await fetchInfoclimatDay({
    baseUrl: api.url,
    token: TOKEN,
    stations: ['07015'],
    day: '2024-10-05',
    dest: path,
    backoffMs: 50,
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  assert.equal(api.requests.length, 3);
  assert.deepEqual(waits, [50, 100]);
  assert.equal(JSON.parse(await readFile(got.path, 'utf8')).status, 'OK');
});

test('real waits: a 503 then success with the default sleep', async (t) => {
  const api = await infoclimatStandIn((n, url, _req, res) => (n === 0 ? json(res, 503, {}) : json(res, 200, dayResponse(url.searchParams.get('start')!))));
  t.after(() => api.close());
  const started = Date.now();
  await fetchInfoclimatDay({ baseUrl: api.url, token: TOKEN, stations: ['07015'], day: '2024-10-05', dest: await dest(), backoffMs: 80 });
  assert.equal(api.requests.length, 2);
  assert.ok(Date.now() - started >= 75, 'waited the backoff');
});

test('a 429 waits for Retry-After (seconds or HTTP date)', async (t) => {
  const api = await infoclimatStandIn((n, url, _req, res) => {
    if (n === 0) return json(res, 429, { errors: ['too many requests'] }, { 'retry-after': '2' });
    if (n === 1) return json(res, 429, {}, { 'retry-after': new Date(Date.now() + 30_000).toUTCString() });
    json(res, 200, dayResponse(url.searchParams.get('start')!));
  });
  t.after(() => api.close());
  const waits: number[] = [];
  await fetchInfoclimatDay({
    baseUrl: api.url,
    token: TOKEN,
    stations: ['07015'],
    day: '2024-10-05',
    dest: await dest(),
    sleep: async (ms) => {
      waits.push(ms);
    },
  });
  assert.equal(api.requests.length, 3);
  assert.equal(waits[0], 2000);
  assert.ok(waits[1]! > 25_000 && waits[1]! <= 30_000, `HTTP-date Retry-After gave ${waits[1]}`);
});

test('a Retry-After beyond the limit fails at once instead of stalling the run', async (t) => {
  const api = await infoclimatStandIn((_n, _url, _req, res) => json(res, 429, {}, { 'retry-after': '3600' }));
  t.after(() => api.close());
  await assert.rejects(
    fetchInfoclimatDay({ baseUrl: api.url, token: TOKEN, stations: ['07015'], day: '2024-10-05', dest: await dest(), sleep: async () => {} }),
    (err: unknown) => assertNoToken(err) && /HTTP 429.*retry after 3600 s/.test((err as Error).message),
  );
  assert.equal(api.requests.length, 1);
});

test('5xx on every attempt: gives up after 3 attempts with the last status', async (t) => {
  const api = await infoclimatStandIn((_n, _url, _req, res) => json(res, 502, { message: 'bad gateway' }));
  t.after(() => api.close());
  await assert.rejects(
    fetchInfoclimatDay({ baseUrl: api.url, token: TOKEN, stations: ['07015'], day: '2024-10-05', dest: await dest(), sleep: async () => {} }),
    (err: unknown) =>
      assertNoToken(err) && (err as InfoclimatApiError).status === 502 && /HTTP 502: bad gateway \(after 3 attempts\)/.test((err as Error).message),
  );
  assert.equal(api.requests.length, 3);
});

test('401: "InfoClimat rejected the token", at once, the token nowhere in the message even if echoed', async (t) => {
  const api = await infoclimatStandIn((_n, url, _req, res) => json(res, 401, { status: 'KO', errors: [`invalid token ${url.searchParams.get('token')}`] }));
  t.after(() => api.close());
  const path = await dest();
  await assert.rejects(
    fetchInfoclimatDay({ baseUrl: api.url, token: TOKEN, stations: ['07015'], day: '2024-10-05', dest: path, sleep: async () => {} }),
    (err: unknown) => {
      assertNoToken(err);
      assert.match(
        (err as Error).message,
        /^InfoClimat rejected the token \(HTTP 401\) for http:\/\/127\.0\.0\.1:\d+\/opendata\/\?.*token=\*\*\*: invalid token \*\*\*$/,
      );
      return true;
    },
  );
  assert.equal(api.requests.length, 1);
  assert.equal(existsSync(path), false);
});

test('another 4xx fails at once with the API message', async (t) => {
  const api = await infoclimatStandIn((_n, _url, _req, res) => json(res, 400, { status: 'KO', errors: ['unknown station ZZZ'] }));
  t.after(() => api.close());
  await assert.rejects(
    fetchInfoclimatDay({ baseUrl: api.url, token: TOKEN, stations: ['ZZZ'], day: '2024-10-05', dest: await dest(), sleep: async () => {} }),
    (err: unknown) => assertNoToken(err) && /HTTP 400: unknown station ZZZ$/.test((err as Error).message),
  );
  assert.equal(api.requests.length, 1);
});

test('a 200 whose body is not OK is an error naming the URL and the API message; nothing is left at dest', async (t) => {
  const api = await infoclimatStandIn((_n, url, _req, res) =>
    json(res, 200, { status: 'KO', errors: [`Quota dépassé pour ${url.searchParams.get('token')}`], data: [] }),
  );
  t.after(() => api.close());
  const path = await dest();
  await assert.rejects(
    fetchInfoclimatDay({ baseUrl: api.url, token: TOKEN, stations: ['07015'], day: '2024-10-05', dest: path }),
    (err: unknown) =>
      assertNoToken(err) &&
      /^InfoClimat http:\/\/127\.0\.0\.1:\d+\/opendata\/\?.*: the API answered with an error: Quota dépassé pour \*\*\*$/.test((err as Error).message),
  );
  assert.equal(api.requests.length, 1, 'an error body is not retried');
  assert.equal(existsSync(path), false);
});

test('status OK with non-empty errors, and a body that is not JSON, are errors too', async (t) => {
  const api = await infoclimatStandIn((n, _url, _req, res) => {
    if (n === 0) return json(res, 200, { ...dayResponse(), errors: ['station 000R5 inconnue'] });
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>Maintenance en cours</body></html>');
  });
  t.after(() => api.close());
  const opts = { baseUrl: api.url, token: TOKEN, stations: ['07015'], day: '2024-10-05' };
  await assert.rejects(fetchInfoclimatDay({ ...opts, dest: await dest() }), /the API answered with an error: station 000R5 inconnue/);
  await assert.rejects(fetchInfoclimatDay({ ...opts, dest: await dest() }), /the response is not JSON: <html><body>Maintenance en cours/);
});

test('network errors are retried, then reported without the token', async (t) => {
  const api = await infoclimatStandIn();
  const deadUrl = api.url;
  await api.close();
  const waits: number[] = [];
  await assert.rejects(
    fetchInfoclimatDay({
      baseUrl: deadUrl,
      token: TOKEN,
      stations: ['07015'],
      day: '2024-10-05',
      dest: await dest(),
      backoffMs: 10,
      sleep: async (ms) => {
        waits.push(ms);
      },
    }),
    (err: unknown) => assertNoToken(err) && /ECONNREFUSED.*\(after 3 attempts\)/.test((err as Error).message),
  );
  assert.deepEqual(waits, [10, 20]);
  t.diagnostic('connection refused retried twice');
});

test('a server that never answers times out per attempt', async (t) => {
  const api = await infoclimatStandIn(() => {
    // never answers
  });
  t.after(() => api.close());
  await assert.rejects(
    fetchInfoclimatDay({
      baseUrl: api.url,
      token: TOKEN,
      stations: ['07015'],
      day: '2024-10-05',
      dest: await dest(),
      timeoutMs: 150,
      attempts: 2,
      sleep: async () => {},
    }),
    (err: unknown) => assertNoToken(err) && /no complete answer in time \(after 2 attempts\)/.test((err as Error).message),
  );
  assert.equal(api.requests.length, 2);
});

test('a body cut off mid-way is retried', async (t) => {
  const api = await infoclimatStandIn((n, url, _req, res) => {
    if (n === 0) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
      res.write('{"status":"OK","errors":[],');
      setTimeout(() => res.destroy(), 20);
      return;
    }
    json(res, 200, dayResponse(url.searchParams.get('start')!));
  });
  t.after(() => api.close());
  const got = await fetchInfoclimatDay({ baseUrl: api.url, token: TOKEN, stations: ['07015'], day: '2024-10-05', dest: await dest(), sleep: async () => {} });
  assert.equal(api.requests.length, 2);
  assert.deepEqual(JSON.parse(await readFile(got.path, 'utf8')), dayResponse('2024-10-05'));
});

test('a large response is streamed to disk whole', async (t) => {
  // ~8 MB: many copies of a day's hourly rows.
  const doc = dayResponse('2024-10-05') as { hourly: Record<string, unknown[]> };
  const rows = doc.hourly['07015']!;
  doc.hourly['07015'] = Array.from({ length: 40_000 }, (_, i) => rows[i % rows.length]);
  const body = JSON.stringify(doc);
  const api = await infoclimatStandIn((_n, _url, _req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  t.after(() => api.close());
  const got = await fetchInfoclimatDay({ baseUrl: api.url, token: TOKEN, stations: ['07015'], day: '2024-10-05', dest: await dest() });
  assert.equal(got.bytes, Buffer.byteLength(body));
  assert.equal((await stat(got.path)).size, got.bytes);
});

test('bad arguments are refused before any request', async () => {
  const base = { baseUrl: 'http://127.0.0.1:9/', token: TOKEN, stations: ['07015'], dest: '/nonexistent/x.json' };
  await assert.rejects(fetchInfoclimatDay({ ...base, day: '2024-02-30' }), /invalid day "2024-02-30"/);
  await assert.rejects(fetchInfoclimatDay({ ...base, day: '05/10/2024' }), /invalid day/);
  await assert.rejects(fetchInfoclimatDay({ ...base, day: '2024-10-05', stations: [] }), /no station/);
});
