// The rewards notifier in a process of its own, for the test that kills it with SIGKILL: argv = ecluse home
// (its DuckDB warehouse holds the outbox), broker (`nats://…` or a folder for the embedded broker), topic,
// webhook URL. Prints `ready`, then the outbox's counts as `counts {…}` lines; SIGTERM stops it cleanly.
import { pino } from 'pino';
import { createRewardsNotifier } from '../../../src/pipelines/rewards/notifier.js';
import { notificationCounts } from '../../../src/pipelines/rewards/outbox.js';
import { EmbeddedBroker } from '../../../src/stream/embedded.js';
import { NatsBroker } from '../../../src/stream/nats.js';
import { openPlatform } from '../../helpers/platform.js';
import { namesUnder, settingsWith, streamContext } from './notifierHarness.js';

const [home, brokerAt, topic, webhook] = process.argv.slice(2) as [string, string, string, string];
const platform = await openPlatform(home);
const broker = brokerAt.startsWith('nats://') ? await NatsBroker.open({ url: brokerAt }) : new EmbeddedBroker({ dir: brokerAt });
const controller = new AbortController();
process.on('SIGTERM', () => controller.abort());

const notifier = createRewardsNotifier({
  broker: async () => ({ broker, release: () => broker.close() }),
  names: namesUnder(1_000_000),
  settings: () => settingsWith(webhook, { messagesPerSecond: 0, timeoutMs: 5_000 }),
  topic,
});
const running = notifier.start(streamContext(platform, controller.signal, pino({ level: 'warn' }, process.stderr)));
process.stdout.write('ready\n');
const report = setInterval(() => {
  notificationCounts(platform.warehouse).then(
    (counts) => process.stdout.write(`counts ${JSON.stringify(counts)}\n`),
    () => {},
  );
}, 100);
try {
  await running;
} finally {
  clearInterval(report);
  await platform.warehouse.close();
}
