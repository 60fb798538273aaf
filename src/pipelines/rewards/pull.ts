/**
 * The scheduled pull from the activity source (Strava-like, the old system's contract): for each employee of
 * the company database, `GET {url}/employee/{id}?after=…` brings what they did since the last pull; each
 * record is checked (bad ones become rejects naming the URL, the position, the field and why), and the rest is
 * inserted into `activities`, where the key `(employee_id, started_at)` keeps a pull repeated, or overlapping
 * the previous one, from adding anything twice.
 */
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { excerpt } from '../../connectors/http/errorBody.js';
import { request, scrub, type RequestFailure } from '../../connectors/http/request.js';
import type { Reject } from '../../quality/rejects.js';
import { isInstant } from '../../time/instants.js';
import { insertActivities, type Activity, type CompanyDb } from './companyDb.js';

export interface PullArgs {
  company: CompanyDb;
  /** The source's base URL (`ECLUSE_REWARDS_ACTIVITIES_URL`); credentials in it go in a header, never in a message. */
  url: string;
  signal?: AbortSignal;
  log?: Logger;
  /** Called after each employee. */
  progress?: (done: number, total: number) => void;
  /** Employees asked at once (default 8). */
  concurrency?: number;
  /** Time allowed for one request (default 30 000 ms). */
  timeoutMs?: number;
  /** Attempts per employee, the first included (default 5). */
  attempts?: number;
  /** Wait before the second attempt, doubled for each further one (default 500 ms). */
  backoffMs?: number;
  /**
   * How far before the employee's latest pulled start `after` goes (default 2 days): Strava users upload late,
   * and an activity uploaded after a later one was pulled would otherwise never be asked for. The key
   * `(employee_id, started_at)` makes what comes twice harmless.
   */
  lookbackMs?: number;
  /** Clock for "in the future" (default `Date.now`). */
  now?: () => number;
}

export interface PullResult {
  /** Employees asked. */
  employees: number;
  /** Records received, good or bad. */
  fetched: number;
  /** Activities new to the company database. */
  inserted: number;
  rejects: Reject[];
}

