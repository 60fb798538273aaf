import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Broker, Delivery, DeliveryHandler, Json } from '../../src/stream/broker.js';
import { EmbeddedBroker } from '../../src/stream/embedded.js';
import { NatsBroker } from '../../src/stream/nats.js';
import { openBroker } from '../../src/stream/open.js';
import { freshTopic, folderKind, memoryKind, NATS_URL, natsKind, skipUnlessNats, type BrokerKind } from './brokers.js';

/** Collects deliveries until `count` arrived (then resolves `full`). */
function collector(count: number): { seen: Delivery[]; full: Promise<void>; handler: DeliveryHandler } {
  const seen: Delivery[] = [];
  let resolve!: () => void;
  const full = new Promise<void>((r) => (resolve = r));
  return {
    seen,
    full,
    handler: async (d) => {
      seen.push(d);
      if (seen.length >= count) resolve();
    },
  };
}

function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const kind of [memoryKind(), folderKind(), natsKind()] satisfies BrokerKind[]) {
  describe(`broker: ${kind.name}`, { skip: await kind.skip() }, () => {
    const topics: string[] = [];
    const brokers: Broker[] = [];
    const topic = () => {
      const t = freshTopic();
      topics.push(t);
      return t;
    };
    const open = async () => {
      const b = await kind.open();
      brokers.push(b);
      return b;
    };
    const reopen = async (old: Broker) => {
      const b = await kind.reopen(old);
      brokers.push(b);
      return b;
    };
    after(async () => {
      for (const b of brokers) await b.close().catch(() => {});
      await kind.cleanup(topics);
    });

    test('messages come out in the order they were stored, with their payload and headers', async () => {
      const broker = await open();
      const t = topic();
      let last = 0;
      for (let i = 1; i <= 20; i++) {
        const ack = await broker.publish(t, { id: `m${i}`, payload: { i, name: `n${i}`, nested: [i, null] }, headers: { source: 'test' } });
        assert.equal(ack.duplicate, false);
        assert.ok(ack.seq > last, 'seq grows');
        last = ack.seq;
      }
      const c = collector(20);
      const sub = await broker.consume(t, 'reader', c.handler);
      await within(10_000, c.full, 'twenty deliveries');
      await sub.stop();
      assert.deepEqual(
        c.seen.map((d) => d.id),
        Array.from({ length: 20 }, (_, i) => `m${i + 1}`),
      );
      assert.deepEqual(c.seen[4]?.payload, { i: 5, name: 'n5', nested: [5, null] });
      assert.equal(c.seen[0]?.headers.source, 'test');
      assert.equal(c.seen[0]?.deliveryCount, 1);
      assert.equal(c.seen[0]?.topic, t);
    });

    test('publishes made at once are stored in the order they were made', async () => {
      const broker = await open();
      const t = topic();
      const acks = await Promise.all(Array.from({ length: 200 }, (_, i) => broker.publish(t, { id: `c${i}`, payload: i })));
      assert.deepEqual(
        acks.map((a) => a.seq),
        [...acks.map((a) => a.seq)].sort((a, b) => a - b),
      );
      const c = collector(200);
      const sub = await broker.consume(t, 'reader', c.handler);
      await within(20_000, c.full, '200 deliveries');
      await sub.stop();
      assert.deepEqual(
        c.seen.map((d) => d.payload),
        Array.from({ length: 200 }, (_, i) => i),
      );
    });

    test('a republished id is acknowledged, not stored twice', async () => {
      const broker = await open();
      const t = topic();
      const first = await broker.publish(t, { id: 'same', payload: 1 });
      const again = await broker.publish(t, { id: 'same', payload: 1 });
      const concurrent = await Promise.all([broker.publish(t, { id: 'twin', payload: 2 }), broker.publish(t, { id: 'twin', payload: 2 })]);
      await broker.publish(t, { id: 'other', payload: 3 });
      assert.equal(first.duplicate, false);
      assert.equal(again.duplicate, true);
      assert.equal(again.seq, first.seq);
      assert.deepEqual(concurrent.map((a) => a.duplicate).sort(), [false, true]);
      const c = collector(3);
      const sub = await broker.consume(t, 'reader', c.handler);
      await within(10_000, c.full, 'three deliveries');
      await sleep(300);
      await sub.stop();
      assert.deepEqual(
        c.seen.map((d) => [d.id, d.payload as Json]),
        [
          ['same', 1],
          ['twin', 2],
          ['other', 3],
        ],
      );
    });

    test('a message its consumer did not acknowledge before dying is delivered again', async () => {
      const a = await open();
      const t = topic();
      await a.publish(t, { id: 'x1', payload: 'first' });
      await a.publish(t, { id: 'x2', payload: 'second' });
      let firstSeen!: () => void;
      const seenOnce = new Promise<void>((r) => (firstSeen = r));
      // The handler never finishes: the process "dies" while it works on x1.
      const dying = await a.consume(
        t,
        'worker',
        async () => {
          firstSeen();
          await new Promise<never>(() => {});
        },
        { ackWaitMs: 500 },
      );
      await within(10_000, seenOnce, 'first delivery');
      // In memory the broker is the process: its consumer dies alone. Otherwise the whole broker goes.
      if (kind.inMemory) await dying.stop();
      else void a.close();
      const b = await reopen(a);
      const c = collector(2);
      const sub = await b.consume(t, 'worker', c.handler, { ackWaitMs: 500 });
      await within(15_000, c.full, 'redelivery');
      await sub.stop();
      assert.deepEqual(
        c.seen.map((d) => d.id),
        ['x1', 'x2'],
      );
    });

    test('a consumer resumes after the last message it acknowledged', async () => {
      const a = await open();
      const t = topic();
      for (let i = 1; i <= 5; i++) await a.publish(t, { id: `r${i}`, payload: i });
      const c1 = collector(3);
      const first = await a.consume(
        t,
        'resumer',
        async (d) => {
          if (c1.seen.length >= 3) throw new Error('stopping');
          await c1.handler(d);
        },
        { retryDelayMs: 60_000 },
      );
      await within(10_000, c1.full, 'three deliveries');
      await first.stop();
      if (!kind.inMemory) await a.close();
      const b = await reopen(a);
      await b.publish(t, { id: 'r6', payload: 6 });
      const c2 = collector(3);
      const second = await b.consume(t, 'resumer', c2.handler);
      await within(10_000, c2.full, 'the rest');
      await sleep(300);
      await second.stop();
      assert.deepEqual(
        c1.seen.map((d) => d.id),
        ['r1', 'r2', 'r3'],
      );
      assert.deepEqual(
        c2.seen.map((d) => d.id),
        ['r4', 'r5', 'r6'],
      );
      // Another consumer name has a position of its own: it starts at the beginning.
      const c3 = collector(6);
      const other = await b.consume(t, 'another', c3.handler);
      await within(10_000, c3.full, 'another consumer');
      await other.stop();
      assert.equal(c3.seen.length, 6);
    });

    test('a failed handler gets the message again, in place; maxDeliver gives it up', async () => {
      const broker = await open();
      const t = topic();
      await broker.publish(t, { id: 'f1', payload: 'flaky' });
      await broker.publish(t, { id: 'f2', payload: 'poison' });
      await broker.publish(t, { id: 'f3', payload: 'fine' });
      const calls: string[] = [];
      const givenUp: string[] = [];
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      const sub = await broker.consume(
        t,
        'retrier',
        async (d) => {
          calls.push(`${d.id}#${d.deliveryCount}`);
          if (d.id === 'f1' && d.deliveryCount === 1) throw new Error('flaky');
          if (d.id === 'f2') throw new Error('poison');
          if (d.id === 'f3') done();
        },
        { maxDeliver: 3, retryDelayMs: 50, onGiveUp: (d) => givenUp.push(d.id) },
      );
      await within(15_000, finished, 'f3');
      await sub.stop();
      assert.deepEqual(calls, ['f1#1', 'f1#2', 'f2#1', 'f2#2', 'f2#3', 'f3#1']);
      assert.deepEqual(givenUp, ['f2']);
    });

    test('batches: the messages at hand, up to maxBatch, in order; a consumer resumes after its last batch', async () => {
      const a = await open();
      const t = topic();
      for (let i = 1; i <= 25; i++) await a.publish(t, { id: `b${i}`, payload: i });
      const batches: string[][] = [];
      let done!: () => void;
      const all = new Promise<void>((r) => (done = r));
      const first = await a.consumeBatches(
        t,
        'batcher',
        async (ds) => {
          batches.push(ds.map((d) => d.id));
          if (batches.flat().length >= 25) done();
        },
        { maxBatch: 10 },
      );
      await within(10_000, all, 'twenty-five deliveries');
      await first.stop();
      assert.deepEqual(
        batches.flat(),
        Array.from({ length: 25 }, (_, i) => `b${i + 1}`),
      );
      assert.ok(
        batches.every((b) => b.length >= 1 && b.length <= 10),
        JSON.stringify(batches),
      );
      assert.ok(batches.length < 25, `messages at hand come together: ${JSON.stringify(batches)}`);

      if (!kind.inMemory) await a.close();
      const b = await reopen(a);
      await b.publish(t, { id: 'b26', payload: 26 });
      const again = collector(1);
      const second = await b.consumeBatches(t, 'batcher', async (ds) => ds.forEach((d) => void again.handler(d)), { maxBatch: 10 });
      await within(10_000, again.full, 'the new message');
      await sleep(300);
      await second.stop();
      assert.deepEqual(
        again.seen.map((d) => d.id),
        ['b26'],
      );
      await assert.rejects(
        b.consumeBatches(t, 'zero', async () => {}, { maxBatch: 0 }),
        /invalid maxBatch/,
      );
    });

    test('a failed batch comes again one message at a time: the bad one fails alone, maxDeliver gives it up', async () => {
      const broker = await open();
      const t = topic();
      for (let i = 1; i <= 6; i++) await broker.publish(t, { id: `p${i}`, payload: i });
      const calls: string[][] = [];
      const handled: string[] = [];
      const givenUp: string[] = [];
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      const sub = await broker.consumeBatches(
        t,
        'isolator',
        async (ds) => {
          calls.push(ds.map((d) => `${d.id}#${d.deliveryCount}`));
          if (ds.some((d) => d.id === 'p3')) throw new Error('poison');
          handled.push(...ds.map((d) => d.id));
          if (handled.length + givenUp.length >= 6) done();
        },
        {
          maxBatch: 10,
          maxDeliver: 2,
          retryDelayMs: 50,
          onGiveUp: (d) => {
            givenUp.push(d.id);
            if (handled.length + givenUp.length >= 6) done();
          },
        },
      );
      await within(15_000, finished, 'every message handled or given up');
      await sleep(300);
      await sub.stop();
      assert.deepEqual(givenUp, ['p3']);
      assert.deepEqual([...handled].sort(), ['p1', 'p2', 'p4', 'p5', 'p6'], `each good message handled once: ${JSON.stringify(calls)}`);
      const withPoison = calls.filter((c) => c.some((id) => id.startsWith('p3#')));
      assert.deepEqual(withPoison.at(-1), ['p3#2'], `given up after a delivery alone: ${JSON.stringify(calls)}`);
    });
  });
}

