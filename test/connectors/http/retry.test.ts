import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeNetworkError, isRetryableStatus, retry, retryAfterMs, type Attempt, type RetryPolicy } from '../../../src/connectors/http/retry.js';

class Failed extends Error {}

/** Attempts that answer from a script, one entry per call; records the waits asked of `sleep`. */
function scripted<T>(outcomes: Array<Attempt<T, Failed> | Error>, extra: Partial<RetryPolicy<Failed>> = {}) {
  let calls = 0;
  const waits: number[] = [];
  const attempt = async (): Promise<Attempt<T, Failed>> => {
    const o = outcomes[calls++];
    if (o === undefined) throw new Error('more attempts than scripted');
    if (o instanceof Error) throw o;
    return o;
  };
  const policy: RetryPolicy<Failed> = {
    attempts: 3,
    delayMs: (i, waitMs) => waitMs ?? 100 * 2 ** i,
    maxServerWaitMs: 5000,
    waitTooLong: (last, waitMs) => new Error(`${last.message}: wait ${waitMs}`),
    exhausted: (last, attempts) => new Error(`${last.message} (after ${attempts})`),
    sleep: async (ms) => void waits.push(ms),
    ...extra,
  };
  return { run: () => retry(attempt, policy), waits, calls: () => calls };
}

const fail = (message: string, waitMs: number | null = null): Attempt<never, Failed> => ({ ok: false, error: new Failed(message), waitMs });

test('retries failed attempts with the policy delays, then returns the value', async () => {
  const s = scripted([fail('a'), fail('b', 2000), { ok: true, value: 42 }]);
  assert.equal(await s.run(), 42);
  assert.deepEqual(s.waits, [100, 2000]);
});

test('every attempt failing: the exhausted error names the last failure; no wait after the last attempt', async () => {
  const s = scripted([fail('a'), fail('b'), fail('c')]);
  await assert.rejects(s.run(), /^Error: c \(after 3\)$/);
  assert.deepEqual(s.waits, [100, 200]);
});

test('a server wait over the limit fails at once; one at the limit is waited for', async () => {
  const over = scripted([fail('busy', 5001), { ok: true, value: 1 }]);
  await assert.rejects(over.run(), /^Error: busy: wait 5001$/);
  assert.equal(over.calls(), 1);
  const at = scripted([fail('busy', 5000), { ok: true, value: 1 }]);
  assert.equal(await at.run(), 1);
  assert.deepEqual(at.waits, [5000]);
});

test('an attempt that throws is not retried; attempts below 1 still make one', async () => {
  const thrown = scripted([new Error('401'), { ok: true, value: 1 }]);
  await assert.rejects(thrown.run(), /401/);
  assert.equal(thrown.calls(), 1);
  const zero = scripted([fail('a')], { attempts: 0 });
  await assert.rejects(zero.run(), /a \(after 1\)/);
});

test('the default sleep is cut short by the abort signal', async () => {
  const ctl = new AbortController();
  const s = scripted([fail('a'), { ok: true, value: 1 }], { sleep: undefined, signal: ctl.signal, delayMs: () => 60_000 });
  const started = Date.now();
  setTimeout(() => ctl.abort(), 20);
  await assert.rejects(s.run(), { name: 'AbortError' });
  assert.ok(Date.now() - started < 5000);
  assert.equal(s.calls(), 1);
});

test('retryable statuses: 429 and 5xx only', () => {
  assert.deepEqual([200, 400, 401, 404, 428, 429, 500, 503].map(isRetryableStatus), [false, false, false, false, false, true, true, true]);
});

test('Retry-After: delta seconds, an HTTP date (a past one is 0), nothing usable is null', () => {
  const now = Date.parse('2024-10-05T12:00:00Z');
  assert.equal(retryAfterMs(' 7 ', now), 7000);
  assert.equal(retryAfterMs('Sat, 05 Oct 2024 12:00:30 GMT', now), 30_000);
  assert.equal(retryAfterMs('Sat, 05 Oct 2024 11:00:00 GMT', now), 0);
  assert.equal(retryAfterMs('soon', now), null);
  assert.equal(retryAfterMs('  ', now), null);
  assert.equal(retryAfterMs(null, now), null);
});

test("a network error in words: undici's cause code after its message", () => {
  const err = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  assert.equal(describeNetworkError(err), 'fetch failed: ECONNREFUSED');
  assert.equal(describeNetworkError(new Error('terminated')), 'terminated');
  assert.equal(describeNetworkError('boom'), 'boom');
});
