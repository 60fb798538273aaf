import { readSome } from './errorBody.js';
import { describeNetworkError, isRetryableStatus, retry, retryAfterMs, type RetryPolicy } from './retry.js';

/**
 * The one GET the HTTP connectors make: a timeout, retries on network errors, timeouts, 429, 5xx and a body
 * cut off mid-way, a wait the server asks for honoured up to a cap, the error body handed over for the
 * message, and secrets (tokens in URLs) scrubbed from everything said. Each connector passes what differs:
 * its backoff, how long a server may make it wait, and its errors' wording.
 */

/** What went wrong in one attempt; every text in it is already scrubbed of the secrets. */
export type RequestFailure =
  /** No answer, a connection that failed, or a body that broke off: worth another attempt. */
  | { kind: 'network'; during: 'headers' | 'body'; timedOut: boolean; why: string; status: number | null }
  /** An answer with a status refused: `body` is the start of what the server said. */
  | { kind: 'status'; status: number; body: string; retryable: boolean };

/** Reads a response with an accepted status; `touch` tells an idle timeout that data came. */
export type BodyHandler<T> = (res: Response, touch: () => void, signal: AbortSignal) => Promise<T>;

export interface RequestOptions<T, E extends Error> extends Pick<
  RetryPolicy<E>,
  'attempts' | 'delayMs' | 'maxServerWaitMs' | 'waitTooLong' | 'exhausted' | 'sleep'
> {
  headers?: Record<string, string>;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  signal?: AbortSignal;
  timeoutMs: number;
  /** Whether the timeout restarts whenever data comes (headers, then each `touch`), or covers the attempt whole. */
  idleTimeout: boolean;
  /** The wait a refused answer asks for, in ms (default: its `Retry-After`). */
  serverWaitMs?: (headers: Headers, now: number) => number | null;
  /** Clock for server waits given as dates (default `Date.now`). */
  now?: () => number;
  /** Texts never to appear in a message (raw and percent-encoded): tokens carried in the URL. */
  secrets?: readonly string[];
  /** The statuses handed to `onBody` (default 2xx); others fail, at once unless 429 or 5xx. */
  acceptStatus?: (status: number) => boolean;
  /** The connector's error for a failed attempt; `shown` is the URL scrubbed of the secrets. */
  error: (failure: RequestFailure, shown: string) => E;
  onBody: BodyHandler<T>;
}

/** Replaces every occurrence of each secret (raw or percent-encoded) in a text by `***`. */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    for (const form of new Set([secret, encodeURIComponent(secret)])) if (form) out = out.split(form).join('***');
  }
  return out;
}

/** An abort signal that fires `ms` after the last `touch()` (after the start when `idle` is false). */
function timeoutSignal(ms: number, idle: boolean, outer?: AbortSignal) {
  const ctl = new AbortController();
  let fired = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      fired = true;
      ctl.abort(new Error(`no data for ${ms} ms`));
    }, ms);
    timer.unref();
  };
  arm();
  const signal = outer ? AbortSignal.any([outer, ctl.signal]) : ctl.signal;
  return { signal, touch: idle ? arm : () => {}, timedOut: () => fired, stop: () => clearTimeout(timer) };
}

/** Errors of a body cut off mid-way, as undici and Node streams report them. */
function isNetworkError(err: unknown): boolean {
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code ?? '';
  return (
    e?.name === 'AbortError' ||
    /^(ECONNRESET|EPIPE|ETIMEDOUT|UND_ERR_|ERR_STREAM_PREMATURE_CLOSE)/.test(code) ||
    (e?.name === 'TypeError' && /terminated|fetch failed/.test(String((err as Error).message)))
  );
}

/** GETs `url` and answers what `onBody` makes of the response, retrying as described above. */
export async function request<T, E extends Error>(url: URL, opts: RequestOptions<T, E>): Promise<T> {
  const secrets = opts.secrets ?? [];
  const shown = scrub(url.toString(), secrets);
  try {
    return await retry(() => attempt(url, shown, opts), {
      attempts: opts.attempts,
      delayMs: opts.delayMs,
      maxServerWaitMs: opts.maxServerWaitMs,
      waitTooLong: opts.waitTooLong,
      exhausted: opts.exhausted,
      sleep: opts.sleep,
      signal: opts.signal,
    });
  } catch (err) {
    // A secret a server echoed in a form the scrubbing of its texts missed (escaped in JSON) is not repeated.
    if (err instanceof Error && secrets.length > 0) {
      const clean = scrub(err.message, secrets);
      if (clean !== err.message) {
        err.stack = err.stack?.split(err.message).join(clean);
        err.message = clean;
      }
    }
    throw err;
  }
}

async function attempt<T, E extends Error>(url: URL, shown: string, opts: RequestOptions<T, E>) {
  const secrets = opts.secrets ?? [];
  const fetchImpl = opts.fetch ?? fetch;
  const timeout = timeoutSignal(opts.timeoutMs, opts.idleTimeout, opts.signal);
  const network = (during: 'headers' | 'body', err: unknown, status: number | null) => ({
    ok: false as const,
    error: opts.error({ kind: 'network', during, timedOut: timeout.timedOut(), why: scrub(describeNetworkError(err), secrets), status }, shown),
    waitMs: null,
  });
  try {
    let res: Response;
    try {
      res = await fetchImpl(url, { signal: timeout.signal, headers: opts.headers });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      return network('headers', err, null);
    }
    timeout.touch();
    if (!(opts.acceptStatus ?? ((s: number) => s >= 200 && s < 300))(res.status)) {
      const retryable = isRetryableStatus(res.status);
      const error = opts.error({ kind: 'status', status: res.status, body: scrub(await readSome(res), secrets), retryable }, shown);
      if (!retryable) throw error;
      const waitMs = (opts.serverWaitMs ?? ((h, now) => retryAfterMs(h.get('retry-after'), now)))(res.headers, (opts.now ?? Date.now)());
      return { ok: false as const, error, waitMs };
    }
    try {
      return { ok: true as const, value: await opts.onBody(res, timeout.touch, timeout.signal) };
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if (timeout.timedOut() || isNetworkError(err)) return network('body', err, res.status);
      throw err;
    }
  } finally {
    timeout.stop();
  }
}
