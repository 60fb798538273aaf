import { join } from 'node:path';
import type { Config } from '../../config/config.js';
import type { Broker } from '../../stream/broker.js';
import { openBroker } from '../../stream/open.js';

/** Where the captured changes of the company's `activities` go, and where the Slack notifier reads them. */
export const SPORT_ACTIVITIES_TOPIC = 'sport.activities';

/** A use of the process's rewards broker: release it when done (the last release closes the broker). */
export interface RewardsBrokerLease {
  broker: Broker;
  release(): Promise<void>;
}

interface Shared {
  opening: Promise<Broker>;
  users: number;
}

/** Open brokers by location; a location being closed, until it is (a folder must never have two brokers on it). */
const shared = new Map<string, Shared>();
const closing = new Map<string, Promise<void>>();

/**
 * The broker of this process for rewards (`ECLUSE_BROKER`, or the embedded one under `<home>/broker`), shared
 * by the capture and the notifier: the embedded broker lives in the process, so a consumer sees what a
 * producer published only on the same instance, and one folder must not be opened twice.
 */
export async function acquireRewardsBroker(config: Pick<Config, 'broker' | 'home'>): Promise<RewardsBrokerLease> {
  const dir = join(config.home, 'broker');
  const key = `${config.broker ?? ''}\n${dir}`;
  await closing.get(key);
  let entry = shared.get(key);
  if (!entry) {
    const fresh: Shared = { opening: openBroker(config.broker, dir), users: 0 };
    shared.set(key, fresh);
    // A failed open is forgotten, so the next acquire (a restarted stream) tries again.
    fresh.opening.catch(() => {
      if (shared.get(key) === fresh) shared.delete(key);
    });
    entry = fresh;
  }
  entry.users++;
  const held = entry;
  let broker: Broker;
  try {
    broker = await held.opening;
  } catch (err) {
    held.users--;
    throw err;
  }
  let released = false;
  return {
    broker,
    async release() {
      if (released) return;
      released = true;
      held.users--;
      if (held.users > 0 || shared.get(key) !== held) return;
      shared.delete(key);
      const done = broker.close().finally(() => closing.delete(key));
      closing.set(key, done);
      await done;
    },
  };
}
