// The rewards capture, supervised, in a process of its own, for the test that kills it (SIGKILL). argv: ecluse
// home, company database URL, slot, topic, broker (`nats://…`, or `embedded`: the folder under the home), and
// `hang` to stop (and wait to be killed) once the broker stored the publish that reaches 10 events, before the
// reader could confirm them. Prints `pub <employee_id>:<started_at>` per event the broker stored.
import { pino } from 'pino';
import { StreamSupervisor } from '../../../src/orchestrator/streamSupervisor.js';
import { acquireRewardsBroker } from '../../../src/pipelines/rewards/broker.js';
import { rewardsCaptureStream } from '../../../src/pipelines/rewards/capture.js';
import type { Broker } from '../../../src/stream/broker.js';
import { openPlatform } from '../../helpers/platform.js';

const [home, database, slot, topic, brokerAt, mode] = process.argv.slice(2) as [string, string, string, string, string, string | undefined];
const platform = await openPlatform(home, { ECLUSE_REWARDS_DB: database, ECLUSE_BROKER: brokerAt === 'embedded' ? undefined : brokerAt });
let stored = 0;
const stream = rewardsCaptureStream({
  slot,
  topic,
  async acquireBroker(config) {
    const lease = await acquireRewardsBroker(config);
    const broker: Broker = {
      publish: async (t, m) => {
        const ack = await lease.broker.publish(t, m);
        const after = (m.payload as { after?: { employee_id?: number; started_at?: string } }).after;
        process.stdout.write(`pub ${after?.employee_id}:${after?.started_at}\n`);
        if (mode === 'hang' && ++stored >= 10) {
          process.stdout.write('hanging\n');
          await new Promise<never>(() => {});
        }
        return ack;
      },
      consume: (...args) => lease.broker.consume(...args),
      consumeBatches: (...args) => lease.broker.consumeBatches(...args),
      close: () => lease.broker.close(),
    };
    return { broker, release: lease.release };
  },
});
new StreamSupervisor(platform, [stream], { logger: pino({ level: 'warn' }, pino.destination(2)), backoffMs: 100, heartbeatMs: 500 }).start();
process.stdout.write('ready\n');
