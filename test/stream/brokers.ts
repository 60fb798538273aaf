import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Broker } from '../../src/stream/broker.js';
import { EmbeddedBroker } from '../../src/stream/embedded.js';
import { NatsBroker } from '../../src/stream/nats.js';

/** The test NATS server (JetStream enabled); override with ECLUSE_TEST_NATS. */
export const NATS_URL = process.env.ECLUSE_TEST_NATS ?? 'nats://127.0.0.1:4222';

let natsProblem: Promise<string | null> | undefined;

function tcpProblem(url: string): Promise<string | null> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 4222), timeout: 5_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('no answer within 5 s');
    });
    socket.once('error', (err) => resolve(err.message));
  });
}

/** false to run, or why not; in CI (CI=true) an absent NATS is a failure, as an absent PostgreSQL is. */
export async function skipUnlessNats(): Promise<string | false> {
  natsProblem ??= tcpProblem(NATS_URL);
  const problem = await natsProblem;
  if (problem === null) return false;
  if (process.env.CI === 'true') throw new Error(`NATS is required in CI but does not answer at ${NATS_URL}: ${problem}`);
  return `NATS not available at ${NATS_URL} (${problem})`;
}

/** A topic of its own per test: its first token names a NATS stream nobody else uses. */
export function freshTopic(): string {
  return `t${randomBytes(5).toString('hex')}.events`;
}

/** One kind of broker under test, able to come back after its process "died". */
export interface BrokerKind {
  name: string;
  /** The broker lives in memory: reopening it gives the same one back. */
  inMemory: boolean;
  skip(): Promise<string | false>;
  open(): Promise<Broker>;
  /** A broker for the next "process": the same one when it lives in memory only. */
  reopen(old: Broker): Promise<Broker>;
  /** Removes what the tests left (folders, NATS streams of these topics). */
  cleanup(topics: string[]): Promise<void>;
}

export function memoryKind(): BrokerKind {
  return {
    name: 'embedded (memory)',
    inMemory: true,
    skip: async () => false,
    open: async () => new EmbeddedBroker(),
    reopen: async (old) => old,
    cleanup: async () => {},
  };
}

export function folderKind(): BrokerKind {
  let dir: Promise<string> | undefined;
  const folder = () => (dir ??= mkdtemp(join(tmpdir(), 'ecluse-broker-')));
  return {
    name: 'embedded (folder)',
    inMemory: false,
    skip: async () => false,
    open: async () => new EmbeddedBroker({ dir: await folder() }),
    reopen: async () => new EmbeddedBroker({ dir: await folder() }),
    cleanup: async () => {
      if (dir) await rm(await dir, { recursive: true, force: true });
    },
  };
}

export function natsKind(): BrokerKind {
  return {
    name: 'NATS JetStream',
    inMemory: false,
    skip: skipUnlessNats,
    // A small limit of publishes in flight, so the suite's concurrent publishes go through the queue.
    open: () => NatsBroker.open({ url: NATS_URL, maxInFlight: 16 }),
    reopen: () => NatsBroker.open({ url: NATS_URL, maxInFlight: 16 }),
    cleanup: async (topics) => {
      const broker = await NatsBroker.open({ url: NATS_URL });
      try {
        for (const topic of topics) await broker.deleteStream(topic).catch(() => {});
      } finally {
        await broker.close();
      }
    },
  };
}
