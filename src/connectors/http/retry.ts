import { setTimeout as sleepFor } from 'node:timers/promises';

/**
 * The retry loop the HTTP connectors share: an attempt either succeeds, fails for good (it throws), or fails in
 * a way worth another try (network error, timeout, 429, 5xx), possibly with a wait the server asked for. What
 * differs between APIs (the backoff, the errors and their messages) is the caller's.
 */

/** Outcome of one attempt that did not throw; `waitMs` is what the server asked for (null: it said nothing). */
export type Attempt<T, E extends Error> = { ok: true; value: T } | { ok: false; error: E; waitMs: number | null };

export interface RetryPolicy<E extends Error> {
  /** Attempts in all, the first included (at least 1). */
  attempts: number;
  /** The wait after failed attempt `i` (0-based), given the server's asked wait. */
  delayMs: (i: number, serverWaitMs: number | null) => number;
  /** A server asking to wait longer than this fails at once rather than stalling a run. */
  maxServerWaitMs: number;
  /** The error thrown then: `last` names what failed. */
  waitTooLong: (last: E, waitMs: number) => Error;
  /** The error thrown when every attempt failed. */
  exhausted: (last: E, attempts: number) => Error;
  /** Waits between attempts (tests record the delays); by default a timer that `signal` cuts short. */
  sleep?: (ms: number) => Promise<void>;
  signal?: AbortSignal;
}

/** Runs `attempt` until it succeeds, throws, or the policy gives up. */
export async function retry<T, E extends Error>(attempt: () => Promise<Attempt<T, E>>, policy: RetryPolicy<E>): Promise<T> {
  const attempts = Math.max(1, policy.attempts);
  const sleep = policy.sleep ?? ((ms: number) => sleepFor(ms, undefined, { signal: policy.signal }));
  let last: E | undefined;
  for (let i = 0; i < attempts; i++) {
    const r = await attempt();
    if (r.ok) return r.value;
    last = r.error;
    if (i === attempts - 1) break;
    if (r.waitMs !== null && r.waitMs > policy.maxServerWaitMs) throw policy.waitTooLong(r.error, r.waitMs);
    await sleep(policy.delayMs(i, r.waitMs));
  }
  // The loop ran at least once and only leaves without returning after a failed attempt.
  throw policy.exhausted(last!, attempts);
}

/** The statuses worth another attempt: rate-limited or a server-side failure. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date (one in the past is 0); null if absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, now: number): number | null {
  const trimmed = header?.trim();
  if (!trimmed) return null;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** A failed fetch in words: undici reports "fetch failed" with the socket error as the cause. */
export function describeNetworkError(err: unknown): string {
  const e = err as (Error & { cause?: { message?: string; code?: string } }) | null | undefined;
  return [e?.message ?? String(err), e?.cause?.code ?? e?.cause?.message].filter(Boolean).join(': ');
}
