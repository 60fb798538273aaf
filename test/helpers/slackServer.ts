import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A message the stand-in took (answered 2xx), with when it arrived. */
export interface ReceivedPost {
  text: string;
  at: number;
}

/** How the stand-in answers one post. */
export interface Answer {
  status: number;
  /** `Retry-After` header (seconds) for a 429. */
  retryAfter?: string;
  /** Waits this long before answering (a slow Slack, or one that never answers in time). */
  delayMs?: number;
  body?: string;
}

/**
 * A loopback HTTP server standing in for a Slack incoming webhook: it records the `{text}` of every post it
 * accepts (2xx), and answers the next posts as a test scripts them (500, 429 with Retry-After, slow), then
 * `ok` with `defaultDelayMs`.
 */
export class SlackServer {
  /** Posts answered 2xx, in arrival order: what Slack would have shown. */
  readonly received: ReceivedPost[] = [];
  /** Every post, whatever the answer (arrival times): to see the retries' spacing. */
  readonly attempts: ReceivedPost[] = [];
  /** Answers for the next posts, in order. */
  readonly script: Answer[] = [];
  defaultDelayMs = 0;
  private server = createServer((req, res) => void this.handle(req, res));
  private waiters = new Set<() => void>();
  /** The secret-looking path of the webhook URL, as Slack's (`/services/T…/B…/…`). */
  readonly path = '/services/T0TEST/B0TEST/s3cr3tT0k3nXYZ';

  static async start(): Promise<SlackServer> {
    const s = new SlackServer();
    s.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.path}`;
  }

  /** Resolves once `n` posts were accepted (throws after `timeoutMs`). */
  async waitFor(n: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < n) {
      if (Date.now() > deadline) throw new Error(`the Slack stand-in received ${this.received.length} message(s), waited for ${n}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.waiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, 100);
        this.waiters.add(done);
      });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const at = Date.now();
    if (req.method !== 'POST' || req.url !== this.path) {
      res.writeHead(404).end('no_service');
      return;
    }
    let text: string;
    try {
      text = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: unknown }).text);
    } catch {
      res.writeHead(400).end('invalid_payload');
      return;
    }
    this.attempts.push({ text, at });
    const answer = this.script.shift() ?? { status: 200, delayMs: this.defaultDelayMs };
    if (answer.delayMs) await sleep(answer.delayMs);
    // Slack shows a message it answered 2xx; a slow answer still counts once it is written.
    if (answer.status >= 200 && answer.status < 300) this.received.push({ text, at });
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (answer.retryAfter !== undefined) headers['retry-after'] = answer.retryAfter;
    if (!res.destroyed) res.writeHead(answer.status, headers).end(answer.body ?? (answer.status < 300 ? 'ok' : 'error'));
    for (const w of [...this.waiters]) w();
  }
}
