import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { formatLsn, parseLsn } from '../../src/cdc/lsn.js';
import { ChangeReader, type ChangeEvent, type ChangeSink } from '../../src/cdc/reader.js';
import { brokerSink, tableTopic } from '../../src/cdc/sink.js';
import { dropSlot, SlotLostError, slotStatus } from '../../src/cdc/slot.js';
import type { Broker, Delivery } from '../../src/stream/broker.js';
import { EmbeddedBroker } from '../../src/stream/embedded.js';
import { NatsBroker } from '../../src/stream/nats.js';
import { NATS_URL, skipUnlessNats } from '../stream/brokers.js';
import { PG_BASE, skipUnlessLogical } from '../helpers/warehouses.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

describe('lsn', () => {
  test('parses and prints as PostgreSQL does', () => {
    assert.equal(parseLsn('16/B374D848'), (0x16n << 32n) + 0xb374d848n);
    assert.equal(formatLsn(parseLsn('16/B374D848')), '16/B374D848');
    assert.equal(formatLsn(parseLsn('0/0')), '0/0');
    assert.throws(() => parseLsn('16-B3'), /not a PostgreSQL LSN/);
  });

  test('a lost slot is explained', () => {
    assert.match(new SlotLostError('s').message, /wal_status = 'lost'.*max_slot_wal_keep_size.*resync/);
  });
});

const pgSkip = await skipUnlessLogical();
const natsSkip = await skipUnlessNats();

