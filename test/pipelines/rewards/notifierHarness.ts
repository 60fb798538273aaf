import { pino, type Logger } from 'pino';
import type { ChangeEvent } from '../../../src/cdc/reader.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import type { StreamContext } from '../../../src/pipelines/kit/streamPipeline.js';
import type { EmployeeName } from '../../../src/pipelines/rewards/message.js';
import type { RewardsSettings, SlackSettings } from '../../../src/pipelines/rewards/settings.js';
import type { Broker, Json } from '../../../src/stream/broker.js';
import { settingsWith as fixtureSettings } from './rulesFixture.js';

/** What the supervisor gives a stream, minus its positions (the notifier keeps its place in the broker). */
export function streamContext(platform: Platform, signal: AbortSignal, log: Logger = pino({ level: 'silent' })): StreamContext {
  return {
    ...platform,
    signal,
    log,
    positions: {
      read: async () => new Map(),
      save: async () => {},
    },
    transaction: (fn) => platform.warehouse.transaction(fn),
    reportLag: () => {},
  };
}

export const FAST_SLACK: SlackSettings = { messagesPerSecond: 0, burst: 3, maxAttempts: 5, backoffMs: 50, timeoutMs: 5_000, maxActivityAgeDays: 7 };

export function settingsWith(webhook: string | undefined, slack: Partial<SlackSettings> = {}): RewardsSettings {
  return fixtureSettings({ slackWebhook: webhook, slack: { ...FAST_SLACK, ...slack } });
}

/** Names `Prénom<id> Nom<id>` for ids under `known`, the others unknown. */
export function namesUnder(known: number): (ids: number[]) => Promise<Map<number, EmployeeName>> {
  return async (ids) => new Map(ids.filter((id) => id < known).map((id) => [id, { first_name: `Prénom${id}`, last_name: `Nom${id}` }]));
}

/** A capture's event about an activity of employee `employee` that started at `startedAt`. */
export function activityEvent(
  op: 'c' | 'u' | 'd',
  employee: number,
  startedAt: Date,
  options: { id?: string; elapsedS?: number; sport?: string; distanceM?: number | null } = {},
): ChangeEvent {
  const row = {
    employee_id: employee,
    started_at: startedAt.toISOString(),
    ended_at: new Date(startedAt.getTime() + (options.elapsedS ?? 3600) * 1000).toISOString(),
    elapsed_s: options.elapsedS ?? 3600,
    sport: options.sport ?? 'Randonnée',
    distance_m: options.distanceM ?? null,
    comment: null,
    source: 'strava',
    recorded_at: new Date().toISOString(),
  };
  return {
    id: options.id ?? `slot:0/${employee.toString(16)}:${op}:${startedAt.getTime()}`,
    op,
    before: op === 'c' ? null : row,
    after: op === 'd' ? null : row,
    source: { lsn: '0/0', schema: 'public', table: 'activities' },
    ts_ms: Date.now(),
  };
}

export async function publishEvents(broker: Broker, topic: string, events: readonly ChangeEvent[]): Promise<void> {
  await Promise.all(events.map((e) => broker.publish(topic, { id: e.id, payload: e as unknown as Json })));
}

/** Polls until `check` holds (throws with `what` after `timeoutMs`); a check that throws (a table not created yet) is not holding. */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const holds = async () => {
    try {
      return await check();
    } catch {
      return false;
    }
  };
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
