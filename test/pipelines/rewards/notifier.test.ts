import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import type { ChangeEvent } from '../../../src/cdc/reader.js';
import { ACTIVITIES_TOPIC, createRewardsNotifier } from '../../../src/pipelines/rewards/notifier.js';
import { congratulation } from '../../../src/pipelines/rewards/message.js';
import { listNotifications, notificationCounts, type NotificationCounts } from '../../../src/pipelines/rewards/outbox.js';
import type { Broker } from '../../../src/stream/broker.js';
import { EmbeddedBroker } from '../../../src/stream/embedded.js';
import { openPlatform, tempHome } from '../../helpers/platform.js';
import { SlackServer } from '../../helpers/slackServer.js';
import { folderKind, freshTopic, memoryKind, natsKind, NATS_URL, type BrokerKind } from '../../stream/brokers.js';
import { activityEvent, namesUnder, publishEvents, settingsWith, streamContext, until } from './notifierHarness.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** Log lines of a notifier, to see its warnings. */
function captureLog() {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

function minutesAgo(m: number): Date {
  return new Date(Math.floor((Date.now() - m * 60_000) / 1000) * 1000);
}

it('consumes sport.activities by default', () => {
  const notifier = createRewardsNotifier({ broker: () => Promise.reject(new Error('unused')), names: namesUnder(0) });
  assert.equal(ACTIVITIES_TOPIC, 'sport.activities');
  assert.match(notifier.description, /sport\.activities/);
});

for (const kind of [memoryKind(), natsKind()]) {
  describe(`rewards notifier over the ${kind.name} broker`, { skip: await kind.skip() }, () => {
    it('queues one message per activity, skips old and deleted ones, waits for a webhook, then sends each once', async () => {
      const topic = freshTopic();
      const home = await tempHome('ecluse-notifier-');
      const slack = await SlackServer.start();
      const platform = await openPlatform(home);
      let broker: Broker = await kind.open();
      cleanups.push(async () => {
        await broker.close();
        await kind.cleanup([topic]);
        await slack.close();
        await platform.warehouse.close();
        await rm(home, { recursive: true, force: true });
      });
      let changed = 0;
      const run = (webhook: string | undefined) => {
        const controller = new AbortController();
        const { log, lines } = captureLog();
        const notifier = createRewardsNotifier({
          broker: async () => ({ broker, release: async () => {} }),
          names: namesUnder(4),
          onActivitiesChanged: (n) => (changed += n),
          settings: () => settingsWith(webhook),
          topic,
        });
        assert.equal(notifier.name, 'rewards-notifier');
        assert.match(notifier.description, new RegExp(topic));
        const running = notifier.start(streamContext(platform, controller.signal, log));
        return {
          lines,
          async stop() {
            controller.abort();
            await running;
          },
        };
      };
      const counts = () => notificationCounts(platform.warehouse);

      const started = minutesAgo(90);
      const ev = (employee: number, extra: Parameters<typeof activityEvent>[3] = {}) => activityEvent('c', employee, started, extra);
      const first = run(undefined);
      await publishEvents(broker, topic, [
        ev(1, { elapsedS: 7200 }),
        ev(2, { sport: 'Runing', distanceM: 10_400, elapsedS: 58 * 60 }),
        ev(3),
        ev(4, { sport: 'Escalade', elapsedS: 5400 }),
        // The same change again under another message id (a capture that published it twice): no second row.
        { ...ev(1, { elapsedS: 7200 }), id: 'another-id-of-the-same-change' },
        // A year-old activity of a first pull: recorded, not congratulated.
        activityEvent('c', 5, new Date(Date.now() - 300 * 86_400_000)),
        activityEvent('u', 3, started),
      ]);
      await until('six outbox rows', async () => {
        const c = await counts();
        return c.pending === 4 && c.skipped === 1;
      });
      // Deleted before any webhook was configured: never sent.
      await publishEvents(broker, topic, [activityEvent('d', 2, started)]);
      await until('the deleted one skipped', async () => (await counts()).skipped === 2);
      await first.stop();
      assert.equal(slack.received.length, 0);
      assert.equal(first.lines.filter((l) => /no Slack webhook configured/.test(l.msg)).length, 1, 'warned once');
      assert.equal(changed, 8, 'every change (c, u, d) is told, the repeat too');

      // The next "process" gets its own connection (the in-memory broker is the same one).
      const previous = broker;
      broker = await kind.reopen(previous);
      if (broker !== previous) await previous.close();
      const second = run(slack.url);
      await slack.waitFor(3);
      // Redelivered creates after sending: nothing more.
      await publishEvents(broker, topic, [
        { ...ev(3), id: 'ev3-again' },
        { ...ev(4, { sport: 'Escalade', elapsedS: 5400 }), id: 'ev4-again' },
      ]);
      await until('the repeats consumed', () => changed === 10);
      await new Promise((r) => setTimeout(r, 300));
      await second.stop();

      const texts = slack.received.map((r) => r.text).sort();
      assert.deepEqual(
        texts,
        [
          congratulation({ first_name: 'Prénom1', last_name: 'Nom1' }, { employee_id: 1, started_at: started, elapsed_s: 7200, sport: 'Randonnée' }),
          congratulation({ first_name: 'Prénom3', last_name: 'Nom3' }, { employee_id: 3, started_at: started, elapsed_s: 3600, sport: 'Randonnée' }),
          congratulation(null, { employee_id: 4, started_at: started, elapsed_s: 5400, sport: 'Escalade' }),
        ].sort(),
      );
      assert.match(texts.find((t) => t.includes('employé·e 4')) ?? '', /^Bravo l'employé·e 4 ! Vous avez fait 1 heure 30 d'Escalade le /);
      const list = await listNotifications(platform.warehouse, { limit: 10, offset: 0 });
      assert.deepEqual(list.counts, { pending: 0, sending: 0, sent: 3, dead: 0, unconfirmed: 0, skipped: 2 });
      const skipped = list.items.filter((i) => i.status === 'skipped').map((i) => [i.employee_id, i.last_error]);
      assert.deepEqual(skipped.sort(), [
        [2, 'the activity was deleted before its message was sent'],
        [5, 'started more than 7 days before it was recorded: not congratulated'],
      ]);
    });
  });
}

/** Starts killedNotifier.ts; resolves once it is ready, and keeps its last reported counts. */
async function startChild(args: string[]): Promise<{ process: ChildProcess; counts: () => NotificationCounts | null; exited: Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'killedNotifier.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let last: NotificationCounts | null = null;
  let buffer = '';
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line === 'ready') ready();
      else if (line.startsWith('counts ')) last = JSON.parse(line.slice(7)) as NotificationCounts;
    }
  });
  await Promise.race([isReady, exited.then(() => Promise.reject(new Error('the notifier process exited before it was ready')))]);
  return { process: proc, counts: () => last, exited };
}

