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

interface BrokerLease {
  broker: Broker;
  release(): Promise<void>;
}

export interface RewardsNotifierOptions {
  /** The broker the capture publishes to, acquired at each start and released at each stop. */
  broker: () => Promise<BrokerLease>;
  /** First and last names of these employees (absent from the map: unknown, named by id in the message). */
  names: (employeeIds: number[]) => Promise<Map<number, EmployeeName>>;
  /** Told after each change of an activity (create, update, delete), e.g. to recompute the rewards. */
  onActivitiesChanged?: () => void;
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
function cachedNames(lookup: RewardsNotifierOptions['names']): (id: number) => Promise<EmployeeName | null> {
  const cache = new Map<number, { name: EmployeeName; at: number }>();
  return async (id) => {
    const hit = cache.get(id);
    if (hit && Date.now() - hit.at < NAMES_TTL_MS) return hit.name;
    const name = (await lookup([id])).get(id) ?? null;
    // An unknown employee is asked again next time: HR's import may have brought them meanwhile.
    if (name) cache.set(id, { name, at: Date.now() });
    else cache.delete(id);
    return name;
  };
}

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

      const handle = async (delivery: Delivery): Promise<void> => {
        const event = delivery.payload as Record<string, unknown> | null;
        const op = event && typeof event === 'object' ? event.op : undefined;
        if (op === 'c') {
          const row = activityRow(event!.after);
          if (!row) {
            ctx.log.warn({ event_id: delivery.id }, 'activity event without a usable row: no congratulation');
          } else {
            const startedAt = new Date(row.started_at);
            const recordedAt = typeof event!.ts_ms === 'number' ? event!.ts_ms : Date.now();
            const tooOld = recordedAt - startedAt.getTime() > slack.maxActivityAgeDays * 86_400_000;
            const item: OutboxItem = {
              activityKey: activityKey(row.employee_id, startedAt),
              eventId: delivery.id,
              employeeId: row.employee_id,
              startedAt,
              message: congratulation(await nameOf(row.employee_id), row),
              ...(tooOld ? { skipReason: `started more than ${slack.maxActivityAgeDays} days before it was recorded: not congratulated` } : {}),
            };
            if ((await outbox.enqueue([item])) > 0 && !tooOld) sender?.wake();
          }
        } else if (op === 'd') {
          const row = activityRow(event!.before);
          if (row) await outbox.skipPending([activityKey(row.employee_id, row.started_at)], 'the activity was deleted before its message was sent');
        } else if (op !== 'u') {
          ctx.log.warn({ event_id: delivery.id }, 'not an activity change event: ignored');
          return;
        }
        options.onActivitiesChanged?.();
      };

      const lease = await options.broker();
      try {
        const subscription = await lease.broker.consume(topic, consumer, handle);
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