describe('embedded broker on disk', () => {
  test('a torn last line (a crash in mid-write) is dropped; the log goes on after it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ecluse-broker-torn-'));
    try {
      const a = new EmbeddedBroker({ dir });
      await a.publish('sport.activities', { id: 'a', payload: 1 });
      await a.publish('sport.activities', { id: 'b', payload: 2 });
      await a.close();
      await appendFile(join(dir, 'sport.activities', 'log.jsonl'), '{"seq":3,"id":"c","at":1,"pay');
      const b = new EmbeddedBroker({ dir });
      assert.equal((await b.publish('sport.activities', { id: 'b', payload: 2 })).duplicate, true);
      const c = await b.publish('sport.activities', { id: 'c', payload: 3 });
      assert.deepEqual(c, { seq: 3, duplicate: false });
      const got = collector(3);
      const sub = await b.consume('sport.activities', 'r', got.handler);
      await within(5_000, got.full, 'three');
      await sub.stop();
      await b.close();
      assert.deepEqual(
        got.seen.map((d) => d.payload),
        [1, 2, 3],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('topics and consumer names are checked', async () => {
    const broker = new EmbeddedBroker();
    await assert.rejects(broker.publish('nodot', { id: 'a', payload: 1 }), /invalid topic/);
    await assert.rejects(broker.publish('a/../b.c', { id: 'a', payload: 1 }), /invalid topic/);
    await assert.rejects(
      broker.consume('a.b', 'bad name', async () => {}),
      /invalid consumer name/,
    );
    await broker.close();
  });
});

const natsSkip = await skipUnlessNats();

describe('openBroker', () => {
  test('no ECLUSE_BROKER: the embedded broker; an unknown scheme is refused', async () => {
    const broker = await openBroker(undefined);
    assert.ok(broker instanceof EmbeddedBroker);
    await broker.close();
    await assert.rejects(openBroker('kafka://localhost:9092'), /unknown broker/);
  });

  test('nats://: NATS JetStream', { skip: natsSkip }, async () => {
    const broker = await openBroker(NATS_URL);
    assert.ok(broker instanceof NatsBroker);
    await broker.close();
  });
});
