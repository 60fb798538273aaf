import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { Registry } from 'prom-client';
import type { ChangeEvent } from '../../../src/cdc/reader.js';
import { registerStreamMetrics } from '../../../src/observability/streamMetrics.js';
import { StreamSupervisor } from '../../../src/orchestrator/streamSupervisor.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { acquireRewardsBroker, SPORT_ACTIVITIES_TOPIC, type RewardsBrokerLease } from '../../../src/pipelines/rewards/broker.js';
import { ACTIVITY_CHANGES_SOURCE, rewardsCaptureStream, type RewardsCaptureOptions } from '../../../src/pipelines/rewards/capture.js';
import { insertActivities, openCompanyDb, type Activity, type CompanyDb } from '../../../src/pipelines/rewards/companyDb.js';
import type { Broker, Delivery } from '../../../src/stream/broker.js';
import { NatsBroker } from '../../../src/stream/nats.js';
import { readStreamPositions } from '../../../src/warehouse/streamTables.js';
import type { Warehouse } from '../../../src/warehouse/warehouse.js';
import { capturingLogger, until } from '../../orchestrator/testStreams.js';
import { parseSamples, sampleKey } from '../../observability/promText.js';
import { skipUnlessPgBinaries, startPgCluster, type PgCluster } from '../../helpers/pgCluster.js';
import { openPlatform, tempHome } from '../../helpers/platform.js';
import { skipUnlessLogical } from '../../helpers/warehouses.js';
import { freshTopic, NATS_URL, skipUnlessNats } from '../../stream/brokers.js';
import { freshCompanyDatabase } from './companyDbs.js';

const STREAM = 'rewards-capture';
const FAST = { backoffMs: 100, maxBackoffMs: 500, heartbeatMs: 100, lockPollMs: 50, stopTimeoutMs: 10_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A throwaway cluster with wal_level = logical (set, then a restart: it is a postmaster setting). */
async function logicalCluster(settings: readonly string[] = []): Promise<PgCluster> {
  const cluster = await startPgCluster();
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  for (const setting of ['wal_level = logical', ...settings]) await admin.query(`ALTER SYSTEM SET ${setting}`);
  await admin.end();
  cluster.restartSync();
  return cluster;
}

/**
 * Fresh company databases on a server with logical replication: the shared one (`freshCompanyDatabase`) when
 * it has wal_level = logical, else a throwaway cluster of this suite's (the shared server is never restarted).
 */
interface CompanyServer {
  fresh(): Promise<{ url: string; drop: () => Promise<void> }>;
  close(): Promise<void>;
}

const shared = await skipUnlessLogical();
const clusterSkip = skipUnlessPgBinaries();
/** false to run, or why not. */
const pgSkip: string | false =
  shared === false || clusterSkip === false ? false : `${shared}, and no PostgreSQL binaries to start one with logical: ${clusterSkip}`;

async function companyServer(): Promise<CompanyServer> {
  if (shared === false) return { fresh: () => freshCompanyDatabase('capture'), close: async () => {} };
  const cluster = await logicalCluster();
  return {
    async fresh() {
      const name = `capture_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: cluster.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`).finally(() => admin.end());
      const url = new URL(cluster.url);
      url.pathname = `/${name}`;
      // The cluster is destroyed with its slots at the end.
      return { url: url.toString(), drop: async () => {} };
    },
    close: () => cluster.destroy(),
  };
}

/** Activity `n` of a test: employee 1 + n % 7, one an hour from a fixed start. */
function activity(n: number): Activity {
  const started = new Date(Date.UTC(2025, 7, 1) + n * 3600_000);
  return {
    employee_id: 1 + (n % 7),
    started_at: started,
    ended_at: new Date(started.getTime() + 1800_000),
    elapsed_s: 1800,
    sport: n % 2 ? 'Runing' : 'Randonnée',
    distance_m: n % 2 ? 5000 + n : null,
    comment: n % 3 ? null : `séance ${n}`,
    source: 'strava',
  };
}

const keyOf = (row: ChangeEvent['after']) => `${String(row?.employee_id)}:${String(row?.started_at)}`;
const eventOf = (d: Delivery) => d.payload as unknown as ChangeEvent;

/** A PostgreSQL company database, opened without a warehouse: only the embedded one uses it. */
const companyAt = (url: string) => openCompanyDb(url, undefined as unknown as Warehouse);

