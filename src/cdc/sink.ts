import type { Broker, Json } from '../stream/broker.js';
import type { ChangeEvent, ChangeSink } from './reader.js';

/** The topic of a change by default: `<prefix>.<schema>.<table>`. */
export function tableTopic(prefix: string): (event: ChangeEvent) => string {
  return (event) => `${prefix}.${event.source.schema}.${event.source.table}`;
}

/**
 * A sink publishing each change to the broker under its event id: resolves once the broker stored them all
 * (publishes go out together, the broker keeps their order on one connection), so the reader acknowledges
 * only what is stored; changes read again after a restart come with the same ids and are de-duplicated.
 */
export function brokerSink(broker: Broker, topicOf: (event: ChangeEvent) => string): ChangeSink {
  return async (events) => {
    await Promise.all(events.map((event) => broker.publish(topicOf(event), { id: event.id, payload: event as unknown as Json })));
  };
}
