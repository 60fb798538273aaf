import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { executeRun } from '../../../src/orchestrator/runner.js';
import { StreamSupervisor } from '../../../src/orchestrator/streamSupervisor.js';
import { rewardsCaptureStream } from '../../../src/pipelines/rewards/capture.js';
import { insertActivities, openCompanyDb, type Activity } from '../../../src/pipelines/rewards/companyDb.js';
import { rewardsNotifier } from '../../../src/pipelines/rewards/notifierStream.js';
import { rewardsPipeline } from '../../../src/pipelines/rewards/pipeline.js';
import { writeRewardsSamples } from '../../../src/pipelines/rewards/samples.js';
import { SlackServer } from '../../helpers/slackServer.js';
import { openPlatform, tempHome } from '../../helpers/platform.js';
import { skipUnlessLogical } from '../../helpers/warehouses.js';
import { capturingLogger, until } from '../../orchestrator/testStreams.js';
import { freshCompanyDatabase } from './companyDbs.js';

const FAST = { backoffMs: 100, maxBackoffMs: 500, heartbeatMs: 100, lockPollMs: 50, stopTimeoutMs: 10_000 };

function recent(employee: number, minutesAgo: number, sport: string, distance: number | null): Activity {
  const started = new Date(Date.now() - minutesAgo * 60_000);
  return {
    employee_id: employee,
    started_at: started,
    ended_at: new Date(started.getTime() + 45 * 60_000),
    elapsed_s: 45 * 60,
    sport,
    distance_m: distance,
    comment: null,
    source: 'declared',
  };
}

/**
 * The whole path as `ecluse up` runs it: HR files imported by a run, activities written to the company
 * database, captured onto the broker, congratulated on Slack (a loopback stand-in) exactly once each, and
 * the rewards recomputed from them without any run.
 */
describe('rewards end to end: import, capture, Slack, recompute', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  async function scenario(env: Record<string, string>, slot?: string): Promise<void> {
    const slack = await SlackServer.start();
    cleanups.push(() => slack.close());
    const home = await tempHome('ecluse-rewards-e2e-');
    const platform = await openPlatform(home, { ...env, ECLUSE_SLACK_WEBHOOK: slack.url });
    cleanups.push(() => platform.warehouse.close());
    const files = await writeRewardsSamples(join(home, 'hr'), { employees: 12, seed: 3 });
    const run = await executeRun(platform, rewardsPipeline, { inputs: [files.hr, files.sport], trigger: 'cli' });
    assert.equal(run.status, 'succeeded', run.error ?? '');
    assert.equal(run.rows_written, 12);

    const { logger, lines } = capturingLogger();
    const supervisor = new StreamSupervisor(platform, [rewardsCaptureStream({ pollMs: 50, ...(slot ? { slot } : {}) }), rewardsNotifier], { ...FAST, logger });
    supervisor.start();
    try {
      if (slot) {
        // A slot sees what commits after it was created: the capture's first start makes it.
        const admin = new pg.Client({ connectionString: env.ECLUSE_REWARDS_DB });
        await admin.connect();
        await until(
          'the capture reading its slot',
          async () => (await admin.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 1,
          30_000,
        );
        await admin.end();
      }
      const company = await openCompanyDb(env.ECLUSE_REWARDS_DB, platform.warehouse);
      const [first] = await company.query('SELECT employee_id, first_name, last_name FROM employees ORDER BY employee_id LIMIT 1');
      assert.ok(first);
      const id = Number(first.employee_id);
      const activities = [recent(id, 120, 'Runing', 10_400), recent(id, 60, 'Escalade', null), recent(id, 30, 'Randonnée', 8_000)];
      assert.equal(await insertActivities(company, activities), 3);
      // The same activities again (a pull that overlaps): nothing new, nothing sent twice.
      assert.equal(await insertActivities(company, activities), 0);
      await company.close();

      await slack.waitFor(3, 30_000);
      const texts = slack.received.map((r) => r.text);
      assert.equal(new Set(texts).size, 3, texts.join(' | '));
      for (const t of texts) assert.match(t, new RegExp(`^Bravo ${first.first_name} ${first.last_name} ! Vous avez fait `));
      assert.ok(
        texts.some((t) => /10,4 km de Runing en 45 minutes/.test(t)),
        texts.join(' | '),
      );
      assert.ok(
        texts.some((t) => /45 minutes d'Escalade/.test(t)),
        texts.join(' | '),
      );

      // Recomputed from the change stream, no run: the warehouse has the activities and counts them.
      await until(
        'the rewards recomputed',
        async () => {
          const rows = await platform.warehouse.query('SELECT count(*) AS n FROM sport_activities WHERE employee_id = $1', [id]).catch(() => []);
          return Number(rows[0]?.n ?? 0) === 3;
        },
        30_000,
      );
      const year = Number(new Date().toLocaleString('en', { timeZone: 'Europe/Paris', year: 'numeric' }));
      const [reward] = await platform.warehouse.query('SELECT activities_12m FROM rewards WHERE employee_id = $1 AND year = $2', [id, year]);
      assert.ok(Number(reward?.activities_12m) >= 3);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(slack.received.length, 3, 'one message per activity');
      const sent = await platform.warehouse.query(`SELECT count(*) AS n FROM rewards_notifications WHERE status = 'sent'`);
      assert.equal(Number(sent[0]?.n), 3);
    } catch (err) {
      // What the streams said is the first thing to read when the path breaks.
      for (const l of lines.filter((x) => Number(x.level) >= 40)) console.error(JSON.stringify(l).slice(0, 400));
      throw err;
    } finally {
      await supervisor.stop();
    }
  }

  test('embedded: the warehouse holds the company tables, the embedded broker carries the changes', async () => {
    await scenario({});
  });

  test('PostgreSQL company database captured by logical replication', async (t) => {
    const skip = await skipUnlessLogical();
    if (skip) return t.skip(skip);
    const { url, drop } = await freshCompanyDatabase();
    cleanups.push(drop);
    await scenario({ ECLUSE_REWARDS_DB: url }, `ecluse_e2e_${randomBytes(4).toString('hex')}`);
  });
});
