import type { Broker } from './broker.js';
import { EmbeddedBroker } from './embedded.js';
import { NatsBroker } from './nats.js';

/**
 * The broker named by `url` (ECLUSE_BROKER): `nats://host:port` for NATS JetStream; absent or empty, the
 * embedded broker, persisted under `dir` when given.
 */
export async function openBroker(url: string | undefined, dir?: string): Promise<Broker> {
  if (!url) return new EmbeddedBroker(dir ? { dir } : {});
  if (url.startsWith('nats://')) return NatsBroker.open({ url });
  throw new Error(`ECLUSE_BROKER: unknown broker "${url}" (expected nats://host:port, or nothing for the embedded broker)`);
}
