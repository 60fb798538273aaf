/**
 * The notifier as ecluse runs it (`ecluse up`, `ecluse worker`): the process's rewards broker, employees'
 * names from the company database, and the rewards recomputed a moment after activities change.
 */
import { openConnection } from '../../warehouse/open.js';
import type { StreamPipeline } from '../kit/streamPipeline.js';
import { acquireRewardsBroker } from './broker.js';
import { untilRewardsInUse } from './capture.js';
import { openCompanyDb, type CompanyDb } from './companyDb.js';
import type { EmployeeName } from './message.js';
import { createRewardsNotifier } from './notifier.js';
import { refreshRewards } from './refresh.js';
import { rewardsConfig } from './settings.js';

/** A quiet spell after a change before the rewards are recomputed: a pull's thousand inserts make one refresh. */
const REFRESH_DEBOUNCE_MS = 2000;
const IDLE_CHECK_MS = 10_000;

/** Calls `refresh` once changes have stopped for a moment, one refresh at a time, until `signal` aborts. */
function debounced(refresh: () => Promise<void>, signal: AbortSignal): () => void {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  const fire = () => {
    if (signal.aborted) return;
    if (running) {
      again = true;
      return;
    }
    running = refresh().finally(() => {
      running = null;
      if (again) {
        again = false;
        schedule();
      }
    });
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(fire, REFRESH_DEBOUNCE_MS);
    timer.unref();
  };
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  return schedule;
}

export const rewardsNotifier: StreamPipeline = {
  name: 'rewards-notifier',
  description:
    'Slack congratulations: one message per new activity of sport.activities, through an outbox, paced, retried; rewards recomputed as activities change',
  async start(ctx) {
    const settings = rewardsConfig.settings(ctx.config);
    // Rewards unused here: no outbox table, no topic until it is.
    if (!(await untilRewardsInUse(ctx, settings.database, IDLE_CHECK_MS))) return;
    const company: CompanyDb = await openCompanyDb(settings.database, ctx.warehouse);
    // A connection of the refresh's own: the notifier's outbox writes commit one by one on the stream's
    // connection, and must never ride (or roll back) with a refresh's transaction.
    const refreshDb = await openConnection(ctx.warehouse, ctx.config, 'ecluse rewards-notifier');
    const refreshCompany = settings.database ? company : await openCompanyDb(undefined, refreshDb);
    const log = ctx.log;
    const refresh = debounced(async () => {
      try {
        await refreshRewards({ warehouse: refreshDb, company: refreshCompany, settings, now: new Date(), log, signal: ctx.signal });
      } catch (err) {
        if (!ctx.signal.aborted) log.warn({ err }, `rewards not recomputed after activity changes (the next change or run does it): ${(err as Error).message}`);
      }
    }, ctx.signal);
    const notifier = createRewardsNotifier({
      broker: () => acquireRewardsBroker(ctx.config),
      names: async (ids) => {
        const names = new Map<number, EmployeeName>();
        if (ids.length === 0) return names;
        const rows = await company.query(
          `SELECT employee_id, first_name, last_name FROM employees WHERE employee_id IN (${ids.map((_, i) => `$${i + 1}`).join(', ')})`,
          ids,
        );
        for (const r of rows) names.set(Number(r.employee_id), { first_name: String(r.first_name), last_name: String(r.last_name) });
        return names;
      },
      onActivitiesChanged: refresh,
    });
    try {
      await notifier.start(ctx);
    } finally {
      if (refreshCompany !== company) await refreshCompany.close();
      await company.close();
      await refreshDb.close();
    }
  },
};
