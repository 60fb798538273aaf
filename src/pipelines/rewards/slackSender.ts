/**
 * The one sender of a Slack channel (an incoming-webhook URL): it takes the outbox's due rows in order,
 * marks them `sending` (committed) before it posts them, posts `{text}`, then records the outcome.
 *
 * Delivery policy — at most once, never twice:
 * - 2xx: `sent`.
 * - 5xx, or a network error before an answer (connection refused, reset): Slack did not take it; pending
 *   again after `backoffMs` × 2^(attempt − 1); after `maxAttempts` such failures, `dead` with the last error.
 * - 429: Slack's rate limit; the whole channel waits its `Retry-After` (seconds), the message is pending again
 *   and the refusal does not count as a failed attempt.
 * - Another 4xx (a revoked or mistyped webhook, a malformed message): `dead` at once — it will not get better.
 * - The ambiguous case: a post that timed out (`timeoutMs`), or a row found `sending` when a sender starts
 *   (its process died in mid-post). Slack may have shown the message, and incoming webhooks take no
 *   idempotency key to ask it or to make a second post harmless. The policy is to NEVER post it again: the row
 *   becomes `unconfirmed` with the reason, listed by `GET /rewards/notifications?status=unconfirmed` for a
 *   person to check in the channel (and post by hand if it is missing). A missing congratulation is a small
 *   harm a person can see and repair; a duplicate cannot be taken back by us.
 *
 * Pacing: a token bucket of `messagesPerSecond` with `burst` tokens (Slack's documented limit is one message
 * per second per channel, short bursts allowed). `messagesPerSecond: 0` turns pacing off: then a few posts go
 * at once (CONCURRENCY), claimed and recorded in batches of UNPACED_BATCH, the next batch claimed while one
 * posts; the rows `sending` at any moment are at most two batches (what a crash can leave unconfirmed).
 *
 * The webhook URL is a secret: it appears in no log line and no recorded error.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { SlackSettings } from './settings.js';
import type { DueNotification, Outbox, Outcome } from './outbox.js';

/** Posts in flight at once when pacing is off. */
const CONCURRENCY = 32;
/** Rows claimed per round when pacing is off; two rounds overlap, so twice this is the most a crash can leave unconfirmed. */
const UNPACED_BATCH = 128;
/** How often an idle sender looks at the outbox without being woken (retries come due, another writer). */
const IDLE_POLL_MS = 1_000;
/** Unpaced, how long a woken sender waits for more rows before it claims (a batch rather than one row per event). */
const LINGER_MS = 25;
/** The longest backoff between two attempts. */
const MAX_BACKOFF_MS = 15 * 60_000;

/** A token bucket: `rate` tokens per second, at most `capacity` saved up (it starts full). */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** Milliseconds to wait before a token is there (0: one is). */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /** Takes a token (call when waitMs() is 0). */
  take(): void {
    this.refill();
    this.tokens -= 1;
  }

  /** After a 429: nothing saved up, so the channel restarts at the steady rate. */
  empty(): void {
    this.refill();
    this.tokens = Math.min(this.tokens, 0);
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
  }
}

export interface SlackSenderOptions {
  outbox: Outbox;
  /** The incoming-webhook URL (a secret). */
  webhook: string;
  slack: SlackSettings;
  log?: Logger;
}

/** The result of one post, before it is recorded. */
type PostResult =
  | { kind: 'sent' }
  | { kind: 'retry'; error: string }
  | { kind: 'rate-limited'; retryAfterMs: number; error: string }
  | { kind: 'dead'; error: string }
  | { kind: 'unconfirmed'; error: string };

const DIED_MID_POST =
  'the sender stopped while this message was being posted (process killed or crashed): Slack may have shown it, so it is not posted again; check the channel';