/** Everything on `topic`, as it arrives (a consumer of its own). */
async function collect(broker: Broker, topic: string): Promise<{ received: Delivery[]; stop: () => Promise<void> }> {
  const received: Delivery[] = [];
  const sub = await broker.consume(topic, `check_${randomBytes(3).toString('hex')}`, async (d) => void received.push(d));
  return { received, stop: () => sub.stop() };
}

/** The broker of `config`, with the publishes it answered as duplicates counted. */
function countingBroker(counts: { published: number; duplicates: number }): NonNullable<RewardsCaptureOptions['acquireBroker']> {
  return async (config) => {
    const lease = await acquireRewardsBroker(config);
    const broker: Broker = {
      publish: async (t, m) => {
        const ack = await lease.broker.publish(t, m);
        counts.published++;
        if (ack.duplicate) counts.duplicates++;
        return ack;
      },
      consume: (...args) => lease.broker.consume(...args),
      consumeBatches: (...args) => lease.broker.consumeBatches(...args),
      close: () => lease.broker.close(),
    };
    return { broker, release: lease.release };
  };
}

const natsSkip = await skipUnlessNats();

describe('the rewards broker of a process', () => {
  test('one instance for every user of a configuration, closed by the last release, opened anew after', async () => {
    const home = await tempHome('ecluse-rewards-broker-');
    const config = { home, broker: undefined };
    try {
      const a = await acquireRewardsBroker(config);
      const b = await acquireRewardsBroker(config);
      assert.equal(a.broker, b.broker, 'the capture and the notifier share the embedded broker');
      const other = await acquireRewardsBroker({ home: join(home, 'other'), broker: undefined });
      assert.notEqual(other.broker, a.broker);
      await other.release();
      await a.release();
      await a.release();
      // Still open for the one user left.
      await b.broker.publish(SPORT_ACTIVITIES_TOPIC, { id: 'x', payload: 1 });
      await b.release();
      await assert.rejects(b.broker.publish(SPORT_ACTIVITIES_TOPIC, { id: 'y', payload: 2 }), /closed/);
      const c = await acquireRewardsBroker(config);
      assert.notEqual(c.broker, a.broker);
      assert.equal((await c.broker.publish(SPORT_ACTIVITIES_TOPIC, { id: 'x', payload: 1 })).duplicate, true, 'the same folder, reopened');
      await c.release();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('rewards capture: the embedded company database', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  });
  /** A home of its own (embedded warehouse and broker), removed after the suite. */
  const embeddedHome = async (name: string) => {
    const home = await tempHome(`ecluse-capture-${name}-`);
    const platform = await openPlatform(home);
    const broker = await acquireRewardsBroker(platform.config);
    cleanups.push(async () => {
      await broker.release();
      await platform.warehouse.close();
      await rm(home, { recursive: true, force: true });
    });
    return { platform, broker };
  };

  test('idles without tables; then change log → topic, position committed, a restart resumes without repeats', async () => {
    const { platform, broker } = await embeddedHome('embedded');
    const counts = { published: 0, duplicates: 0 };
    const options: RewardsCaptureOptions = { pollMs: 50, idleCheckMs: 50, lagIntervalMs: 50, acquireBroker: countingBroker(counts) };
    const { logger } = capturingLogger();
    let supervisor = new StreamSupervisor(platform, [rewardsCaptureStream(options)], { ...FAST, logger });
    supervisor.start();
    await sleep(500);
    const tables = await platform.warehouse.query(`SELECT table_name FROM information_schema.tables WHERE table_name IN ('activity_changes', 'activities')`);
    assert.deepEqual(tables, [], 'nothing created in a warehouse that never used rewards');
    assert.equal(supervisor.restarts.get(STREAM) ?? 0, 0, 'idling is not crashing');

    const company = await openCompanyDb(undefined, platform.warehouse);
    const { received, stop } = await collect(broker.broker, SPORT_ACTIVITIES_TOPIC);
    cleanups.push(stop);
    assert.equal(await insertActivities(company, [activity(0), activity(1), activity(2)]), 3);
    assert.equal(await insertActivities(company, [activity(2), activity(3), activity(4)]), 2);
    await until('five events', () => received.length >= 5);
    await until('position committed', async () => (await readStreamPositions(platform.warehouse, STREAM)).get(ACTIVITY_CHANGES_SOURCE) === '5');
    await supervisor.stop();

    const first = eventOf(received[0]!);
    assert.deepEqual(first, {
      id: 'changes:1',
      op: 'c',
      before: null,
      after: {
        employee_id: 1,
        started_at: '2025-08-01T00:00:00.000Z',
        ended_at: '2025-08-01T00:30:00.000Z',
        elapsed_s: 1800,
        sport: 'Randonnée',
        distance_m: null,
        comment: 'séance 0',
        source: 'strava',
        recorded_at: first.after?.recorded_at ?? null,
      },
      source: { lsn: '1', schema: 'embedded', table: 'activities' },
      ts_ms: first.ts_ms,
    });
    assert.ok(Math.abs(first.ts_ms - Date.now()) < 60_000);

    // Written while the stream is down: the next start publishes them, and only them.
    await insertActivities(company, [activity(5), activity(6)]);
    const before = counts.published;
    supervisor = new StreamSupervisor(platform, [rewardsCaptureStream(options)], { ...FAST, logger });
    supervisor.start();
    await until('seven events', () => received.length >= 7);
    await sleep(300);
    await supervisor.stop();
    assert.equal(counts.published - before, 2, 'the restart published only the two new changes');
    assert.equal(counts.duplicates, 0);
    assert.deepEqual(
      received.map((d) => d.id),
      [1, 2, 3, 4, 5, 6, 7].map((n) => `changes:${n}`),
    );
    assert.deepEqual(
      received.map((d) => keyOf(eventOf(d).after)),
      [0, 1, 2, 3, 4, 5, 6].map((n) => keyOf({ employee_id: activity(n).employee_id, started_at: activity(n).started_at.toISOString() })),
    );
  });

  test('a hole in the change log is waited for, then stepped over', async () => {
    const { platform, broker } = await embeddedHome('gap');
    const company = await openCompanyDb(undefined, platform.warehouse);
    await insertActivities(company, [activity(0)]);
    // A transaction rolled back after taking numbers: they never show.
    await company
      .transaction(async (tx) => {
        await tx.execute(`SELECT nextval('activity_changes_seq')`);
        throw new Error('rolled back');
      })
      .catch(() => {});
    await insertActivities(company, [activity(1)]);
    const { received, stop } = await collect(broker.broker, SPORT_ACTIVITIES_TOPIC);
    cleanups.push(stop);
    const supervisor = new StreamSupervisor(platform, [rewardsCaptureStream({ pollMs: 50, gapWaitMs: 1000 })], { ...FAST, logger: capturingLogger().logger });
    supervisor.start();
    await until('the first event', () => received.length >= 1);
    await sleep(400);
    assert.equal(received.length, 1, 'the change after the hole waits');
    await until('the second event, past the hole', () => received.length >= 2, 5000);
    await supervisor.stop();
    assert.deepEqual(
      received.map((d) => d.id),
      ['changes:1', 'changes:3'],
    );
  });
});

describe('rewards capture: PostgreSQL logical replication', { skip: pgSkip }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  let server: Promise<CompanyServer> | undefined;
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error(err));
    if (server) await (await server).close();
  });

  async function setup(extraEnv: Record<string, string | undefined> = {}) {
    server ??= companyServer();
    const db = await (await server).fresh();
    const home = await tempHome('ecluse-capture-pg-');
    const platform = await openPlatform(home, { ECLUSE_REWARDS_DB: db.url, ...extraEnv });
    const company = await companyAt(db.url);
    cleanups.push(async () => {
      await company.close();
      await platform.warehouse.close();
      await db.drop();
      await rm(home, { recursive: true, force: true });
    });
    return { db, home, platform, company, slot: `capture_${randomBytes(4).toString('hex')}` };
  }

  async function slotExists(url: string, slot: string): Promise<boolean> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount === 1;
    } finally {
      await client.end();
    }
  }

  test('inserts, an update and a delete arrive once each, with before and after; rows of one transaction get distinct events', async () => {
    const { platform, company, db, slot } = await setup();
    const lease = await acquireRewardsBroker(platform.config);
    cleanups.push(lease.release);
    const { received, stop } = await collect(lease.broker, SPORT_ACTIVITIES_TOPIC);
    cleanups.push(stop);
    const { logger, lines } = capturingLogger();
    const supervisor = new StreamSupervisor(platform, [rewardsCaptureStream({ slot, lagIntervalMs: 50 })], { ...FAST, logger });
    cleanups.push(async () => void (await supervisor.stop()));
    supervisor.start();
    await until('slot created', () => slotExists(db.url, slot), 20_000);

    assert.equal(await insertActivities(company, [activity(0), activity(1), activity(2)]), 3);
    assert.equal(await insertActivities(company, [activity(3)]), 1);
    const a1 = activity(1);
    await company.transaction(async (tx) => {
      await tx.execute(`UPDATE activities SET comment = 'pluie' WHERE employee_id = $1 AND started_at = $2`, [a1.employee_id, a1.started_at.toISOString()]);
    });
    await company.transaction(async (tx) => {
      await tx.execute(`DELETE FROM activities WHERE employee_id = $1 AND started_at = $2`, [a1.employee_id, a1.started_at.toISOString()]);
    });
    await until('six events', () => received.length >= 6, 20_000);
    await sleep(300);
    const events = received.map(eventOf);
    assert.equal(events.length, 6, 'each change once');
    assert.deepEqual(
      events.map((e) => e.op),
      ['c', 'c', 'c', 'c', 'u', 'd'],
    );
    assert.equal(new Set(events.map((e) => e.id)).size, 6);
    const [c0, c1, c2] = events;
    assert.ok(c0 && c1 && c2);
    assert.equal(c0.source.lsn, c2.source.lsn, 'one transaction, one commit LSN');
    assert.deepEqual(
      [c0.id, c1.id, c2.id],
      [0, 1, 2].map((i) => `${slot}:${c0.source.lsn}:${i}`),
    );
    assert.deepEqual({ schema: c0.source.schema, table: c0.source.table }, { schema: 'public', table: 'activities' });
    assert.deepEqual(c1.after, {
      employee_id: a1.employee_id,
      started_at: a1.started_at.toISOString(),
      ended_at: a1.ended_at.toISOString(),
      elapsed_s: 1800,
      sport: 'Runing',
      distance_m: 5001,
      comment: null,
      source: 'strava',
      recorded_at: c1.after?.recorded_at ?? null,
    });
    const [, , , , u, d] = events;
    assert.deepEqual(u?.before, c1.after, 'the update carries the whole former row');
    assert.deepEqual(u?.after, { ...c1.after, comment: 'pluie' });
    assert.deepEqual(d?.before, { ...c1.after, comment: 'pluie' }, 'the delete carries the whole row');
    assert.equal(d?.after, null);

    // The slot's lag reaches the metrics, as bytes, through the stream's heartbeat.
    const registry = new Registry();
    registerStreamMetrics(registry, platform.warehouse);
    const key = sampleKey('ecluse_cdc_slot_lag_bytes', { pipeline: STREAM, slot });
    await until('slot lag exported', async () => parseSamples(await registry.metrics()).has(key), 10_000);
    assert.ok((parseSamples(await registry.metrics()).get(key) ?? -1) >= 0);
    assert.ok(![...parseSamples(await registry.metrics()).keys()].some((k) => k.startsWith('ecluse_stream_lag_messages') && k.includes(slot)));

    const keep = (await company.query('SHOW max_slot_wal_keep_size'))[0]?.max_slot_wal_keep_size;
    const said = lines.map((l) => String(l.msg));
    if (keep === '-1')
      assert.ok(
        said.some((m) => /max_slot_wal_keep_size is -1.*without bound.*ALTER SYSTEM SET max_slot_wal_keep_size = '1GB'/.test(m)),
        said.join('\n'),
      );
    else
      assert.ok(
        said.some((m) => m.includes(`may fall ${String(keep)} behind`)),
        said.join('\n'),
      );
  });

  /** Starts captureProcess.ts; resolves once its output has `line`; `published` lists its `pub` lines. */
  function child(args: string[], line: string): { process: ChildProcess; reached: Promise<void>; published: string[] } {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'captureProcess.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const published: string[] = [];
    const reached = new Promise<void>((resolve, reject) => {
      proc.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const lines = out.split('\n');
        out = lines.pop() ?? '';
        for (const l of lines) {
          if (l.startsWith('pub ')) published.push(l.slice(4));
          if (l === line) resolve();
        }
      });
      proc.once('exit', (code) => reject(new Error(`the capture process ended (${code}) before "${line}"`)));
    });
    reached.catch(() => {});
    return { process: proc, reached, published };
  }

  for (const kind of ['nats', 'embedded'] as const) {
    test(
      `a capture process killed (SIGKILL) between storing and confirming, then started again: every change once (${kind} broker)`,
      { skip: kind === 'nats' ? natsSkip : false, timeout: 120_000 },
      async () => {
        const { company, db, slot } = await setup();
        const home = await tempHome('ecluse-capture-kill-');
        const topic = kind === 'nats' ? freshTopic() : SPORT_ACTIVITIES_TOPIC;
        const args = [home, db.url, slot, topic, kind === 'nats' ? NATS_URL : 'embedded'];
        const kill = async (proc: ChildProcess) => {
          proc.kill('SIGKILL');
          if (proc.exitCode === null && proc.signalCode === null) await new Promise((r) => proc.once('exit', r));
        };
        const first = child([...args, 'hang'], 'hanging');
        cleanups.push(async () => {
          first.process.kill('SIGKILL');
          await rm(home, { recursive: true, force: true });
        });
        const insert = async (from: number, to: number) => {
          for (let t = from; t < to; t++)
            await insertActivities(
              company,
              [0, 1, 2, 3, 4].map((i) => activity(t * 5 + i)),
            );
        };
        await until('slot created', () => slotExists(db.url, slot), 30_000);
        await insert(0, 5);
        await first.reached;
        await kill(first.process);
        await insert(5, 10);
        const second = child(args, `pub ${keyOf({ employee_id: activity(49).employee_id, started_at: activity(49).started_at.toISOString() })}`);
        cleanups.push(async () => void second.process.kill('SIGKILL'));
        await second.reached;
        // Read once the process is gone: the embedded broker lives in its process, in the home's folder.
        await kill(second.process);
        const platform = await openPlatform(home, { ECLUSE_BROKER: kind === 'nats' ? NATS_URL : undefined });
        const lease = await acquireRewardsBroker(platform.config);
        try {
          const { received, stop } = await collect(lease.broker, topic);
          await until('fifty events', () => received.length >= 50, 20_000);
          await sleep(300);
          await stop();
          const again = second.published.filter((k) => first.published.includes(k));
          assert.ok(again.length > 0, 'the second life published again what the first had stored but not confirmed');
          assert.deepEqual(
            received.map((d) => keyOf(eventOf(d).after)),
            Array.from({ length: 50 }, (_, n) => keyOf({ employee_id: activity(n).employee_id, started_at: activity(n).started_at.toISOString() })),
            'every activity once, in commit order',
          );
          assert.equal(new Set(received.map((d) => d.id)).size, 50);
        } finally {
          if (lease.broker instanceof NatsBroker) await lease.broker.deleteStream(topic).catch(() => {});
          await lease.release();
          await platform.warehouse.close();
        }
      },
    );
  }
});

