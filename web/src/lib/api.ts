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

export interface RunBrief {
  run_id: number;
  status: string;
  partition: string;
  started_at: string;
  duration_ms: number | null;
  rows_written: number;
  rows_rejected: number;
  values_rejected: number;
  /** What a succeeded run did not load from what it was given, and why (absent from older servers). */
  warnings?: string[];
}

export interface PipelineOverview {
  name: string;
  description: string;
  schedule: { cron: string; timezone: string; enabled: boolean };
  last_run: RunBrief | null;
  next_run_at: string | null;
  runs_total: number;
  recent: RunBrief[];
  datasets: Array<{ name: string; rows: number | null }>;
}

export interface RunRecord extends RunBrief {
  pipeline: string;
  files: number;
  files_skipped: number;
  files_deferred?: number;
  rows_read: number;
  error: string | null;
  trigger: string;
  attempt: number;
  finished_at: string | null;
  steps: Record<string, number> | null;
}

export interface Reject {
  run_id: number;
  pipeline: string;
  file: string;
  sheet: string | null;
  row: number | null;
  field: string | null;
  value: string | null;
  reason: string;
  whole_record: boolean;
}

export interface StationStat {
  id: string;
  name: string | null;
  type: string | null;
  latitude: number | null;
  longitude: number | null;
  reports: number;
  first_report: string | null;
  last_report: string | null;
}

export interface Station {
  id: string;
  name: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  elevation_m: number | null;
  type: string | null;
  timezone: string | null;
}

export interface City {
  numer_sta: string;
  name: string;
  slug: string;
  latitude: number | null;
  longitude: number | null;
  days: number;
  first_day: string | null;
  last_day: string | null;
}

export interface RawFile {
  key: string;
  pipeline: string;
  source: string;
  name: string;
  size: number;
  sha256: string;
  received_at: string;
}

export interface LakeObject {
  key: string;
  size: number;
  modified_at: string;
  sha256: string | null;
}
