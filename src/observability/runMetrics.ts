import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import { RUN_STATUSES } from '../warehouse/metadata.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import { scrapeSnapshot } from './scrapeSnapshot.js';

/** Upper bounds (seconds) of the run duration histogram: runs last from seconds to an hour. */
export const RUN_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600] as const;

/**
 * Statuses of runs waiting for a worker. The `runs` table has none yet (runs start as `running`); the
 * orchestrator's queue is meant to record waiting runs as `queued`, with `started_at` the time they were
 * queued, and then queue depth and oldest pending age follow with no change here.
 */
const PENDING_STATUSES = ['queued'] as const;

interface PipelineStats {
  /** Runs by status. */
  runs: Map<string, number>;
  rowsWritten: number;
  rowsRejected: number;
  valuesRejected: number;
  /** Finished runs with a duration, their total duration, and how many took at most each bucket's bound. */
  timed: number;
  durationSeconds: number;
  buckets: number[];
  lastSuccessSeconds: number | null;
  lastDurationSeconds: number | null;
}

interface RunSnapshot {
  pipelines: Map<string, PipelineStats>;
  queueDepth: number;
  oldestPendingAgeSeconds: number;
}

export interface RunMetricsOptions {
  /** Pipelines to show even before their first run (their counters at 0). */
  pipelines?: () => Iterable<string>;
  /** Called when the warehouse cannot be read: the scrape still answers, with `ecluse_run_metrics_up` 0. */
  onError?: (err: unknown) => void;
  now?: () => number;
}

// Portable SQL (DuckDB and PostgreSQL): one scan of `runs`, grouped. Failed runs are counted in the row
// totals too: they record 0 rows unless their data committed before the failure.
const bucketColumns = RUN_DURATION_BUCKETS.map((_, i) => `SUM(CASE WHEN duration_ms <= $${i + 1} THEN 1 ELSE 0 END) AS le_${i}`).join(',\n  ');
const TOTALS_SQL = `SELECT pipeline, status, COUNT(*) AS runs,
  COALESCE(SUM(rows_written), 0) AS rows_written,
  COALESCE(SUM(rows_rejected), 0) AS rows_rejected,
  COALESCE(SUM(values_rejected), 0) AS values_rejected,
  COUNT(duration_ms) AS timed,
  COALESCE(SUM(duration_ms), 0) AS duration_ms,
  ${bucketColumns},
  MAX(finished_at) AS last_finished,
  MIN(started_at) AS first_started
FROM runs GROUP BY pipeline, status`;

const LAST_DURATION_SQL = `SELECT pipeline, duration_ms FROM (
  SELECT pipeline, duration_ms, row_number() OVER (PARTITION BY pipeline ORDER BY finished_at DESC, run_id DESC) AS rn
  FROM runs WHERE duration_ms IS NOT NULL AND finished_at IS NOT NULL
) last_runs WHERE rn = 1`;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const epochSeconds = (iso: unknown): number | null => (typeof iso === 'string' ? Date.parse(iso) / 1000 : null);

function emptyStats(): PipelineStats {
  return {
    runs: new Map(),
    rowsWritten: 0,
    rowsRejected: 0,
    valuesRejected: 0,
    timed: 0,
    durationSeconds: 0,
    buckets: RUN_DURATION_BUCKETS.map(() => 0),
    lastSuccessSeconds: null,
    lastDurationSeconds: null,
  };
}

async function readSnapshot(warehouse: Pick<Warehouse, 'query'>, known: Iterable<string>, now: number): Promise<RunSnapshot> {
  const pipelines = new Map<string, PipelineStats>();
  const statsOf = (name: string): PipelineStats => {
    let s = pipelines.get(name);
    if (!s) pipelines.set(name, (s = emptyStats()));
    return s;
  };
  for (const name of known) statsOf(name);
  let queueDepth = 0;
  let oldestPending: number | null = null;
  const pending: readonly string[] = PENDING_STATUSES;

  for (const row of await warehouse.query(
    TOTALS_SQL,
    RUN_DURATION_BUCKETS.map((b) => b * 1000),
  )) {
    const status = String(row.status);
    const s = statsOf(String(row.pipeline));
    const runs = num(row.runs);
    s.runs.set(status, runs);
    s.rowsWritten += num(row.rows_written);
    s.rowsRejected += num(row.rows_rejected);
    s.valuesRejected += num(row.values_rejected);
    s.timed += num(row.timed);
    s.durationSeconds += num(row.duration_ms) / 1000;
    RUN_DURATION_BUCKETS.forEach((_, i) => (s.buckets[i]! += num(row[`le_${i}`])));
    if (status === 'succeeded') s.lastSuccessSeconds = epochSeconds(row.last_finished);
    if (pending.includes(status)) {
      queueDepth += runs;
      const first = epochSeconds(row.first_started);
      if (first !== null) oldestPending = Math.min(oldestPending ?? first, first);
    }
  }
  for (const row of await warehouse.query(LAST_DURATION_SQL)) statsOf(String(row.pipeline)).lastDurationSeconds = num(row.duration_ms) / 1000;

  const oldestPendingAgeSeconds = oldestPending === null ? 0 : Math.max(0, now / 1000 - oldestPending);
  return { pipelines, queueDepth, oldestPendingAgeSeconds };
}