describe('change data capture from PostgreSQL', { skip: pgSkip }, () => {
  const admin = new pg.Pool({ connectionString: PG_BASE, max: 2 });
  const readers: ChangeReader[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const r of readers) await r.stop().catch(() => {});
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await admin.end();
  });

  /** A table, publication and slot of the test's own; all dropped at the end (a slot left keeps WAL forever). */
  async function fixture(): Promise<{ table: string; publication: string; slot: string }> {
    const suffix = randomBytes(4).toString('hex');
    const names = { table: `cdc_t_${suffix}`, publication: `cdc_p_${suffix}`, slot: `cdc_s_${suffix}` };
    await admin.query(`CREATE TABLE ${names.table} (id int PRIMARY KEY, name text, amount numeric(10,2), at timestamptz, data jsonb)`);
    cleanups.push(async () => {
      await until('slot released', async () => !(await slotStatus(admin, names.slot).catch(() => ({ active: false }))).active, 10_000).catch(() => {});
      await dropSlot(admin, names.slot);
      await admin.query(`DROP PUBLICATION IF EXISTS ${names.publication}`);
      await admin.query(`DROP TABLE IF EXISTS ${names.table}`);
    });
    return names;
  }

  async function start(names: { table: string; publication: string; slot: string }, sink: ChangeSink): Promise<ChangeReader> {
    const reader = await ChangeReader.start({ url: PG_BASE, publication: names.publication, slot: names.slot, tables: [names.table], sink });
    readers.push(reader);
    return reader;
  }

  test('inserts, updates and deletes come out as c, u, d with whole rows before and after', async () => {
    const names = await fixture();
    const events: ChangeEvent[] = [];
    const reader = await start(names, async (batch) => void events.push(...batch));
    await admin.query(`INSERT INTO ${names.table} VALUES (1, 'Audrey', 30940.50, '2025-08-17T09:00:00Z', '{"sport":"Randonnée"}')`);
    await admin.query(`UPDATE ${names.table} SET name = 'Juliette' WHERE id = 1`);
    await admin.query(`DELETE FROM ${names.table} WHERE id = 1`);
    await until('three events', () => events.length >= 3);
    await reader.stop();
    assert.deepEqual(
      events.map((e) => e.op),
      ['c', 'u', 'd'],
    );
    const row = { id: 1, name: 'Audrey', amount: '30940.50', at: '2025-08-17T09:00:00.000Z', data: { sport: 'Randonnée' } };
    assert.deepEqual(events[0]?.before, null);
    assert.deepEqual(events[0]?.after, row);
    assert.deepEqual(events[1]?.before, row);
    assert.deepEqual(events[1]?.after, { ...row, name: 'Juliette' });
    assert.deepEqual(events[2]?.before, { ...row, name: 'Juliette' });
    assert.equal(events[2]?.after, null);
    assert.deepEqual({ schema: events[0]?.source.schema, table: events[0]?.source.table }, { schema: 'public', table: names.table });
    assert.equal(typeof events[0]?.source.txId, 'number');
    assert.ok(Math.abs((events[0]?.ts_ms ?? 0) - Date.now()) < 60_000, 'ts_ms is the commit time');
    assert.equal(new Set(events.map((e) => e.id)).size, 3);
  });

  test('rows of one transaction share its LSN and get distinct ids', async () => {
    const names = await fixture();
    const events: ChangeEvent[] = [];
    const reader = await start(names, async (batch) => void events.push(...batch));
    await admin.query(`INSERT INTO ${names.table} (id, name) SELECT g, 'n' || g FROM generate_series(1, 3) g`);
    await until('three events', () => events.length >= 3);
    await reader.stop();
    const lsn = events[0]?.source.lsn ?? '';
    assert.ok(events.every((e) => e.source.lsn === lsn && e.source.txId === events[0]?.source.txId));
    assert.deepEqual(
      events.map((e) => e.id),
      [0, 1, 2].map((i) => `${names.slot}:${lsn}:${i}`),
    );
  });

  test('a big transaction reaches the sink in slices, and is confirmed once they are all stored', async () => {
    const names = await fixture();
    const sizes: number[] = [];
    let lsnDuringSlices: string | null = null;
    let commitLsn = '';
    const reader = await ChangeReader.start({
      url: PG_BASE,
      publication: names.publication,
      slot: names.slot,
      tables: [names.table],
      maxSinkEvents: 100,
      sink: async (batch) => {
        sizes.push(batch.length);
        commitLsn = batch[0]?.source.lsn ?? '';
        if (sizes.length === 2) lsnDuringSlices = (await slotStatus(admin, names.slot)).confirmedFlushLsn;
      },
    });
    readers.push(reader);
    await admin.query(`INSERT INTO ${names.table} (id, name) SELECT g, 'n' || g FROM generate_series(1, 250) g`);
    await until('250 events', () => sizes.reduce((a, b) => a + b, 0) >= 250);
    await until('confirmed', async () => parseLsn((await slotStatus(admin, names.slot)).confirmedFlushLsn ?? '0/0') >= parseLsn(commitLsn));
    await reader.stop();
    assert.deepEqual(sizes, [100, 100, 50]);
    assert.ok(parseLsn(lsnDuringSlices ?? '0/0') < parseLsn(commitLsn), 'nothing of the transaction confirmed while slices of it were still out');
  });

  test('lag is reported in bytes, and falls once the reader has stored the changes', async () => {
    const names = await fixture();
    const seen: ChangeEvent[] = [];
    let reader = await start(names, async (batch) => void seen.push(...batch));
    await until('slot active', async () => (await reader.status()).active);
    await reader.stop();
    await until('slot released', async () => !(await slotStatus(admin, names.slot)).active);
    await admin.query(`INSERT INTO ${names.table} (id, name) SELECT g, repeat('x', 200) FROM generate_series(1, 2000) g`);
    const behind = await slotStatus(admin, names.slot);
    assert.ok(behind.lagBytes > 2000 * 200, `lag ${behind.lagBytes} bytes covers the rows written`);
    assert.ok(behind.walStatus === 'reserved' || behind.walStatus === 'extended', `wal_status ${behind.walStatus}`);
    assert.equal(typeof behind.maxSlotWalKeepSize, 'string');
    reader = await start(names, async (batch) => void seen.push(...batch));
    await until('2000 events', () => seen.length >= 2000);
    await until('confirmed past the rows', async () => (await reader.lagBytes()) < behind.lagBytes / 2);
    await reader.stop();
  });

  for (const kind of ['embedded', 'nats'] as const) {
    test(
      `a reader dying after storing but before acknowledging: nothing lost, nothing twice (${kind} broker)`,
      { skip: kind === 'nats' ? natsSkip : false },
      async () => {
        const names = await fixture();
        const broker: Broker = kind === 'nats' ? await NatsBroker.open({ url: NATS_URL }) : new EmbeddedBroker();
        const prefix = `cdc${randomBytes(4).toString('hex')}`;
        const topic = `${prefix}.public.${names.table}`;
        cleanups.push(async () => {
          if (broker instanceof NatsBroker) await broker.deleteStream(topic);
          await broker.close();
        });
        let duplicates = 0;
        // The broker as the sink sees it, counting the publishes it answers as duplicates.
        const counted: Broker = {
          publish: async (t, m) => {
            const ack = await broker.publish(t, m);
            if (ack.duplicate) duplicates++;
            return ack;
          },
          consume: (...args) => broker.consume(...args),
          consumeBatches: (...args) => broker.consumeBatches(...args),
          close: () => broker.close(),
        };
        const store = brokerSink(counted, tableTopic(prefix));
        let published = 0;
        let crashed = false;
        // First life: stores every batch, and dies (throws) after storing the one that reaches 10 events.
        const dying = await start(names, async (events) => {
          await store(events);
          published += events.length;
          if (!crashed && published >= 10) {
            crashed = true;
            throw new Error('the process dies before acknowledging');
          }
        });
        for (let t = 0; t < 5; t++)
          await admin.query(`INSERT INTO ${names.table} (id, name) SELECT g, 'r' || g FROM generate_series(${t * 5 + 1}, ${t * 5 + 5}) g`);
        await assert.rejects(dying.done, /dies before acknowledging/);
        await until('slot released', async () => !(await slotStatus(admin, names.slot)).active);
        for (let t = 5; t < 10; t++)
          await admin.query(`INSERT INTO ${names.table} (id, name) SELECT g, 'r' || g FROM generate_series(${t * 5 + 1}, ${t * 5 + 5}) g`);
        const received: Delivery[] = [];
        const consumer = await broker.consume(topic, 'check', async (d) => void received.push(d));
        // Second life: what the first stored but did not acknowledge comes again, and the broker drops it.
        const second = await start(names, store);
        await until('fifty rows in the broker', () => received.length >= 50);
        await sleep(300);
        await consumer.stop();
        await second.stop();
        assert.equal(received.length, 50, 'each change stored once');
        assert.equal(new Set(received.map((d) => d.id)).size, 50);
        assert.deepEqual(
          received.map((d) => (d.payload as unknown as ChangeEvent).after?.id),
          Array.from({ length: 50 }, (_, i) => i + 1),
          'every row, in commit order',
        );
        assert.ok(duplicates > 0, 'the second life read again changes the first had stored');
      },
    );
  }

  /** Starts killedReader.ts; resolves once its output shows `line`. */
  function child(args: string[], line: string): { process: ChildProcess; reached: Promise<void> } {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'killedReader.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const reached = new Promise<void>((resolve, reject) => {
      proc.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.split('\n').includes(line)) resolve();
      });
      proc.once('exit', (code) => reject(new Error(`the reader process ended (${code}) before "${line}": ${out}`)));
    });
    reached.catch(() => {});
    return { process: proc, reached };
  }

  for (const kind of ['embedded', 'nats'] as const) {
    test(
      `a reader process killed (SIGKILL) between storing and confirming: nothing lost, nothing twice (${kind} broker)`,
      { skip: kind === 'nats' ? natsSkip : false },
      async () => {
        const names = await fixture();
        const prefix = `cdc${randomBytes(4).toString('hex')}`;
        const topic = `${prefix}.public.${names.table}`;
        const dir = kind === 'embedded' ? await mkdtemp(join(tmpdir(), 'ecluse-cdc-kill-')) : undefined;
        const brokerAt = dir ?? NATS_URL;
        const args = [PG_BASE, names.publication, names.slot, names.table, brokerAt, prefix];
        const first = child([...args, 'hang'], 'hanging');
        const insert = async (from: number, to: number) => {
          for (let t = from; t < to; t++)
            await admin.query(`INSERT INTO ${names.table} (id, name) SELECT g, 'r' || g FROM generate_series(${t * 5 + 1}, ${t * 5 + 5}) g`);
        };
        // The first process creates the slot: rows inserted before would not be in it.
        await until('slot created', async () => (await admin.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [names.slot])).rowCount === 1);
        await insert(0, 5);
        await first.reached;
        first.process.kill('SIGKILL');
        await until('slot released', async () => !(await slotStatus(admin, names.slot)).active);
        await insert(5, 10);
        const second = child(args, 'last 50');
        await second.reached;
        // The broker is read once the reader is gone: the embedded one lives in the reader's process.
        second.process.kill('SIGKILL');
        await new Promise((r) => second.process.once('exit', r));
        const broker: Broker = kind === 'nats' ? await NatsBroker.open({ url: NATS_URL }) : new EmbeddedBroker({ dir: brokerAt });
        try {
          const received: Delivery[] = [];
          const consumer = await broker.consume(topic, 'check', async (d) => void received.push(d));
          await until('fifty rows in the broker', () => received.length >= 50);
          await sleep(300);
          await consumer.stop();
          assert.deepEqual(
            received.map((d) => (d.payload as unknown as ChangeEvent).after?.id),
            Array.from({ length: 50 }, (_, i) => i + 1),
            'each row once, in commit order',
          );
        } finally {
          if (broker instanceof NatsBroker) await broker.deleteStream(topic).catch(() => {});
          await broker.close();
          if (dir) await rm(dir, { recursive: true, force: true });
        }
      },
    );
  }
});
