import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { listNotifications, Outbox, type OutboxItem } from '../../../src/pipelines/rewards/outbox.js';
import type { SlackSettings } from '../../../src/pipelines/rewards/settings.js';
import { retryAfterMs, SlackSender, TokenBucket } from '../../../src/pipelines/rewards/slackSender.js';
import { openPlatform, tempHome } from '../../helpers/platform.js';
import { SlackServer } from '../../helpers/slackServer.js';
import { FAST_SLACK, until } from './notifierHarness.js';

let home: string;
let platform: Platform;
let slack: SlackServer;
let outbox: Outbox;
let table = 0;

before(async () => {
  home = await tempHome('ecluse-slack-');
  platform = await openPlatform(home);
  slack = await SlackServer.start();
});
after(async () => {
  await slack.close();
  await platform.warehouse.close();
  await rm(home, { recursive: true, force: true });
});
beforeEach(async () => {
  // A clean outbox and stand-in per test.
  await platform.warehouse.execute(`DROP TABLE IF EXISTS rewards_notifications`);
  outbox = await Outbox.open(platform.warehouse);
  slack.received.length = 0;
  slack.attempts.length = 0;
  slack.script.length = 0;
  slack.defaultDelayMs = 0;
  table++;
});

function items(n: number, from = 0): OutboxItem[] {
  return Array.from({ length: n }, (_, i) => {
    const startedAt = new Date(Date.UTC(2025, 7, 17, 7, 0, from + i));
    return {
      activityKey: `${table}:${from + i}:${startedAt.toISOString()}`,
      eventId: null,
      employeeId: from + i,
      startedAt,
      message: `message ${table}-${from + i}`,
    };
  });
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function startSender(settings: Partial<SlackSettings>, webhook = slack.url): { stop(): Promise<void> } {
  const controller = new AbortController();
  const sender = new SlackSender({ outbox, webhook, slack: { ...FAST_SLACK, ...settings } });
  const running = sender.run(controller.signal);
  return {
    async stop() {
      controller.abort();
      await running;
    },
  };
}

describe('rewards: the Slack sender', () => {
  it('TokenBucket: a burst, then the steady rate', () => {
    let t = 0;
    const bucket = new TokenBucket(1, 3, () => t);
    for (let i = 0; i < 3; i++) {
      assert.equal(bucket.waitMs(), 0);
      bucket.take();
    }
    assert.equal(bucket.waitMs(), 1000);
    t = 400;
    assert.equal(bucket.waitMs(), 600);
    t = 1000;
    assert.equal(bucket.waitMs(), 0);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    assert.equal(retryAfterMs('1'), 1000);
    assert.equal(retryAfterMs(' 30 '), 30_000);
    assert.equal(retryAfterMs('0.5'), 500);
    const now = Date.parse('2025-08-17T10:00:00Z');
    assert.equal(retryAfterMs('Sun, 17 Aug 2025 10:00:05 GMT', now), 5000);
    assert.equal(retryAfterMs(null), 1000);
    assert.equal(retryAfterMs('soon'), 1000);
  });

  it('retries a 5xx with exponential backoff, and posts the message once', async () => {
    slack.script.push({ status: 500 }, { status: 503 });
    await outbox.enqueue(items(1));
    const sender = startSender({ backoffMs: 200 });
    try {
      await slack.waitFor(1);
    } finally {
      await sender.stop();
    }
    assert.equal(slack.attempts.length, 3);
    assert.equal(slack.received.length, 1);
    const [a, b, c] = slack.attempts.map((p) => p.at) as [number, number, number];
    assert.ok(b - a >= 190, `first backoff ${b - a} ms, expected ≥ 200`);
    assert.ok(c - b >= 390, `second backoff ${c - b} ms, expected ≥ 400 (doubled)`);
    const list = await listNotifications(platform.warehouse, { limit: 10, offset: 0 });
    assert.equal(list.items[0]?.status, 'sent');
    assert.equal(list.items[0]?.attempts, 3);
  });

  it("waits a 429's Retry-After for the whole channel", async () => {
    slack.script.push({ status: 429, retryAfter: '1', body: 'rate_limited' });
    await outbox.enqueue(items(3));
    // Paced (fast): one post at a time, so none is in flight when the 429 comes.
    const sender = startSender({ messagesPerSecond: 50, burst: 5 });
    try {
      await slack.waitFor(3);
    } finally {
      await sender.stop();
    }
    const [first, second] = slack.attempts.map((p) => p.at) as [number, number];
    assert.ok(second - first >= 990, `the next post came ${second - first} ms after the 429, expected ≥ 1 s`);
    assert.equal(new Set(slack.received.map((r) => r.text)).size, 3);
    assert.equal(slack.received.length, 3);
    const list = await listNotifications(platform.warehouse, { limit: 10, offset: 0 });
    assert.deepEqual(list.counts.sent, 3);
    assert.ok(
      list.items.every((i) => i.attempts === 1),
      'a 429 is not a failed attempt',
    );
  });

  it('gives up after maxAttempts (dead letters), and at once on another 4xx, never showing the webhook URL', async () => {
    for (let i = 0; i < 3; i++) slack.script.push({ status: 500, body: 'internal_error' });
    await outbox.enqueue(items(1));
    let sender = startSender({ maxAttempts: 3, backoffMs: 10 });
    try {
      await until('a dead letter', async () => (await outbox.counts()).dead === 1);
    } finally {
      await sender.stop();
    }
    assert.equal(slack.attempts.length, 3);

    // A mistyped webhook (Slack answers 404 no_service): dead at once.
    await outbox.enqueue(items(1, 10));
    sender = startSender({ maxAttempts: 3, backoffMs: 10 }, slack.url.replace('s3cr3t', 'w0rng'));
    try {
      await until('two dead letters', async () => (await outbox.counts()).dead === 2);
    } finally {
      await sender.stop();
    }
    // Nothing listening (a network error): retried, then dead; the error tells why without the URL.
    await outbox.enqueue(items(1, 20));
    sender = startSender({ maxAttempts: 2, backoffMs: 10 }, `http://127.0.0.1:${await closedPort()}/services/T1/B1/s3cr3tN0tHere`);
    try {
      await until('three dead letters', async () => (await outbox.counts()).dead === 3);
    } finally {
      await sender.stop();
    }
    const dead = await listNotifications(platform.warehouse, { status: 'dead', limit: 10, offset: 0 });
    const errors = Object.fromEntries(dead.items.map((i) => [i.employee_id, [i.attempts, i.last_error]]));
    assert.deepEqual(errors[0], [3, 'HTTP 500: internal_error (after 3 attempts)']);
    assert.deepEqual(errors[10], [1, 'HTTP 404: no_service']);
    assert.equal(errors[20]?.[0], 2);
    assert.match(String(errors[20]?.[1]), /^network error: .*ECONNREFUSED.* \(after 2 attempts\)$/);
    for (const i of dead.items) assert.ok(!/s3cr3t|w0rng|services/.test(i.last_error ?? ''), `the webhook leaked into ${i.last_error}`);
    assert.equal(slack.received.length, 0);
  });

  it('never posts again a message whose post timed out: unconfirmed', async () => {
    slack.script.push({ status: 200, delayMs: 600 });
    await outbox.enqueue(items(2));
    const sender = startSender({ timeoutMs: 200 });
    try {
      await until('one sent and one unconfirmed', async () => {
        const c = await outbox.counts();
        return c.sent === 1 && c.unconfirmed === 1;
      });
      await new Promise((r) => setTimeout(r, 800));
    } finally {
      await sender.stop();
    }
    // Slack took it after all (the slow answer was a 200): shown once, and marked unconfirmed for a person to check.
    assert.equal(slack.attempts.length, 2);
    assert.equal(slack.received.length, 2);
    const unconfirmed = await listNotifications(platform.warehouse, { status: 'unconfirmed', limit: 10, offset: 0 });
    assert.match(unconfirmed.items[0]?.last_error ?? '', /no answer from Slack within 200 ms/);
  });

  it('paces at 1 message per second after a burst of 3', async () => {
    await outbox.enqueue(items(6));
    const sender = startSender({ messagesPerSecond: 1, burst: 3 });
    try {
      await slack.waitFor(6, 15_000);
    } finally {
      await sender.stop();
    }
    const times = slack.received.map((r) => r.at - slack.received[0]!.at);
    assert.ok(times[2]! < 500, `the burst of 3 took ${times[2]} ms`);
    for (let i = 3; i < 6; i++) assert.ok(times[i]! >= (i - 2) * 1000 - 30, `message ${i + 1} at ${times[i]} ms, expected ≥ ${(i - 2) * 1000}`);
    assert.ok(times[5]! < 4_500, `6 messages took ${times[5]} ms`);
    assert.deepEqual(
      slack.received.map((r) => r.text),
      items(6).map((i) => i.message),
      'in order',
    );
  });

  it('without pacing, sends thousands per second (throughput printed)', async () => {
    const n = 5000;
    await outbox.enqueue(items(n));
    const started = Date.now();
    const sender = startSender({ messagesPerSecond: 0 });
    try {
      await slack.waitFor(n, 60_000);
      await until('all recorded sent', async () => (await outbox.counts()).sent === n);
    } finally {
      await sender.stop();
    }
    const seconds = (Date.now() - started) / 1000;
    const rate = n / seconds;
    console.log(`# Slack sender, pacing off: ${n} messages in ${seconds.toFixed(2)} s = ${Math.round(rate)} messages/s (DuckDB outbox, loopback server)`);
    assert.equal(new Set(slack.received.map((r) => r.text)).size, n);
    assert.ok(rate > 500, `${Math.round(rate)} messages/s`);
  });
});