/** `Retry-After` as milliseconds: seconds, or an HTTP date; 1 s when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header) {
    const seconds = Number(header.trim());
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return 1000;
}

export class SlackSender {
  private readonly bucket: TokenBucket | null;
  private pausedUntil = 0;
  private wakeUp: (() => void) | null = null;
  private woken = false;
  /** The unpaced batch whose posts are under way (resolved once they are recorded). */
  private posting: Promise<void> = Promise.resolve();

  constructor(private readonly options: SlackSenderOptions) {
    const { messagesPerSecond, burst } = options.slack;
    this.bucket = messagesPerSecond > 0 ? new TokenBucket(messagesPerSecond, burst) : null;
  }

  /** New rows were queued: look now rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /**
   * Sends until `signal` is aborted; posts under way then finish (within `timeoutMs`) and are recorded
   * before it returns, so a stop leaves nothing `sending`. Rows a dead predecessor left `sending` become
   * `unconfirmed` first.
   */
  async run(signal: AbortSignal): Promise<void> {
    const recovered = await this.options.outbox.recoverSending(DIED_MID_POST);
    if (recovered)
      this.options.log?.warn(
        { unconfirmed: recovered },
        `${recovered} Slack message(s) were being posted when the last sender stopped: marked unconfirmed, not posted again`,
      );
    while (!signal.aborted) {
      const pause = this.pausedUntil - Date.now();
      if (pause > 0) {
        await this.sleep(pause, signal, false);
        continue;
      }
      this.woken = false;
      const worked = this.bucket ? await this.pacedRound(signal) : await this.unpacedRound();
      if (!worked && !signal.aborted) await this.idle(signal);
    }
    try {
      await this.posting;
    } finally {
      for (const agent of this.agents.values()) agent.destroy();
      this.agents.clear();
    }
  }

  /** One message at the bucket's pace; false when none was due. */
  private async pacedRound(signal: AbortSignal): Promise<boolean> {
    const bucket = this.bucket!;
    const [row] = await this.options.outbox.due(1);
    if (!row) return false;
    const wait = bucket.waitMs();
    if (wait > 0) {
      // Not claimed yet: a stop during the wait leaves the row pending.
      await this.sleep(wait, signal, false);
      return true;
    }
    const claimed = await this.options.outbox.claim([row.activity_key]);
    if (!claimed.has(row.activity_key)) return true;
    bucket.take();
    const result = await this.post(row);
    await this.options.outbox.finish([this.outcome(row, result)]);
    return true;
  }

  /**
   * A batch of posts, CONCURRENCY at a time, its outcomes recorded in one go; false when none was due. It
   * resolves once the batch is claimed, with its posts under way in `this.posting`: the next batch is claimed
   * while this one posts (the two overlap, no more), so the outbox's writes do not stall the posts.
   */
  private async unpacedRound(): Promise<boolean> {
    const rows = await this.options.outbox.due(UNPACED_BATCH);
    if (rows.length === 0) {
      await this.posting;
      return false;
    }
    const claimed = await this.options.outbox.claim(rows.map((r) => r.activity_key));
    const queue = rows.filter((r) => claimed.has(r.activity_key));
    const outcomes: Outcome[] = [];
    const worker = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        if (this.pausedUntil > Date.now()) {
          outcomes.push({ key: row.activity_key, status: 'release' });
          continue;
        }
        outcomes.push(this.outcome(row, await this.post(row)));
      }
    };
    const previous = this.posting;
    const batch = Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker)).then(() => this.options.outbox.finish(outcomes));
    batch.catch(() => {});
    // The chain keeps the last batch's failure (a warehouse error) for run() to throw.
    this.posting = previous.then(() => batch);
    await previous;
    // A short batch means the backlog is drained: let the next rows gather (LINGER_MS) rather than claim them one by one.
    if (rows.length < UNPACED_BATCH) await sleep(LINGER_MS);
    return true;
  }

  private outcome(row: DueNotification, result: PostResult): Outcome {
    const key = row.activity_key;
    const { maxAttempts, backoffMs } = this.options.slack;
    switch (result.kind) {
      case 'sent':
        return { key, status: 'sent' };
      case 'rate-limited':
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + result.retryAfterMs);
        this.bucket?.empty();
        this.options.log?.warn({ retry_after_ms: result.retryAfterMs }, 'Slack rate limit (429): the channel waits its Retry-After');
        return { key, status: 'retry', at: new Date(this.pausedUntil), error: result.error, counts: false };
      case 'retry': {
        const attempts = row.attempts + 1;
        if (attempts >= maxAttempts) {
          this.options.log?.error({ activity_key: key, attempts, error: result.error }, 'Slack message given up: dead letter');
          return { key, status: 'dead', error: `${result.error} (after ${attempts} attempts)` };
        }
        const delay = Math.min(MAX_BACKOFF_MS, backoffMs * 2 ** (attempts - 1));
        this.options.log?.warn({ activity_key: key, attempts, retry_in_ms: delay, error: result.error }, 'Slack post failed: retrying');
        return { key, status: 'retry', at: new Date(Date.now() + delay), error: result.error, counts: true };
      }
      case 'dead':
        this.options.log?.error({ activity_key: key, error: result.error }, 'Slack refused the message: dead letter');
        return { key, status: 'dead', error: result.error };
      case 'unconfirmed':
        this.options.log?.warn({ activity_key: key, error: result.error }, 'Slack post unconfirmed: not posted again');
        return { key, status: 'unconfirmed', error: result.error };
    }
  }

  /** One post; whatever it throws is turned into a result, with the webhook URL kept out of it. */
  private async post(row: DueNotification): Promise<PostResult> {
    const { timeoutMs } = this.options.slack;
    let answer: { status: number; retryAfter: string | null; body: string };
    try {
      answer = await this.request(JSON.stringify({ text: row.message }), timeoutMs);
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        return {
          kind: 'unconfirmed',
          error: `no answer from Slack within ${timeoutMs} ms: it may have posted the message, so it is not posted again; check the channel`,
        };
      }
      return { kind: 'retry', error: `network error: ${this.describe(err)}` };
    }
    const { status } = answer;
    const body = answer.body.trim().slice(0, 200);
    const detail = body ? `: ${this.redact(body)}` : '';
    if (status >= 200 && status < 300) return { kind: 'sent' };
    if (status === 429) return { kind: 'rate-limited', retryAfterMs: retryAfterMs(answer.retryAfter), error: `HTTP 429 (rate limited)${detail}` };
    if (status >= 500) return { kind: 'retry', error: `HTTP ${status}${detail}` };
    return { kind: 'dead', error: `HTTP ${status}${detail}` };
  }

  /**
   * POSTs `body` to the webhook. node:http with a keep-alive agent rather than fetch: on this 2-core machine
   * fetch (undici) managed ~1,100 posts/s at 16 in flight against a loopback server, node:http ~7,700/s.
   * The stop signal is not passed: a post under way finishes (or times out), so a stop makes none ambiguous.
   * Rejects only before a status arrived; once it has, a body cut short only loses the detail of an error.
   */
  private request(body: string, timeoutMs: number): Promise<{ status: number; retryAfter: string | null; body: string }> {
    return new Promise((resolve, reject) => {
      const url = new URL(this.options.webhook);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        url,
        {
          method: 'POST',
          agent: this.agent(url.protocol),
          headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) },
          signal: AbortSignal.timeout(timeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const header = res.headers['retry-after'];
          const done = () =>
            resolve({ status: res.statusCode ?? 0, retryAfter: typeof header === 'string' ? header : null, body: Buffer.concat(chunks).toString('utf8') });
          res.on('data', (chunk: Buffer) => {
            if (size < 1024) chunks.push(chunk);
            size += chunk.length;
          });
          res.on('end', done);
          res.on('error', done);
          res.on('aborted', done);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  private agents = new Map<string, HttpAgent>();

  private agent(protocol: string): HttpAgent {
    let agent = this.agents.get(protocol);
    if (!agent) {
      const options = { keepAlive: true, maxSockets: CONCURRENCY * 2 };
      agent = protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
      this.agents.set(protocol, agent);
    }
    return agent;
  }

  /** An error's message and its causes', without the webhook URL. */
  private describe(err: unknown): string {
    const parts: string[] = [];
    for (let e: unknown = err; e && parts.length < 3; e = e instanceof Error ? e.cause : undefined) {
      parts.push(e instanceof Error ? e.message : String(e));
    }
    return this.redact(parts.join(': '));
  }

  private redact(text: string): string {
    const url = this.options.webhook;
    let out = text.split(url).join('[webhook]');
    try {
      const path = new URL(url).pathname;
      if (path.length > 1) out = out.split(path).join('/[webhook]');
    } catch {
      // Not a URL: the whole string was already replaced.
    }
    return out;
  }

  /**
   * Waits for a wake-up, the next due row or the poll interval, whichever first. Unpaced, a wake-up is
   * followed by LINGER_MS: rows queued one by one as events come are then claimed and recorded together
   * (a batch costs the outbox about what one row does).
   */
  private async idle(signal: AbortSignal): Promise<void> {
    if (!this.woken) {
      const next = await this.options.outbox.nextDue();
      const ms = next ? Math.min(IDLE_POLL_MS, Math.max(0, next.getTime() - Date.now())) : IDLE_POLL_MS;
      if (ms > 0) await this.sleep(ms, signal, true);
    }
    if (this.woken && !this.bucket) await this.sleep(LINGER_MS, signal, false);
  }

  private sleep(ms: number, signal: AbortSignal, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        if (this.wakeUp === done) this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      if (wakeable) {
        if (this.woken) done();
        else this.wakeUp = done;
      }
    });
  }
}