/** A pull that failed: the source answered an error after the retries, or did not answer. */
class ActivitySourceError extends Error {
  override name = 'ActivitySourceError';
  constructor(
    message: string,
    readonly url: string,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

/** A start more than this ahead of the clock is wrong, not a clock skew. */
const FUTURE_SLACK_MS = 5 * 60_000;

/** The base URL without its credentials, the parts to keep secret, and the header that carries them. */
function splitCredentials(base: string): { base: URL; secrets: string[]; headers: Record<string, string> } {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ActivitySourceError(`activity source: not a URL (ECLUSE_REWARDS_ACTIVITIES_URL)`, '(unparsable URL)');
  }
  const secrets: string[] = [];
  const headers: Record<string, string> = { accept: 'application/json' };
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    if (password) secrets.push(password, url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  // A token in the base URL's query (`?key=…`) is kept on every request, and out of every message.
  for (const value of url.searchParams.values()) if (value.length >= 8) secrets.push(value);
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return { base: url, secrets, headers };
}

function sourceError(failure: RequestFailure, shown: string): ActivitySourceError {
  if (failure.kind === 'status') {
    let said = excerpt(failure.body);
    try {
      const doc = JSON.parse(failure.body) as { message?: unknown; error?: unknown };
      if (typeof doc.message === 'string') said = doc.message;
      else if (typeof doc.error === 'string') said = doc.error;
    } catch {
      // not JSON: the start of the text
    }
    return new ActivitySourceError(`activity source ${shown}: HTTP ${failure.status}${said ? ` ${said}` : ''}`, shown, failure.status);
  }
  const why = failure.timedOut ? (failure.during === 'headers' ? 'no answer in time' : 'the body stalled') : failure.why;
  return new ActivitySourceError(`activity source ${shown}: ${why}`, shown, failure.status);
}

/** The latest start pulled from the source, by employee. */
async function latestStarts(company: CompanyDb): Promise<Map<number, number>> {
  const rows = await company.query(`SELECT employee_id, MAX(started_at) AS latest FROM activities WHERE source = 'strava' GROUP BY employee_id`);
  const out = new Map<number, number>();
  for (const r of rows) {
    const t = Date.parse(
      String(r.latest)
        .replace(' ', 'T')
        .replace(/(T[\d:.]+)$/, '$1Z'),
    );
    if (!Number.isNaN(t)) out.set(Number(r.employee_id), t);
  }
  return out;
}

type Checked = { ok: true; activity: Activity; rejects: Reject[] } | { ok: false; reject: Reject };

/**
 * One record of the source as an activity, or why not. `row` is its 1-based position in the answer's array;
 * a comment that is not text is dropped (a field reject), anything else wrong rejects the record.
 */
export function checkSourceActivity(record: unknown, employeeId: number, file: string, row: number, now: number): Checked {
  const at = { file, sheet: null, row };
  const bad = (field: string | null, value: unknown, reason: string): Checked => ({
    ok: false,
    reject: {
      ...at,
      field,
      value: value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value),
      reason,
      whole_record: true,
    },
  });
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return bad(null, record, 'not an object');
  const r = record as Record<string, unknown>;
  if (r.id_employee === undefined || r.id_employee === null) return bad('id_employee', null, 'missing');
  if (Number(r.id_employee) !== employeeId || (typeof r.id_employee !== 'number' && typeof r.id_employee !== 'string')) {
    return bad('id_employee', r.id_employee, `the answer for employee ${employeeId} holds another employee's activity`);
  }
  if (r.start_date === undefined || r.start_date === null || r.start_date === '') return bad('start_date', null, 'missing');
  if (typeof r.start_date !== 'string' || !isInstant(r.start_date)) return bad('start_date', r.start_date, 'not an ISO 8601 instant with an offset');
  const started = Date.parse(r.start_date);
  if (started > now + FUTURE_SLACK_MS) return bad('start_date', r.start_date, 'in the future');
  let ended: number;
  if (r.end_date !== undefined && r.end_date !== null && r.end_date !== '') {
    if (typeof r.end_date !== 'string' || !isInstant(r.end_date)) return bad('end_date', r.end_date, 'not an ISO 8601 instant with an offset');
    ended = Date.parse(r.end_date);
    if (ended <= started) return bad('end_date', r.end_date, ended === started ? 'the activity ends when it starts' : 'the activity ends before it starts');
  } else if (r.elapsed_time !== undefined && r.elapsed_time !== null) {
    if (typeof r.elapsed_time !== 'number' || !Number.isFinite(r.elapsed_time)) return bad('elapsed_time', r.elapsed_time, 'not a number of seconds');
    if (r.elapsed_time <= 0) return bad('elapsed_time', r.elapsed_time, 'not more than 0 seconds');
    ended = started + Math.round(r.elapsed_time * 1000);
  } else {
    return bad('end_date', null, 'missing, and no elapsed_time either');
  }
  if (typeof r.sport !== 'string' || r.sport.trim() === '') return bad('sport', r.sport, 'empty');
  let distance: number | null = null;
  if (r.distance_m !== undefined && r.distance_m !== null) {
    if (typeof r.distance_m !== 'number' || !Number.isFinite(r.distance_m)) return bad('distance_m', r.distance_m, 'not a number of metres');
    if (r.distance_m < 0) return bad('distance_m', r.distance_m, 'negative');
    distance = r.distance_m;
  }
  const rejects: Reject[] = [];
  let comment: string | null = null;
  if (typeof r.comment === 'string') comment = r.comment.trim() === '' ? null : r.comment;
  else if (r.comment !== undefined && r.comment !== null) {
    rejects.push({ ...at, field: 'comment', value: JSON.stringify(r.comment), reason: 'not text (dropped)', whole_record: false });
  }
  return {
    ok: true,
    activity: {
      employee_id: employeeId,
      started_at: new Date(started),
      ended_at: new Date(ended),
      elapsed_s: Math.round((ended - started) / 1000),
      sport: r.sport.trim(),
      distance_m: distance,
      comment,
      source: 'strava',
    },
    rejects,
  };
}

/** Pulls every employee's new activities from the source into the company database (see the top of this file). */
export async function pullActivities(args: PullArgs): Promise<PullResult> {
  const { company, log, signal } = args;
  const { base, secrets, headers } = splitCredentials(args.url);
  const now = args.now ?? Date.now;
  const lookback = args.lookbackMs ?? 2 * 86_400_000;
  const backoff = args.backoffMs ?? 500;
  const employees = (await company.query(`SELECT employee_id FROM employees ORDER BY employee_id`)).map((r) => Number(r.employee_id));
  const latest = await latestStarts(company);
  const result: PullResult = { employees: employees.length, fetched: 0, inserted: 0, rejects: [] };
  const queue = new PQueue({ concurrency: Math.max(1, args.concurrency ?? 8) });
  let failure: unknown = null;
  let done = 0;

  const pullOne = async (employeeId: number) => {
    const url = new URL(`employee/${employeeId}`, base);
    const last = latest.get(employeeId);
    if (last !== undefined) url.searchParams.set('after', new Date(last - lookback).toISOString());
    const shown = scrub(url.toString(), secrets);
    const body = await request(url, {
      headers,
      signal,
      secrets,
      timeoutMs: args.timeoutMs ?? 30_000,
      idleTimeout: false,
      // 404: an employee the source does not know (no account), not a failure of the pull.
      acceptStatus: (s) => s === 200 || s === 404,
      attempts: args.attempts ?? 5,
      delayMs: (i, waitMs) => Math.max(waitMs ?? 0, Math.min(30_000, backoff * 2 ** i) * (0.5 + Math.random() / 2)),
      maxServerWaitMs: 120_000,
      waitTooLong: (e, waitMs) => new ActivitySourceError(`${e.message} (it asks to wait ${Math.ceil(waitMs / 1000)} s)`, shown, e.status),
      exhausted: (e, attempts) => new ActivitySourceError(`${e.message} (after ${attempts} attempts)`, shown, e.status),
      error: sourceError,
      onBody: async (res) => (res.status === 404 ? null : ((await res.json()) as unknown)),
    });
    if (body === null) {
      log?.warn({ employee_id: employeeId, url: shown }, 'activity source does not know this employee: skipped');
      return;
    }
    if (!Array.isArray(body)) throw new ActivitySourceError(`activity source ${shown}: the answer is not a JSON array of activities`, shown, 200);
    result.fetched += body.length;
    const good: Activity[] = [];
    const clock = now();
    body.forEach((record, i) => {
      const c = checkSourceActivity(record, employeeId, shown, i + 1, clock);
      if (c.ok) {
        good.push(c.activity);
        result.rejects.push(...c.rejects);
      } else {
        result.rejects.push(c.reject);
      }
    });
    // Counted after the await: `result.inserted += await …` would add to a total read before other employees' inserts.
    const inserted = good.length > 0 ? await insertActivities(company, good) : 0;
    result.inserted += inserted;
  };

  for (const id of employees) {
    void queue.add(async () => {
      if (failure !== null || signal?.aborted) return;
      try {
        await pullOne(id);
      } catch (err) {
        // The first failure stops the pull; what is already in stays (the next pull asks again from there).
        failure ??= err;
        queue.clear();
        return;
      }
      args.progress?.(++done, employees.length);
    });
  }
  await queue.onIdle();
  signal?.throwIfAborted();
  if (failure !== null) throw failure;
  if (result.rejects.length > 0) log?.warn({ rejects: result.rejects.length }, 'activity source: records rejected');
  log?.info({ employees: result.employees, fetched: result.fetched, inserted: result.inserted }, 'activities pulled');
  return result;
}