describe('rewards capture across a PostgreSQL restart', { skip: clusterSkip, timeout: 180_000 }, () => {
  test('the stream fails, restarts, and resumes: every change once', async () => {
    const cluster = await logicalCluster();
    const home = await tempHome('ecluse-capture-restart-');
    let platform: Platform | undefined;
    let company: CompanyDb | undefined;
    let lease: RewardsBrokerLease | undefined;
    let supervisor: StreamSupervisor | undefined;
    try {
      platform = await openPlatform(home, { ECLUSE_REWARDS_DB: cluster.url });
      company = await companyAt(cluster.url);
      lease = await acquireRewardsBroker(platform.config);
      const { received, stop } = await collect(lease.broker, SPORT_ACTIVITIES_TOPIC);
      const { logger, lines } = capturingLogger();
      supervisor = new StreamSupervisor(platform, [rewardsCaptureStream({ lagIntervalMs: 100 })], { ...FAST, logger });
      supervisor.start();
      const db = company;
      await until(
        'slot created',
        async () => Number((await db.query(`SELECT count(*) AS n FROM pg_replication_slots WHERE slot_name = 'ecluse_rewards'`))[0]?.n) === 1,
        30_000,
      );
      const transactions = 40;
      for (let t = 0; t < transactions; t++) {
        const rows = [0, 1, 2, 3, 4].map((i) => activity(t * 5 + i));
        if (t === 20) {
          // Some of the first half captured, the rest still on its way: the restart lands mid-stream.
          await until('the first changes captured', () => received.length >= 10, 20_000);
          // Not restartSync: the fast shutdown waits for the capture's walsender, whose client is this process.
          await cluster.restart();
        }
        // An insert failing on the restart is tried again: rows already committed are left as they are.
        for (let attempt = 0; ; attempt++) {
          try {
            await insertActivities(db, rows);
            break;
          } catch (err) {
            if (attempt > 50) throw err;
            await sleep(100);
          }
        }
      }
      await until('every change', () => received.length >= transactions * 5, 60_000).catch((err: unknown) => {
        throw new Error(`${String(err)}: ${received.length} received; the stream said: ${lines.map((l) => String(l.msg)).join(' | ')}`);
      });
      await sleep(500);
      await stop();
      assert.ok((supervisor.restarts.get(STREAM) ?? 0) >= 1, 'the stream failed with the server and was started again');
      assert.deepEqual(
        received.map((d) => keyOf(eventOf(d).after)),
        Array.from({ length: transactions * 5 }, (_, n) => keyOf({ employee_id: activity(n).employee_id, started_at: activity(n).started_at.toISOString() })),
        'every activity once, in commit order',
      );
    } finally {
      await supervisor?.stop();
      await lease?.release();
      await company?.close();
      await platform?.warehouse.close();
      await cluster.destroy();
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe('rewards capture of a slot lost past max_slot_wal_keep_size', { skip: clusterSkip, timeout: 180_000 }, () => {
  test('the stream fails saying what the operator must do, and keeps failing (restarted with backoff)', async () => {
    const cluster = await logicalCluster(["max_slot_wal_keep_size = '1MB'"]);
    const home = await tempHome('ecluse-capture-lost-');
    let platform: Platform | undefined;
    let supervisor: StreamSupervisor | undefined;
    const client = new pg.Client({ connectionString: cluster.url });
    try {
      await client.connect();
      platform = await openPlatform(home, { ECLUSE_REWARDS_DB: cluster.url });
      const { logger, lines } = capturingLogger();
      const stream = rewardsCaptureStream({ lagIntervalMs: 100 });
      supervisor = new StreamSupervisor(platform, [stream], { ...FAST, logger });
      supervisor.start();
      const slot = async () => (await client.query<{ active: boolean }>(`SELECT active FROM pg_replication_slots WHERE slot_name = 'ecluse_rewards'`)).rows[0];
      await until('slot active', async () => (await slot())?.active === true, 30_000);
      assert.ok(lines.some((l) => String(l.msg).includes('may fall 1MB behind')));
      await supervisor.stop();
      await until('slot released', async () => (await slot())?.active === false, 10_000);
      // The capture stopped while activities keep coming: more WAL than the limit, then a checkpoint removes it.
      for (let i = 0; i < 3; i++) {
        await client.query(
          `INSERT INTO activities (employee_id, started_at, ended_at, elapsed_s, sport, source, recorded_at, comment)
           SELECT g, now(), now(), 60, 'Runing', 'strava', now(), repeat('x', 500) FROM generate_series(${i * 20_000 + 1}, ${(i + 1) * 20_000}) g`,
        );
        await client.query('SELECT pg_switch_wal()');
      }
      await client.query('CHECKPOINT');
      assert.equal(
        (await client.query<{ wal_status: string }>(`SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'ecluse_rewards'`)).rows[0]?.wal_status,
        'lost',
      );

      supervisor = new StreamSupervisor(platform, [stream], { ...FAST, logger });
      supervisor.start();
      const sup = supervisor;
      await until('two failed starts', () => (sup.restarts.get(STREAM) ?? 0) >= 2, 20_000);
      const crashes = lines.filter((l) => String(l.msg).startsWith(`stream ${STREAM} crashed`)).map((l) => String(l.msg));
      assert.ok(crashes.length >= 2);
      assert.match(crashes[0] ?? '', /replication slot "ecluse_rewards" is lost.*drop the slot, create it again and resync/);
    } finally {
      await supervisor?.stop();
      await client.end().catch(() => {});
      await platform?.warehouse.close();
      await cluster.destroy();
      await rm(home, { recursive: true, force: true });
    }
  });
});