/** The bucket, sum and count series of a histogram whose counts come from the table, not from observations. */
interface HistogramSeries {
  metricName: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * prom-client's Histogram only counts observations it is given one by one; this one reports counts the
 * warehouse has already aggregated. The registry needs only `name`, `type` and `get()` of a metric.
 */
class AggregatedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly series: () => Promise<HistogramSeries[]>,
  ) {}
  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: await this.series() };
  }
  reset(): void {}
}

/**
 * Run metrics computed from the `runs` table at scrape time, so runs made by any process sharing the
 * warehouse show: one snapshot (two queries) is shared by every metric of a scrape, and each metric drops
 * its previous label sets before setting the new ones.
 */
export function registerRunMetrics(registry: Registry, warehouse: Pick<Warehouse, 'query'>, options: RunMetricsOptions = {}): void {
  const now = options.now ?? Date.now;
  const snapshot = scrapeSnapshot(() => readSnapshot(warehouse, options.pipelines?.() ?? [], now()), options.onError);
  const registers = [registry];

  new Gauge({
    name: 'ecluse_run_metrics_up',
    help: '1 if the run metrics could be read from the warehouse at this scrape, 0 otherwise',
    registers,
    async collect() {
      this.set((await snapshot()) ? 1 : 0);
    },
  });

  new Counter({
    name: 'ecluse_runs_total',
    help: 'Runs recorded in the runs table, by pipeline and current status',
    labelNames: ['pipeline', 'status'],
    registers,
    async collect() {
      const snap = await snapshot();
      this.reset();
      for (const [pipeline, s] of snap?.pipelines ?? []) {
        for (const status of new Set([...RUN_STATUSES, ...s.runs.keys()])) this.inc({ pipeline, status }, s.runs.get(status) ?? 0);
      }
    },
  });

  const perPipeline = (kind: 'counter' | 'gauge', name: string, help: string, value: (s: PipelineStats) => number | null): void => {
    const set = async (put: (labels: { pipeline: string }, v: number) => void, reset: () => void) => {
      const snap = await snapshot();
      reset();
      for (const [pipeline, s] of snap?.pipelines ?? []) {
        const v = value(s);
        if (v !== null) put({ pipeline }, v);
      }
    };
    if (kind === 'counter') {
      new Counter({
        name,
        help,
        labelNames: ['pipeline'],
        registers,
        collect() {
          return set(
            (l, v) => this.inc(l, v),
            () => this.reset(),
          );
        },
      });
    } else {
      new Gauge({
        name,
        help,
        labelNames: ['pipeline'],
        registers,
        collect() {
          return set(
            (l, v) => this.set(l, v),
            () => this.reset(),
          );
        },
      });
    }
  };
  perPipeline('counter', 'ecluse_rows_written_total', "Records inserted into the pipeline's main staging table, over all runs", (s) => s.rowsWritten);
  perPipeline('counter', 'ecluse_rows_rejected_total', 'Records rejected whole, over all runs', (s) => s.rowsRejected);
  perPipeline('counter', 'ecluse_values_rejected_total', 'Fields set to null by validation, over all runs', (s) => s.valuesRejected);
  perPipeline('gauge', 'ecluse_runs_running', 'Runs in progress (status running)', (s) => s.runs.get('running') ?? 0);
  perPipeline('gauge', 'ecluse_last_success_timestamp_seconds', 'When the last successful run finished (absent before the first)', (s) => s.lastSuccessSeconds);
  perPipeline('gauge', 'ecluse_run_last_duration_seconds', 'Duration of the last finished run', (s) => s.lastDurationSeconds);

  const histogram = new AggregatedHistogram('ecluse_run_duration_seconds', 'Durations of finished runs', async () => {
    const series: HistogramSeries[] = [];
    for (const [pipeline, s] of (await snapshot())?.pipelines ?? []) {
      RUN_DURATION_BUCKETS.forEach((le, i) =>
        series.push({ metricName: 'ecluse_run_duration_seconds_bucket', labels: { pipeline, le: String(le) }, value: s.buckets[i]! }),
      );
      series.push({ metricName: 'ecluse_run_duration_seconds_bucket', labels: { pipeline, le: '+Inf' }, value: s.timed });
      series.push({ metricName: 'ecluse_run_duration_seconds_sum', labels: { pipeline }, value: s.durationSeconds });
      series.push({ metricName: 'ecluse_run_duration_seconds_count', labels: { pipeline }, value: s.timed });
    }
    return series;
  });
  // Not one of prom-client's classes, which the type of registerMetric lists; the registry reads only
  // name, type and get() (and reset() on resetMetrics), which it has.
  registry.registerMetric(histogram as unknown as Metric);

  new Gauge({
    name: 'ecluse_queue_depth',
    help: `Runs waiting for a worker (status ${PENDING_STATUSES.join(', ')})`,
    registers,
    async collect() {
      this.set((await snapshot())?.queueDepth ?? 0);
    },
  });
  new Gauge({
    name: 'ecluse_oldest_pending_age_seconds',
    help: 'How long the oldest waiting run has waited (0 when none waits)',
    registers,
    async collect() {
      this.set((await snapshot())?.oldestPendingAgeSeconds ?? 0);
    },
  });
}
