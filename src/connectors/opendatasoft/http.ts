import { excerpt } from '../http/errorBody.js';
import { request, type BodyHandler, type RequestFailure } from '../http/request.js';
import { retryAfterMs } from '../http/retry.js';

/**
 * One HTTP GET against an OpenDataSoft portal, retried: network errors, timeouts, 5xx and 429 wait with
 * exponential backoff and jitter (or as long as `X-RateLimit-Reset` / `Retry-After` ask) and try again, a
 * bounded number of times; any other 4xx fails at once with the API's own `error_code` and `message`.
 */

export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  attempts?: number;
  /** Delay before the second attempt, doubled for each further one (default 500 ms). */
  backoffMs?: number;
  /** Ceiling of one backoff delay (default 30 000 ms). */
  maxBackoffMs?: number;
  /** A server asking to wait longer than this fails at once rather than stalling a run (default 300 000 ms). */
  maxRetryWaitMs?: number;
  /** Time allowed without receiving anything: before the headers, then between two chunks (default 60 000 ms). */
  timeoutMs?: number;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Waits between attempts; tests record the delays. */
  sleep?: (ms: number) => Promise<void>;
  /** Source of jitter in [0, 1) (default `Math.random`). */
  random?: () => number;
  /** Clock for rate-limit reset times (default `Date.now`). */
  now?: () => number;
}

/** An OpenDataSoft request that failed: the HTTP status and the API's `error_code`/`message` when it sent them. */
export class OdsApiError extends Error {
  override name = 'OdsApiError';
  constructor(
    message: string,
    readonly url: string,
    readonly status: number | null = null,
    readonly errorCode: string | null = null,
    readonly apiMessage: string | null = null,
  ) {
    super(message);
  }
}

/** The API's words from an error body `{"error_code","message"}`, else the start of the text. */
function parseErrorBody(text: string): { errorCode: string | null; message: string | null } {
  try {
    const doc = JSON.parse(text) as unknown;
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
      const { error_code: code, message } = doc as { error_code?: unknown; message?: unknown };
      return { errorCode: typeof code === 'string' ? code : null, message: typeof message === 'string' ? message : null };
    }
  } catch {
    // not JSON: the text itself is the message
  }
  return { errorCode: null, message: excerpt(text) || null };
}

/**
 * A wait the server asks for, in ms: `X-RateLimit-Reset` (epoch seconds or an HTTP date) and `Retry-After`
 * (delta seconds or an HTTP date); the longer wins. Null when neither says anything usable.
 */
function serverWaitMs(headers: Headers, now: number): number | null {
  const waits: number[] = [];
  const reset = headers.get('x-ratelimit-reset')?.trim();
  if (reset) {
    if (/^\d+(\.\d+)?$/.test(reset)) {
      const n = Number(reset);
      // Epoch seconds are what the header carries; a small number can only be a delay in seconds.
      waits.push(n > 1e12 ? n - now : n > 1e9 ? n * 1000 - now : n * 1000);
    } else {
      const at = Date.parse(reset);
      if (!Number.isNaN(at)) waits.push(at - now);
    }
  }
  const retryAfter = retryAfterMs(headers.get('retry-after'), now);
  if (retryAfter !== null) waits.push(retryAfter);
  return waits.length === 0 ? null : Math.max(0, ...waits);
}

/**
 * GETs `url` and hands a 200 response to `onBody`, retrying as described above. `shown` is the URL used in
 * messages (the same URL: ecluse puts no secret in OpenDataSoft URLs, an API key goes in a header).
 */
export async function getWithRetry<T>(
  url: URL,
  headers: Record<string, string>,
  onBody: BodyHandler<T>,
  opts: RetryOptions & { signal?: AbortSignal },
): Promise<T> {
  const shown = url.toString();
  const backoff = opts.backoffMs ?? 500;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const maxWait = opts.maxRetryWaitMs ?? 300_000;
  const random = opts.random ?? Math.random;
  return request(url, {
    headers,
    fetch: opts.fetch,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? 60_000,
    idleTimeout: true,
    acceptStatus: (status) => status === 200,
    serverWaitMs,
    now: opts.now,
    attempts: opts.attempts ?? 5,
    // Exponential backoff with "equal jitter": half fixed, half random, so clients that failed together
    // do not come back together; a server-given wait is a floor.
    delayMs: (i, waitMs) => {
      const exp = Math.min(maxBackoff, backoff * 2 ** i);
      const jittered = exp / 2 + random() * (exp / 2);
      return waitMs !== null ? Math.max(waitMs, 0) + random() * Math.min(1000, backoff) : jittered;
    },
    maxServerWaitMs: maxWait,
    waitTooLong: (e, waitMs) =>
      new OdsApiError(
        `${e.message} (the server asks to wait ${Math.ceil(waitMs / 1000)} s, more than the ${Math.ceil(maxWait / 1000)} s allowed)`,
        shown,
        e.status,
        e.errorCode,
        e.apiMessage,
      ),
    exhausted: (e, attempts) => new OdsApiError(`${e.message} (after ${attempts} attempts)`, shown, e.status, e.errorCode, e.apiMessage),
    sleep: opts.sleep,
    error: odsError,
    onBody,
  });
}

function odsError(failure: RequestFailure, shown: string): OdsApiError {
  if (failure.kind === 'status') {
    const body = parseErrorBody(failure.body);
    const what = [body.errorCode, body.message].filter(Boolean).join(': ');
    return new OdsApiError(`OpenDataSoft ${shown}: HTTP ${failure.status}${what ? ` ${what}` : ''}`, shown, failure.status, body.errorCode, body.message);
  }
  const why = failure.timedOut ? (failure.during === 'headers' ? 'no answer in time' : 'the body stalled') : failure.why;
  return new OdsApiError(`OpenDataSoft ${shown}: ${why}`, shown, failure.status);
}
