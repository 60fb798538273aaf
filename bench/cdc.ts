import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { ChangeReader, type ChangeEvent } from '../src/cdc/reader.js';
import { dropSlot, slotStatus } from '../src/cdc/slot.js';
import type { Json } from '../src/stream/broker.js';
import { NatsBroker } from '../src/stream/nats.js';
import { machine } from './stations.js';

const PG = process.env.ECLUSE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS = process.env.ECLUSE_BENCH_NATS ?? 'nats://127.0.0.1:4222';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000)).toLocaleString('en')} events/s`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Rig {
  table: string;
  stored: Map<number, number>;
  /** Stops the reader (the slot stays) and waits until PostgreSQL released the slot. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Why the reader stopped, if it did. */
  failure(): unknown;
  close(): Promise<void>;
}

/** A table captured into NATS JetStream; `stored` gets, per row id, when the broker acknowledged its event. */
async function rig(admin: pg.Pool, broker: NatsBroker): Promise<Rig> {
  const suffix = randomBytes(4).toString('hex');
  const table = `cdc_bench_${suffix}`;
  const slot = `cdc_bench_${suffix}`;
  const publication = `cdc_bench_${suffix}`;
  const topic = `cdcbench${suffix}.rows`;
  await admin.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text, value double precision, at timestamptz DEFAULT now())`);
  const stored = new Map<number, number>();
  const options = {
    url: PG,
    publication,
    slot,
    tables: [table],
    sink: async (events: ChangeEvent[]) => {
      await Promise.all(
        events.map((e) =>
          broker.publish(topic, { id: e.id, payload: e as unknown as Json }).then(() => {
            const id = e.after?.id;
            if (typeof id === 'number') stored.set(id, performance.now());
          }),
        ),
      );
    },
  };
  const startReader = async () => {
    const started = await ChangeReader.start(options);
    while (!(await started.status()).active) await sleep(20);
    return started;
  };
  let reader = await startReader();
  let failure: unknown;
  const watch = (r: ChangeReader) => r.done.catch((err: unknown) => (failure = err));
  void watch(reader);
  const released = async () => {
    while ((await slotStatus(admin, slot)).active) await sleep(20);
  };
  return {
    table,
    stored,
    pause: async () => {
      await reader.stop();
      await released();
    },
    resume: async () => {
      reader = await startReader();
      void watch(reader);
    },
    failure: () => failure,
    close: async () => {
      await reader.stop();
      await released();
      await dropSlot(admin, slot);
      await admin.query(`DROP PUBLICATION IF EXISTS ${publication}`);
      await admin.query(`DROP TABLE IF EXISTS ${table}`);
      await broker.deleteStream(topic).catch(() => {});
    },
  };
}

