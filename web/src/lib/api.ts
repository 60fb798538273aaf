import type { paths } from './api.generated.js';
import { apiToken } from './token.js';

/** Reading the API: JSON in, `{error, message}` errors turned into ApiError with the API's message. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface List<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

/** A request index.html started before the app ran (the first page's data), used once. */
function takePrefetched(url: string): Promise<Response> | undefined {
  const store = (globalThis as { __eclusePrefetch?: Record<string, Promise<Response> | undefined> }).__eclusePrefetch;
  const res = store?.[url];
  if (store && res) delete store[url];
  return res;
}

/** The `message` of an `{error, message}` body, if it has one (the response itself stays unread). */
async function messageOf(res: Response): Promise<string | null> {
  try {
    const body = (await res.clone().json()) as { message?: unknown } | null;
    return typeof body?.message === 'string' ? body.message : null;
  } catch {
    return null;
  }
}

/**
 * `fetch` for the API: sends the kept token as `Authorization: Bearer …` (never in the URL) and, on a 401,
 * asks the user for a token (one question for every request waiting) and tries again with it. Dismissing
 * the question gives the 401 back to the caller.
 */
export async function apiFetch(url: string, { signal, accept = 'application/json' }: { signal?: AbortSignal; accept?: string } = {}): Promise<Response> {
  let prefetched = takePrefetched(url);
  for (;;) {
    const sent = apiToken.get();
    const headers: Record<string, string> = { accept };
    if (sent) headers.authorization = `Bearer ${sent}`;
    let res: Response;
    try {
      res = await (prefetched ?? fetch(url, { signal, headers }));
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new ApiError(0, 'network', `cannot reach the server (${(err as Error).message})`);
    }
    prefetched = undefined;
    if (res.status !== 401) return res;
    // Another view's question was answered while this request was out: try that token before asking.
    if (apiToken.get() !== sent) continue;
    const given = await apiToken.ask({ refused: sent !== null, message: (await messageOf(res)) ?? `${url} needs a token` });
    if (given === null) return res;
    if (signal?.aborted) throw new DOMException('the view was left while the token was asked for', 'AbortError');
  }
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await apiFetch(url, { signal });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: a proxy page or a crash; shown as its status below.
  }
  if (!res.ok) {
    const e = body as { error?: unknown; message?: unknown } | null;
    const message = typeof e?.message === 'string' ? e.message : `${res.status} ${res.statusText || 'error'} from ${url}`;
    throw new ApiError(res.status, typeof e?.error === 'string' ? e.error : 'http_error', message);
  }
  return body as T;
}

/** `/path?k=v…` with undefined values left out. */
export function apiUrl(path: string, query: Record<string, string | number | undefined | null> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

/*
 * The answers' types come from the server's OpenAPI document (api.generated.ts, `npm run api-types`): a
 * route whose schema changes changes them, and `npm test` fails until the dashboard follows.
 */

/**
 * The JSON body of the 200 answer to GET `path`. A path without one gives `unknown`, not `never`: reading a
 * field of it fails to compile instead of compiling to anything.
 */
export type ApiGet<P extends keyof paths> = paths[P] extends { get: { responses: { 200: { content: { 'application/json': infer Body } } } } } ? Body : unknown;

/** One item of the list GET `path` answers (`unknown` when it answers no list). */
export type ApiItem<P extends keyof paths> = ApiGet<P> extends { items: Array<infer Item> } ? Item : unknown;

/* The generic pages' answers; a pipeline's pages name theirs in their folder (web/src/pipelines/<name>/api.ts). */
export type PipelineOverview = ApiGet<'/dashboard/overview'>['pipelines'][number];
export type RunRecord = ApiGet<'/dashboard/runs/{id}'>;
export type Reject = ApiItem<'/rejects'>;
export type RawFile = ApiItem<'/raw/files'>;
export type LakeObject = ApiItem<'/lake/files'>;
