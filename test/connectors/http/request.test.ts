import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request, scrub, type RequestFailure, type RequestOptions } from '../../../src/connectors/http/request.js';

const SECRET = 'k3y/with+chars';

/** A loopback server answering request `n` (0-based) with `reply`. */
async function standIn(reply: (n: number, req: IncomingMessage, res: ServerResponse) => void) {
  let n = 0;
  const server = createServer((req, res) => reply(n++, req, res));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/data?token=${encodeURIComponent(SECRET)}`),
    requests: () => n,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

class Failed extends Error {
  constructor(
    readonly failure: RequestFailure,
    message: string,
  ) {
    super(message);
  }
}

function options(extra: Partial<RequestOptions<string, Failed>> = {}) {
  const waits: number[] = [];
  const opts: RequestOptions<string, Failed> = {
    timeoutMs: 1000,
    idleTimeout: true,
    secrets: [SECRET],
    attempts: 3,
    delayMs: (i, waitMs) => waitMs ?? 10 * 2 ** i,
    maxServerWaitMs: 5000,
    waitTooLong: (last, waitMs) => new Error(`${last.message} (wait ${waitMs} ms)`),
    exhausted: (last, attempts) => new Error(`${last.message} (after ${attempts} attempts)`),
    sleep: async (ms) => void waits.push(ms),
    // Says everything it is given, the body parsed as JSON when it is: a secret the server escaped comes back decoded.
    error: (failure, shown) => {
      let said = failure.kind === 'status' ? failure.body : failure.why;
      try {
        said = (JSON.parse(said) as { message?: string }).message ?? said;
      } catch {
        // not JSON: said as it is
      }
      return new Failed(failure, `${shown}: ${failure.kind} ${failure.kind === 'status' ? failure.status : failure.during} ${said}`);
    },
    onBody: (res, touch) => readAll(res, touch),
    ...extra,
  };
  return { opts, waits };
}

async function readAll(res: Response, touch: () => void): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    touch();
    text += decoder.decode(chunk, { stream: true });
  }
  return text;
}

test('scrub replaces a secret in its raw and percent-encoded forms', () => {
  assert.equal(scrub(`a ${SECRET} b ${encodeURIComponent(SECRET)}`, [SECRET]), 'a *** b ***');
  assert.equal(scrub('nothing', []), 'nothing');
});

test('retries a body cut off mid-way, and 5xx, then answers the whole body', async (t) => {
  const api = await standIn((n, _req, res) => {
    if (n === 0) {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.destroy(), 20);
    } else if (n === 1) {
      res.writeHead(503);
      res.end('busy');
    } else res.end('whole');
  });
  t.after(() => api.close());
  const { opts, waits } = options();
  assert.equal(await request(api.url, opts), 'whole');
  assert.equal(api.requests(), 3);
  assert.deepEqual(waits, [10, 20]);
});

test('Retry-After is waited for up to the cap; beyond it the request fails at once', async (t) => {
  const api = await standIn((n, _req, res) => {
    if (n === 0) res.writeHead(429, { 'retry-after': '2' }).end();
    else if (n === 1) res.writeHead(429, { 'retry-after': '3600' }).end();
    else res.end('never');
  });
  t.after(() => api.close());
  const { opts, waits } = options();
  await assert.rejects(request(api.url, opts), /status 429 .*\(wait 3600000 ms\)$/);
  assert.deepEqual(waits, [2000]);
  assert.equal(api.requests(), 2);
});

test('a refused status other than 429/5xx fails at once, its body in the message, the secret nowhere even when echoed escaped', async (t) => {
  const api = await standIn((_n, _req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' });
    // JSON may escape '/': the raw body does not hold the secret as such, the parsed message does.
    res.end(`{"message":"unknown token ${SECRET.replace('/', '\\/')}"}`);
  });
  t.after(() => api.close());
  const { opts } = options();
  await assert.rejects(request(api.url, opts), (err: Error) => {
    assert.ok(err instanceof Failed);
    assert.match(err.message, /status 401 unknown token \*\*\*$/);
    assert.ok(!err.message.includes(SECRET) && !err.message.includes(encodeURIComponent(SECRET)), err.message);
    assert.ok(!err.stack?.includes(SECRET), 'nor in the stack');
    return true;
  });
  assert.equal(api.requests(), 1);
});

test('network errors are retried and said without the secret', async () => {
  const api = await standIn(() => {});
  const url = api.url;
  await api.close();
  const { opts } = options();
  await assert.rejects(request(url, opts), (err: Error) => {
    assert.match(err.message, /headers .*ECONNREFUSED.*\(after 3 attempts\)$/);
    assert.ok(!err.message.includes(encodeURIComponent(SECRET)) && err.message.includes('token=***'), err.message);
    return true;
  });
});

test('an idle timeout restarts with each chunk; a whole-attempt timeout does not', async (t) => {
  const api = await standIn((_n, _req, res) => {
    res.writeHead(200);
    let i = 0;
    const tick = setInterval(() => {
      if (++i === 6) {
        clearInterval(tick);
        res.end('.');
      } else res.write('.');
    }, 40);
    res.on('close', () => clearInterval(tick));
  });
  t.after(() => api.close());
  assert.equal(await request(api.url, options({ timeoutMs: 150, idleTimeout: true }).opts), '......');
  // The body outlasts the timeout: the attempt fails while reading it (our timer's reason is the cause).
  await assert.rejects(
    request(api.url, options({ timeoutMs: 150, idleTimeout: false, attempts: 1 }).opts),
    /: network body no data for 150 ms \(after 1 attempts\)$/,
  );
});