async function waitFor(r: Rig, count: number, timeoutMs: number): Promise<void> {
  const { stored } = r;
  const end = Date.now() + timeoutMs;
  while (stored.size < count) {
    if (r.failure()) throw new Error(`the reader stopped after ${stored.size} of ${count} events`, { cause: r.failure() });
    if (Date.now() > end) throw new Error(`only ${stored.size} of ${count} events stored after ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Sustained throughput: `total` rows inserted in transactions of `perTxn` rows, as fast as one client commits. */
async function throughput(admin: pg.Pool, broker: NatsBroker, total: number, perTxn: number, producers: number): Promise<void> {
  const r = await rig(admin, broker);
  try {
    const clients = await Promise.all(
      Array.from({ length: producers }, async () => {
        const c = new pg.Client({ connectionString: PG });
        await c.connect();
        return c;
      }),
    );
    const t0 = performance.now();
    const txns = total / perTxn;
    let next = 0;
    await Promise.all(
      clients.map(async (c) => {
        for (let t = next++; t < txns; t = next++) {
          await c.query(`INSERT INTO ${r.table} (id, name, value) SELECT g, 'row ' || g, g * 0.5 FROM generate_series($1::int, $2::int) g`, [
            t * perTxn + 1,
            (t + 1) * perTxn,
          ]);
        }
      }),
    );
    const committed = performance.now() - t0;
    await waitFor(r, total, 300_000);
    const all = performance.now() - t0;
    await Promise.all(clients.map((c) => c.end()));
    console.log(
      `  ${total.toLocaleString('en')} rows, ${perTxn} per transaction, ${producers} producer(s): committed at ${rate(total, committed)}; stored in NATS at ${rate(total, all)} (last stored ${(all / 1000).toFixed(2)} s after the first commit began)`,
    );
  } finally {
    await r.close();
  }
}

/**
 * The reader's own ceiling: `total` rows committed while it is stopped (a backlog in the slot), then the time
 * from its start to the last event stored.
 */
async function backlog(admin: pg.Pool, broker: NatsBroker, total: number): Promise<void> {
  const r = await rig(admin, broker);
  try {
    await r.pause();
    await admin.query(`INSERT INTO ${r.table} (id, name, value) SELECT g, 'row ' || g, g * 0.5 FROM generate_series(1, $1::int) g`, [total]);
    const t0 = performance.now();
    await r.resume();
    await waitFor(r, total, 300_000);
    const all = performance.now() - t0;
    console.log(`  backlog of ${total.toLocaleString('en')} rows (one transaction) drained into NATS at ${rate(total, all)} (${(all / 1000).toFixed(2)} s)`);
  } finally {
    await r.close();
  }
}

/** Latency at a steady rate: one row per transaction, `perSecond` of them, for `seconds`. */
async function latency(admin: pg.Pool, broker: NatsBroker, perSecond: number, seconds: number): Promise<void> {
  const r = await rig(admin, broker);
  try {
    const total = perSecond * seconds;
    const producers = 4;
    const clients = await Promise.all(
      Array.from({ length: producers }, async () => {
        const c = new pg.Client({ connectionString: PG });
        await c.connect();
        return c;
      }),
    );
    const committedAt = new Map<number, number>();
    const t0 = performance.now();
    let next = 1;
    let late = 0;
    await Promise.all(
      clients.map(async (c) => {
        for (let id = next++; id <= total; id = next++) {
          const due = t0 + ((id - 1) * 1000) / perSecond;
          const wait = due - performance.now();
          if (wait > 1) await sleep(wait);
          else if (wait < -50) late++;
          await c.query(`INSERT INTO ${r.table} (id, name, value) VALUES ($1, 'row', 1)`, [id]);
          committedAt.set(id, performance.now());
        }
      }),
    );
    const elapsed = performance.now() - t0;
    await waitFor(r, total, 60_000);
    await Promise.all(clients.map((c) => c.end()));
    // The walsender may decode a commit before its client hears COMMIT's answer: such a row counts as 0 ms.
    const lat = [...committedAt].map(([id, at]) => Math.max(0, (r.stored.get(id) ?? NaN) - at)).sort((a, b) => a - b);
    console.log(
      `  ${total.toLocaleString('en')} single-row transactions at ${perSecond}/s (achieved ${rate(total, elapsed)}, ${late} sent >50 ms late): commit→stored p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms, max ${percentile(lat, 100).toFixed(1)} ms`,
    );
  } finally {
    await r.close();
  }
}

/**
 * Change data capture into NATS JetStream: events per second from committed inserts (target ≥ 6,000/s),
 * and the latency from a commit to its event stored in JetStream at 1,000 commits/s (target p99 < 100 ms).
 */
export async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  const admin = new pg.Pool({ connectionString: PG, max: 2 });
  const broker = await NatsBroker.open({ url: NATS });
  try {
    console.log('throughput (PostgreSQL → pgoutput → ChangeReader → NATS JetStream, acknowledged):');
    await throughput(admin, broker, 10_000, 100, 1);
    await throughput(admin, broker, 100_000, 100, 2);
    await throughput(admin, broker, 30_000, 1, 4);
    await backlog(admin, broker, 100_000);
    console.log('latency:');
    await latency(admin, broker, 1_000, 10);
  } finally {
    await broker.close();
    await admin.end();
  }
}
