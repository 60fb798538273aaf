import { Counter, Gauge, type Registry } from 'prom-client';
import { readStreamLag, readStreamStatus, type StreamStatusRow } from '../warehouse/streamTables.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { scrapeSnapshot } from './scrapeSnapshot.js';

export interface StreamMetricsOptions {
  /** Called when the warehouse cannot be read: the stream series are then left out of that scrape. */
  onError?: (err: unknown) => void;
  now?: () => number;
}

/**
 * A replication slot's lag goes through the streams' lag path (`ctx.reportLag`, stored at heartbeats) under
 * this source, its bytes of WAL behind as `messagesBehind`: exported as `ecluse_cdc_slot_lag_bytes`, and
 * kept out of the message and second gauges, whose unit it is not.
 */
const SLOT_LAG_PREFIX = 'wal-bytes:';

/** The lag source of a replication slot's bytes behind (see SLOT_LAG_PREFIX). */
export function slotLagSource(slot: string): string {
  return `${SLOT_LAG_PREFIX}${slot}`;
}

const isSlotLag = (source: string) => source.startsWith(SLOT_LAG_PREFIX);

interface StreamSnapshot {
  status: StreamStatusRow[];
  lag: Awaited<ReturnType<typeof readStreamLag>>;
}

/**
 * Stream metrics read from `stream_status` and `stream_lag` at scrape time, like the run metrics: the
 * process holding a stream (a worker, perhaps) stores them at each heartbeat, and any server shows them.
 * A stream is up while its holder says it runs and its row has not expired (a holder that died stops
 * renewing it).
 */
export function registerStreamMetrics(registry: Registry, warehouse: Pick<Warehouse, 'query'>, options: StreamMetricsOptions = {}): void {
  const now = options.now ?? Date.now;
  const snapshot = scrapeSnapshot<StreamSnapshot>(async () => {
    const [status, lag] = await Promise.all([readStreamStatus(warehouse), readStreamLag(warehouse)]);
    return { status, lag };
  }, options.onError);
  const registers = [registry];

  new Gauge({
    name: 'ecluse_stream_up',
    help: '1 while a process runs the stream pipeline (its heartbeat is recent), 0 otherwise',
    labelNames: ['pipeline'],
    registers,
    async collect() {
      const snap = await snapshot();
      this.reset();
      const at = now();
      for (const s of snap?.status ?? []) this.set({ pipeline: s.pipeline }, s.state === 'running' && s.expires_at_ms > at ? 1 : 0);
    },
  });
  new Counter({
    name: 'ecluse_stream_restarts_total',
    help: 'Times the stream pipeline was started again after a crash, by any process',
    labelNames: ['pipeline'],
    registers,
    async collect() {
      const snap = await snapshot();
      this.reset();
      for (const s of snap?.status ?? []) this.inc({ pipeline: s.pipeline }, s.restarts);
    },
  });
  new Gauge({
    name: 'ecluse_stream_lag_messages',
    help: 'Messages of the source not consumed yet, as the stream pipeline last reported',
    labelNames: ['pipeline', 'source'],
    registers,
    async collect() {
      const snap = await snapshot();
      this.reset();
      for (const l of snap?.lag ?? []) if (!isSlotLag(l.source)) this.set({ pipeline: l.pipeline, source: l.source }, l.messagesBehind);
    },
  });
  new Gauge({
    name: 'ecluse_stream_lag_seconds',
    help: 'Age of the oldest message of the source not consumed yet, as the stream pipeline last reported',
    labelNames: ['pipeline', 'source'],
    registers,
    async collect() {
      const snap = await snapshot();
      this.reset();
      for (const l of snap?.lag ?? []) if (!isSlotLag(l.source)) this.set({ pipeline: l.pipeline, source: l.source }, l.secondsBehind);
    },
  });
  new Gauge({
    name: 'ecluse_cdc_slot_lag_bytes',
    help: 'Bytes of WAL a change-data-capture slot is behind (pg_current_wal_lsn() - confirmed_flush_lsn): WAL the server keeps for it, up to max_slot_wal_keep_size',
    labelNames: ['pipeline', 'slot'],
    registers,
    async collect() {
      const snap = await snapshot();
      this.reset();
      for (const l of snap?.lag ?? [])
        if (isSlotLag(l.source)) this.set({ pipeline: l.pipeline, slot: l.source.slice(SLOT_LAG_PREFIX.length) }, l.messagesBehind);
    },
  });
}
