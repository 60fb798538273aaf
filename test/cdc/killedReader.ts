// A ChangeReader in a process of its own, for the test that kills it: argv = PostgreSQL URL, publication,
// slot, table, broker (`nats://…` or a folder for the embedded broker), topic prefix, and `hang` to stop
// (and wait to be killed) right after the sink stored the batch that reaches 10 events, before it is confirmed.
import { ChangeReader } from '../../src/cdc/reader.js';
import { brokerSink, tableTopic } from '../../src/cdc/sink.js';
import { EmbeddedBroker } from '../../src/stream/embedded.js';
import { NatsBroker } from '../../src/stream/nats.js';

const [url, publication, slot, table, brokerAt, prefix, mode] = process.argv.slice(2) as [string, string, string, string, string, string, string | undefined];
const broker = brokerAt.startsWith('nats://') ? await NatsBroker.open({ url: brokerAt }) : new EmbeddedBroker({ dir: brokerAt });
const store = brokerSink(broker, tableTopic(prefix));
let stored = 0;
await ChangeReader.start({
  url,
  publication,
  slot,
  tables: [table],
  sink: async (events) => {
    await store(events);
    stored += events.length;
    // The parent waits for the last row by its id: a batch read again after the kill counts twice in `stored`.
    process.stdout.write(`last ${String(events.at(-1)?.after?.id)}\n`);
    if (mode === 'hang' && stored >= 10) {
      process.stdout.write('hanging\n');
      await new Promise<never>(() => {});
    }
  },
});
process.stdout.write('ready\n');
