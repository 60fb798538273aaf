/**
 * Commit of an activity in PostgreSQL → Slack webhook received (`npm run bench -- rewards`): the capture
 * (pgoutput → broker), the notifier (broker → outbox → sender) and a local webhook server answering at
 * once, pacing off; through the embedded broker and through NATS JetStream. Targets (issue 18): p99 < 200 ms
 * at 200 activities/s, sustained ≥ 2,000/s for 10,000 activities inserted in bulk. The baseline, measured
 * in the same run, is the commit rate of the same inserts.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { pino } from 'pino';
import { StreamSupervisor } from '../src/orchestrator/streamSupervisor.js';
import type { Platform } from '../src/pipelines/kit/pipeline.js';
import { rewardsCaptureStream } from '../src/pipelines/rewards/capture.js';
import { openCompanyDb } from '../src/pipelines/rewards/companyDb.js';
import { createRewardsNotifier } from '../src/pipelines/rewards/notifier.js';
import { acquireRewardsBroker } from '../src/pipelines/rewards/broker.js';
import { rewardsConfig } from '../src/pipelines/rewards/settings.js';
import { loadPlatformConfig } from '../src/pipelines/platformConfig.js';
import { openLake } from '../src/lake/open.js';
import { openWarehouse } from '../src/warehouse/open.js';
import { machine } from './stations.js';

const PG = process.env.ECLUSE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS = process.env.ECLUSE_BENCH_NATS ?? 'nats://127.0.0.1:4222';
const EMPLOYEES = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000)).toLocaleString('en')}/s`;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** The webhook: answers 200 at once and notes, per employee named in the message, when it arrived. */
async function webhook(): Promise<{ url: string; received: Map<number, number>; close(): Promise<void> }> {
  const received = new Map<number, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = String((JSON.parse(Buffer.concat(chunks).toString()) as { text?: unknown }).text);
      const id = Number(/^Bravo B(\d+) /.exec(text)?.[1]);
      if (Number.isInteger(id) && !received.has(id)) received.set(id, performance.now());
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/bench`,
    received,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

interface Rig {
  platform: Platform;
  company: pg.Pool;
  stored: number[];
  received: Map<number, number>;
  close(): Promise<void>;
}

/** A company database with EMPLOYEES employees, a home, the capture and the notifier running. */
async function rig(brokerUrl: string | undefined): Promise<Rig> {
  const suffix = randomBytes(4).toString('hex');
  const database = `rewards_bench_${suffix}`;
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = new URL(PG);
  url.pathname = `/${database}`;
  const home = join(tmpdir(), `ecluse-bench-rewards-${suffix}`);
  await mkdir(home, { recursive: true });
  await writeFile(join(home, 'ecluse.config.json'), JSON.stringify({ pipelines: { rewards: { slack: { messagesPerSecond: 0 } } } }));
  const hook = await webhook();
  const config = loadPlatformConfig(
    { ECLUSE_HOME: home, ECLUSE_REWARDS_DB: url.toString(), ECLUSE_SLACK_WEBHOOK: hook.url, ...(brokerUrl ? { ECLUSE_BROKER: brokerUrl } : {}) },
    home,
  );
  const platform: Platform = { config, lake: openLake(config), warehouse: await openWarehouse(config, { command: 'bench' }) };
  const companyDb = await openCompanyDb(url.toString(), platform.warehouse);
  const company = new pg.Pool({ connectionString: url.toString(), max: 4 });
  await company.query(
    `INSERT INTO employees (employee_id, last_name, first_name, business_unit, gross_salary, contract, commute_mode, updated_at)
     SELECT g, 'Banc', 'B' || g, 'R&D', 30000, 'CDI', 'Marche/running', now() FROM generate_series(1, $1::int) g`,
    [EMPLOYEES + 1],
  );
  // Topic, slot and consumer of this run's own: NATS keeps streams and consumers between runs.
  const topic = `benchrewards${suffix}.activities`;
  const stored: number[] = [];
  const capture = rewardsCaptureStream({
    topic,
    slot: `rewards_bench_${suffix}`,
    acquireBroker: async (c) => {
      const lease = await acquireRewardsBroker(c);
      if (!process.env.BENCH_DEBUG) return lease;
      const publish = lease.broker.publish.bind(lease.broker);
      const broker = Object.create(lease.broker) as typeof lease.broker;
      broker.publish = async (t, m) => {
        const ack = await publish(t, m);
        stored.push(performance.now());
        return ack;
      };
      return { broker, release: lease.release };
    },
  });
  // A pool of the notifier's own: the producers hold the bench's connections for the whole measure.
  const namesDb = new pg.Pool({ connectionString: url.toString(), max: 2 });
  const notifier = createRewardsNotifier({
    broker: () => acquireRewardsBroker(config),
    // One query per batch, as the rewards-notifier stream asks the company database.
    names: async (ids) => {
      const { rows } = await namesDb.query<{ employee_id: number; first_name: string; last_name: string }>(
        'SELECT employee_id, first_name, last_name FROM employees WHERE employee_id = ANY($1::int[])',
        [ids],
      );
      return new Map(rows.map((r) => [Number(r.employee_id), { first_name: r.first_name, last_name: r.last_name }]));
    },
    settings: (ctx) => rewardsConfig.settings(ctx.config),
    topic,
    consumer: `bench${suffix}`,
  });
  const supervisor = new StreamSupervisor(platform, [capture, notifier], { heartbeatMs: 1000, logger: pino({ level: 'error' }) });
  supervisor.start();
  // The slot sees only what commits after it exists: wait for the capture to read it.
  for (;;) {
    const { rowCount } = await company.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [`rewards_bench_${suffix}`]);
    if (rowCount) break;
    await sleep(50);
  }
  // And for the notifier: one warm-up activity (employee EMPLOYEES + 1) through the whole path first.
  await company.query(
    `INSERT INTO activities (employee_id, started_at, ended_at, elapsed_s, sport, distance_m, comment, source, recorded_at)
     VALUES ($1, now() - interval '1 hour', now(), 3600, 'Tennis', NULL, NULL, 'strava', now())`,
    [EMPLOYEES + 1],
  );
  const warmStart = performance.now();
  await waitFor(hook.received, 1, 120_000);
  console.log(`  (ready: the first webhook ${((performance.now() - warmStart) / 1000).toFixed(1)} s after its commit, streams starting)`);
  hook.received.clear();
  return {
    platform,
    company,
    received: hook.received,
    stored,
    async close() {
      await supervisor.stop();
      await companyDb.close();
      await company.end();
      await namesDb.end();
      await hook.close();
      await platform.warehouse.close();
      const c = new pg.Client({ connectionString: PG });
      await c.connect();
      await c.query(`SELECT pg_drop_replication_slot($1)`, [`rewards_bench_${suffix}`]).catch(() => {});
      await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function waitFor(received: Map<number, number>, count: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (received.size < count) {
    if (Date.now() > end) throw new Error(`only ${received.size} of ${count} webhooks received after ${timeoutMs} ms`);
    await sleep(5);
  }
}

const activitySql = `INSERT INTO activities (employee_id, started_at, ended_at, elapsed_s, sport, distance_m, comment, source, recorded_at)`;

/** 10,000 activities (one per employee) in transactions of 100: the commit rate, then the last webhook. */
async function throughput(brokerUrl: string | undefined): Promise<void> {
  const r = await rig(brokerUrl);
  try {
    const t0 = performance.now();
    for (let i = 1; i <= EMPLOYEES; i += 100) {
      await r.company.query(
        `${activitySql} SELECT g, now() - interval '1 hour', now(), 3600, 'Runing', 10000, NULL, 'strava', now() FROM generate_series($1::int, $2::int) g`,
        [i, i + 99],
      );
    }
    const committed = performance.now() - t0;
    await waitFor(r.received, EMPLOYEES, 600_000);
    const all = Math.max(...r.received.values()) - t0;
    console.log(
      `  ${EMPLOYEES.toLocaleString('en')} activities in transactions of 100: committed at ${rate(EMPLOYEES, committed)} (baseline); webhooks received at ${rate(EMPLOYEES, all)} (last ${(all / 1000).toFixed(2)} s after the first commit began; ${(all / committed).toFixed(1)}× the commit time)`,
    );
  } finally {
    await r.close();
  }
}

/** One activity per transaction at `perSecond` for `seconds`: commit → webhook latency. */
async function latency(brokerUrl: string | undefined, perSecond: number, seconds: number): Promise<void> {
  const r = await rig(brokerUrl);
  try {
    const total = perSecond * seconds;
    const committedAt = new Map<number, number>();
    const t0 = performance.now();
    let next = 1;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const c = await r.company.connect();
        try {
          for (let id = next++; id <= total; id = next++) {
            const wait = t0 + ((id - 1) * 1000) / perSecond - performance.now();
            if (wait > 1) await sleep(wait);
            await c.query(`${activitySql} VALUES ($1, now() - interval '1 hour', now(), 3600, 'Randonnée', 8000, NULL, 'strava', now())`, [id]);
            committedAt.set(id, performance.now());
          }
        } finally {
          c.release();
        }
      }),
    );
    const elapsed = performance.now() - t0;
    await waitFor(r.received, total, 120_000);
    const arrivals = [...r.received.values()].sort((a, b) => a - b);
    console.log(
      `  (webhooks from ${((arrivals[0] ?? NaN) - t0).toFixed(0)} ms to ${((arrivals.at(-1) ?? NaN) - t0).toFixed(0)} ms after the first commit; commits over ${elapsed.toFixed(0)} ms)`,
    );
    if (process.env.BENCH_DEBUG) {
      const wall = Date.now() - (performance.now() - t0);
      const rows = await r.platform.warehouse.query(`SELECT created_at, sent_at FROM rewards_notifications ORDER BY created_at`);
      const rel = (v: unknown) => (Date.parse(String(v)) - wall).toFixed(0);
      console.log(`  (events stored in the broker from ${((r.stored[1] ?? NaN) - t0).toFixed(0)} to ${((r.stored.at(-1) ?? NaN) - t0).toFixed(0)} ms)`);
      console.log(`  (outbox rows created from ${rel(rows[1]?.created_at)} to ${rel(rows.at(-1)?.created_at)} ms, sent from ${rel(rows[1]?.sent_at)} ms)`);
    }
    const lat = [...committedAt].map(([id, at]) => Math.max(0, (r.received.get(id) ?? NaN) - at)).sort((a, b) => a - b);
    console.log(
      `  ${total.toLocaleString('en')} single-activity transactions at ${perSecond}/s (achieved ${rate(total, elapsed)}): commit→webhook p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${pct(lat, 100).toFixed(1)} ms`,
    );
  } finally {
    await r.close();
  }
}

export async function main(): Promise<void> {
  console.log(`machine: ${machine()}`);
  for (const [name, url] of [
    ['embedded broker', undefined],
    ['NATS JetStream', NATS],
  ] as const) {
    console.log(`${name} (PostgreSQL → pgoutput → broker → outbox (DuckDB warehouse) → webhook, pacing off):`);
    await latency(url, 200, 10);
    if (process.env.BENCH_LATENCY_ONLY) continue;
    await throughput(url);
  }
}
