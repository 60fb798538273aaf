import { createWriteStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { excerpt } from '../http/errorBody.js';
import { request, scrub, type RequestFailure } from '../http/request.js';

/**
 * The InfoClimat open-data API (`{status, errors, stations, metadata, hourly}`, docs/pipelines/stations.md):
 * one day of the given stations, saved unchanged as the response JSON. The token is a secret: it appears in no message, no error and no returned URL.
 */

export interface FetchInfoclimatDayOptions {
  /** Base URL, e.g. `https://www.infoclimat.fr/opendata/`. */
  baseUrl: string;
  token: string;
  /** InfoClimat station ids (`00052`, `07015`, …). */
  stations: readonly string[];
  /** The day to fetch, `YYYY-MM-DD` (used as both `start` and `end`). */
  day: string;
  /** Local file the response body is written to. */
  dest: string;
  /** Defaults to the global `fetch`. */
  fetchImpl?: typeof fetch;
  /** Attempts in all, the first included (default 3). */
  attempts?: number;
  /** Delay before the second attempt, doubled for each further one (default 1000 ms). */
  backoffMs?: number;
  /** Time allowed per attempt, body download included (default 60 000 ms). */
  timeoutMs?: number;
  /** A `Retry-After` asking for longer than this fails at once rather than stalling the run (default 120 000 ms). */
  maxRetryAfterMs?: number;
  signal?: AbortSignal;
  /** Waits between attempts (tests may record the delays). */
  sleep?: (ms: number) => Promise<void>;
}

export interface InfoclimatDay {
  path: string;
  /** The URL fetched, with the token replaced by `***`. */
  url: string;
  bytes: number;
}

/** An InfoClimat request that failed; `url` never holds the token. */
export class InfoclimatApiError extends Error {
  override name = 'InfoclimatApiError';
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

function assertDay(day: string): void {
  const m = DAY.exec(day);
  const ok = m !== null && new Date(`${day}T00:00:00Z`).toISOString().startsWith(day);
  if (!ok) throw new Error(`InfoClimat: invalid day ${JSON.stringify(day)}; expected an existing YYYY-MM-DD`);
}

/**
 * The request URL. Keys are written `stations[]` as the API documents them (brackets are legal in a query
 * string); values are percent-encoded. Parameters already in the base URL are kept.
 */
export function infoclimatDayUrl(baseUrl: string, stations: readonly string[], day: string, token: string): URL {
  const url = new URL(baseUrl);
  const q = (k: string, v: string) => `${k}=${encodeURIComponent(v)}`;
  const parts = [q('method', 'get'), q('format', 'json'), ...stations.map((s) => q('stations[]', s)), q('start', day), q('end', day), q('token', token)];
  const existing = url.search.replace(/^\?/, '');
  url.search = (existing ? [existing, ...parts] : parts).join('&');
  return url;
}

/** The API's own words from an error body: its `errors` list, or the start of the text. */
function apiMessage(text: string): string {
  try {
    const doc = JSON.parse(text) as unknown;
    if (doc && typeof doc === 'object') {
      const errors = (doc as { errors?: unknown }).errors;
      if (Array.isArray(errors) && errors.length > 0) return errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('; ');
      const message = (doc as { message?: unknown }).message;
      if (typeof message === 'string') return message;
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return excerpt(text);
}

/**
 * Checks the saved response: JSON, `status: "OK"`, no `errors`. The download is streamed to disk; this
 * check reads the file back once, which is fine for a day's response (a few MB for a hundred stations).
 */
async function checkResponse(path: string, url: string, token: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InfoclimatApiError(`InfoClimat ${url}: the response is not JSON: ${scrub(apiMessage(text), [token])}`, url);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new InfoclimatApiError(`InfoClimat ${url}: the response is not a JSON object`, url);
  }
  const { status, errors } = doc as { status?: unknown; errors?: unknown };
  const hasErrors = Array.isArray(errors) ? errors.length > 0 : errors !== undefined && errors !== null;
  if (status !== 'OK' || hasErrors) {
    const why = hasErrors ? apiMessage(JSON.stringify({ errors: Array.isArray(errors) ? errors : [errors] })) : `status ${JSON.stringify(status ?? null)}`;
    throw new InfoclimatApiError(`InfoClimat ${url}: the API answered with an error: ${scrub(why, [token])}`, url);
  }
}

/** Streams a 200 response to `dest`, answering the byte count; a body cut off leaves no file behind. */
async function saveBody(res: Response, dest: string, shown: string): Promise<number> {
  if (!res.body) throw new InfoclimatApiError(`InfoClimat ${shown}: empty response`, shown, res.status);
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), count, createWriteStream(dest));
  } catch (err) {
    await rm(dest, { force: true });
    throw err;
  }
  return bytes;
}

function infoclimatError(failure: RequestFailure, shown: string): InfoclimatApiError {
  if (failure.kind === 'network') {
    if (failure.timedOut) return new InfoclimatApiError(`InfoClimat ${shown}: no complete answer in time`, shown);
    return new InfoclimatApiError(`InfoClimat ${shown}: ${failure.why}`, shown);
  }
  const body = apiMessage(failure.body);
  if (failure.status === 401 || failure.status === 403) {
    return new InfoclimatApiError(`InfoClimat rejected the token (HTTP ${failure.status}) for ${shown}${body ? `: ${body}` : ''}`, shown, failure.status);
  }
  return new InfoclimatApiError(`InfoClimat ${shown}: HTTP ${failure.status}${body ? `: ${body}` : ''}`, shown, failure.status);
}

/**
 * Fetches one day of `stations` and writes the response to `dest`. Network errors, timeouts, 5xx and 429
 * are retried with exponential backoff (honouring `Retry-After`); other 4xx and error bodies fail at once.
 */
export async function fetchInfoclimatDay(opts: FetchInfoclimatDayOptions): Promise<InfoclimatDay> {
  assertDay(opts.day);
  if (opts.stations.length === 0) throw new Error('InfoClimat: no station to fetch');
  if (!opts.token) throw new Error('InfoClimat: no token');
  const url = infoclimatDayUrl(opts.baseUrl, opts.stations, opts.day, opts.token);
  // Built the same way, so the shown URL keeps the documented `stations[]` spelling.
  const shown = infoclimatDayUrl(opts.baseUrl, opts.stations, opts.day, '***').toString();
  const backoff = opts.backoffMs ?? 1000;
  const bytes = await request(url, {
    headers: { accept: 'application/json' },
    fetch: opts.fetchImpl,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? 60_000,
    idleTimeout: false,
    secrets: [opts.token],
    attempts: opts.attempts ?? 3,
    delayMs: (i, waitMs) => waitMs ?? backoff * 2 ** i,
    maxServerWaitMs: opts.maxRetryAfterMs ?? 120_000,
    waitTooLong: (last, waitMs) => new InfoclimatApiError(`${last.message} (the server asks to retry after ${Math.ceil(waitMs / 1000)} s)`, shown, last.status),
    exhausted: (last, attempts) => new InfoclimatApiError(`${last.message} (after ${attempts} attempts)`, shown, last.status),
    sleep: opts.sleep,
    error: infoclimatError,
    onBody: (res) => saveBody(res, opts.dest, shown),
  });
  await checkResponse(opts.dest, shown, opts.token).catch(async (err: unknown) => {
    await rm(opts.dest, { force: true });
    throw err;
  });
  return { path: opts.dest, url: shown, bytes };
}