for (const kind of [folderKind(), natsKind()] as BrokerKind[]) {
  describe(`rewards notifier killed (SIGKILL) mid-stream, ${kind.name} broker`, { skip: await kind.skip() }, () => {
    it('after a restart, every message was received once, or is listed unconfirmed: none twice', { timeout: 120_000 }, async () => {
      const n = 3000;
      const topic = freshTopic();
      const home = await tempHome('ecluse-notifier-kill-');
      const brokerDir = await mkdtemp(join(tmpdir(), 'ecluse-notifier-broker-'));
      const slack = await SlackServer.start();
      // Each post takes a little while, so the kill finds some of them under way.
      slack.defaultDelayMs = 15;
      cleanups.push(async () => {
        await kind.cleanup([topic]);
        await slack.close();
        await rm(home, { recursive: true, force: true });
        await rm(brokerDir, { recursive: true, force: true });
      });
      const started = minutesAgo(30);
      const events: ChangeEvent[] = Array.from({ length: n }, (_, i) => activityEvent('c', i + 1, started, { elapsedS: 600 + i }));
      const brokerAt = kind.name.startsWith('NATS') ? NATS_URL : brokerDir;
      const args = [home, brokerAt, topic, slack.url];

      // The embedded broker's folder belongs to one process: everything is published before the notifier starts.
      // Over NATS the events keep coming while the notifier works, is killed and restarts.
      let publishing: Promise<void> = Promise.resolve();
      if (brokerAt === brokerDir) {
        const broker = new EmbeddedBroker({ dir: brokerDir });
        await publishEvents(broker, topic, events);
        await broker.close();
      } else {
        const broker = await kind.open();
        await publishEvents(broker, topic, events.slice(0, 500));
        publishing = (async () => {
          for (let i = 500; i < n; i += 250) {
            await publishEvents(broker, topic, events.slice(i, i + 250));
            await new Promise((r) => setTimeout(r, 100));
          }
        })().finally(() => broker.close());
      }

      const first = await startChild(args);
      await slack.waitFor(Math.floor(n / 3), 60_000);
      first.process.kill('SIGKILL');
      await first.exited;
      const atKill = slack.received.length;
      assert.ok(atKill < n, `the notifier had sent everything (${atKill}) before it was killed`);

      const second = await startChild(args);
      try {
        await until(
          'every activity sent or unconfirmed',
          () => {
            const c = second.counts();
            return c !== null && c.pending === 0 && c.sending === 0 && c.sent + c.unconfirmed === n;
          },
          90_000,
        );
      } finally {
        second.process.kill('SIGTERM');
        await second.exited;
      }
      await publishing;

      const platform = await openPlatform(home);
      let unconfirmed: string[];
      let sent: string[];
      try {
        const rows = await platform.warehouse.query(`SELECT message, status, last_error FROM rewards_notifications`);
        unconfirmed = rows.filter((r) => r.status === 'unconfirmed').map((r) => String(r.message));
        sent = rows.filter((r) => r.status === 'sent').map((r) => String(r.message));
        for (const r of rows.filter((x) => x.status === 'unconfirmed'))
          assert.match(String(r.last_error), /sender stopped while this message was being posted/);
      } finally {
        await platform.warehouse.close();
      }
      const received = slack.received.map((r) => r.text);
      const seen = new Map<string, number>();
      for (const t of received) seen.set(t, (seen.get(t) ?? 0) + 1);
      const twice = [...seen].filter(([, c]) => c > 1);
      assert.deepEqual(twice, [], 'no message received twice');
      const expected = events.map((e) =>
        congratulation(
          { first_name: `Prénom${e.after!.employee_id}`, last_name: `Nom${e.after!.employee_id}` },
          {
            employee_id: Number(e.after!.employee_id),
            started_at: started,
            elapsed_s: Number(e.after!.elapsed_s),
            sport: 'Randonnée',
          },
        ),
      );
      const covered = new Set([...received, ...unconfirmed]);
      const missing = expected.filter((t) => !covered.has(t));
      assert.deepEqual(missing.slice(0, 5), [], `${missing.length} message(s) neither received nor unconfirmed`);
      assert.equal(covered.size, n);
      for (const t of sent) assert.ok(seen.has(t), 'a row marked sent was received');
      console.log(
        `# ${kind.name}: killed after ${atKill} of ${n} messages; ${received.length} received once each, ${unconfirmed.length} unconfirmed (${unconfirmed.filter((t) => seen.has(t)).length} of them did reach Slack)`,
      );
    });
  });
}
