/**
 * The Slack notifier, a stream pipeline: it consumes the activity changes (`sport.activities`) with the
 * durable consumer `slack-notifier`, queues one congratulation per new activity in the outbox (the message
 * written then, from the names known then), and runs the channel's one sender while the stream runs.
 */
import type { Broker, Delivery } from '../../stream/broker.js';
import type { StreamContext, StreamPipeline } from '../kit/streamPipeline.js';
import { activityKey } from './companyDb.js';
import { congratulation, type EmployeeName } from './message.js';
import { Outbox, type OutboxItem } from './outbox.js';
import { rewardsConfig, type RewardsSettings } from './settings.js';
import { SlackSender } from './slackSender.js';

export const ACTIVITIES_TOPIC = 'sport.activities';
const NOTIFIER_CONSUMER = 'slack-notifier';
/** How long a name looked up stays in memory (a renamed employee is congratulated by the new name after this). */
const NAMES_TTL_MS = 60_000;
/** Change events handled per outbox write: the outbox inserts up to 200 rows per statement. */
const BATCH = 200;

interface BrokerLease {
  broker: Broker;
  release(): Promise<void>;
}

export interface RewardsNotifierOptions {
  /** The broker the capture publishes to, acquired at each start and released at each stop. */
  broker: () => Promise<BrokerLease>;
  /** First and last names of these employees (absent from the map: unknown, named by id in the message). */
  names: (employeeIds: number[]) => Promise<Map<number, EmployeeName>>;
  /** Told after each batch of activity changes (creates, updates, deletes) with their number, e.g. to recompute the rewards. */
  onActivitiesChanged?: (changes: number) => void;
  /** The settings; `pipelines.rewards` of the configuration by default. */
  settings?: (ctx: StreamContext) => RewardsSettings;
  /** `sport.activities` by default (tests use topics of their own). */
  topic?: string;
  /** `slack-notifier` by default. */
  consumer?: string;
}

/** The activity row of a change event, as the capture publishes it (instants ISO UTC). */
interface ActivityRow {
  employee_id: number;
  started_at: string;
  elapsed_s: number;
  sport: string;
  distance_m: number | null;
}

function activityRow(value: unknown): ActivityRow | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const row = value as Record<string, unknown>;
  const employee = Number(row.employee_id);
  const started = typeof row.started_at === 'string' ? row.started_at : null;
  if (!Number.isInteger(employee) || !started || Number.isNaN(Date.parse(started))) return null;
  const distance = row.distance_m === null || row.distance_m === undefined ? null : Number(row.distance_m);
  return {
    employee_id: employee,
    started_at: started,
    elapsed_s: Number(row.elapsed_s) || 0,
    sport: typeof row.sport === 'string' ? row.sport : String(row.sport ?? ''),
    distance_m: distance !== null && Number.isFinite(distance) ? distance : null,
  };
}

/** Remembers names for a while: the same employee's activities come in runs (a first pull, a sync). */
function cachedNames(lookup: RewardsNotifierOptions['names']): (ids: readonly number[]) => Promise<Map<number, EmployeeName>> {
  const cache = new Map<number, { name: EmployeeName; at: number }>();
  return async (ids) => {
    const now = Date.now();
    const found = new Map<number, EmployeeName>();
    const missing: number[] = [];
    for (const id of new Set(ids)) {
      const hit = cache.get(id);
      if (hit && now - hit.at < NAMES_TTL_MS) found.set(id, hit.name);
      else missing.push(id);
    }
    if (missing.length === 0) return found;
    const looked = await lookup(missing);
    for (const id of missing) {
      const name = looked.get(id);
      // An unknown employee is asked again next time: HR's import may have brought them meanwhile.
      if (name) {
        cache.set(id, { name, at: now });
        found.set(id, name);
      } else cache.delete(id);
    }
    return found;
  };
}

/** The events a batch holds, in order. */
type ActivityChange = { op: 'c'; row: ActivityRow; delivery: Delivery; recordedAt: number } | { op: 'd'; row: ActivityRow } | { op: 'u' };

export function createRewardsNotifier(options: RewardsNotifierOptions): StreamPipeline {
  const topic = options.topic ?? ACTIVITIES_TOPIC;
  const consumer = options.consumer ?? NOTIFIER_CONSUMER;
  return {
    name: 'rewards-notifier',
    description: `Slack congratulations: one message per new activity of ${topic}, through an outbox, paced, retried`,
    async start(ctx: StreamContext) {
      const settings = options.settings ? options.settings(ctx) : rewardsConfig.settings(ctx.config);
      const slack = settings.slack;
      const outbox = await Outbox.open(ctx.warehouse);
      const nameOf = cachedNames(options.names);

      const stopSender = new AbortController();
      let sender: SlackSender | null = null;
      let sending: Promise<void> = new Promise<void>(() => {});
      if (settings.slackWebhook) {
        sender = new SlackSender({ outbox, webhook: settings.slackWebhook, slack, log: ctx.log });
        sending = sender.run(stopSender.signal);
      } else {
        ctx.log.warn('no Slack webhook configured (ECLUSE_SLACK_WEBHOOK): congratulations wait in the outbox as pending, and go out once one is');
      }

      const changeOf = (delivery: Delivery): ActivityChange | null => {
        const event = delivery.payload as Record<string, unknown> | null;
        const op = event && typeof event === 'object' ? event.op : undefined;
        if (op === 'u') return { op };
        const row = op === 'c' ? activityRow(event!.after) : op === 'd' ? activityRow(event!.before) : null;
        if (op === 'c' && row) return { op, row, delivery, recordedAt: typeof event!.ts_ms === 'number' ? event!.ts_ms : Date.now() };
        if (op === 'd' && row) return { op, row };
        if (op === 'c') ctx.log.warn({ event_id: delivery.id }, 'activity event without a usable row: no congratulation');
        else if (op !== 'd') ctx.log.warn({ event_id: delivery.id }, 'not an activity change event: ignored');
        return null;
      };

      // A batch is one outbox write (and one acknowledgement): a commit per message would bound the rate.
      const handle = async (deliveries: readonly Delivery[]): Promise<void> => {
        const changes = deliveries.map(changeOf).filter((c): c is ActivityChange => c !== null);
        const names = await nameOf(changes.flatMap((c) => (c.op === 'c' ? [c.row.employee_id] : [])));
        let items: OutboxItem[] = [];
        let woken = false;
        const flush = async () => {
          const sendable = items.some((i) => !i.skipReason);
          if ((await outbox.enqueue(items)) > 0 && sendable && !woken) {
            woken = true;
            sender?.wake();
          }
          items = [];
        };
        for (const change of changes) {
          if (change.op === 'c') {
            const { row, delivery, recordedAt } = change;
            const startedAt = new Date(row.started_at);
            const tooOld = recordedAt - startedAt.getTime() > slack.maxActivityAgeDays * 86_400_000;
            items.push({
              activityKey: activityKey(row.employee_id, startedAt),
              eventId: delivery.id,
              employeeId: row.employee_id,
              startedAt,
              message: congratulation(names.get(row.employee_id) ?? null, row),
              ...(tooOld ? { skipReason: `started more than ${slack.maxActivityAgeDays} days before it was recorded: not congratulated` } : {}),
            });
          } else if (change.op === 'd') {
            // The activity's creation, earlier in the batch, is queued first: its deletion then finds it pending.
            await flush();
            await outbox.skipPending([activityKey(change.row.employee_id, change.row.started_at)], 'the activity was deleted before its message was sent');
          }
        }
        await flush();
        if (changes.length > 0) options.onActivitiesChanged?.(changes.length);
      };

      const lease = await options.broker();
      try {
        const subscription = await lease.broker.consumeBatches(topic, consumer, handle, { maxBatch: BATCH });
        try {
          await new Promise<void>((resolve, reject) => {
            if (ctx.signal.aborted) return resolve();
            ctx.signal.addEventListener('abort', () => resolve(), { once: true });
            subscription.done.then(() => reject(new Error(`the consumer ${consumer} of ${topic} stopped`)), reject);
            sending.then(() => reject(new Error('the Slack sender stopped')), reject);
          });
        } finally {
          await subscription.stop().catch(() => {});
        }
      } finally {
        stopSender.abort();
        if (sender) await sending.catch(() => {});
        await lease.release();
      }
    },
  };
}
