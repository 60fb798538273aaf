import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Orchestrator } from '../../src/orchestrator/orchestrator.js';
import { effectiveSchedule, lastTickBefore, Scheduler } from '../../src/orchestrator/scheduler.js';
import { withPlatform, tempHome } from '../helpers/platform.js';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { synopPipeline } from '../../src/pipelines/synop/pipeline.js';
import { synopConfig } from '../../src/pipelines/synop/settings.js';
import { testPipeline } from './testPipelines.js';

describe('scheduler', () => {
  test('the last tick before now, in the schedule’s time zone', () => {
    // 00:00 Europe/Paris on 2024-10-05 is 22:00 UTC the day before (summer time).
    assert.equal(lastTickBefore('0 0 * * *', 'Europe/Paris', new Date('2024-10-05T09:00:00Z'))?.toISOString(), '2024-10-04T22:00:00.000Z');
    assert.equal(lastTickBefore('0 1 * * *', 'Europe/Paris', new Date('2024-12-05T00:30:00Z'))?.toISOString(), '2024-12-05T00:00:00.000Z');
    assert.equal(lastTickBefore('0 0 1 1 *', 'UTC', new Date('2024-12-05T00:30:00Z'))?.toISOString(), '2024-01-01T00:00:00.000Z');
  });

  test('configuration overrides or disables a pipeline’s schedule', () => {
    const p = testPipeline('stations');
    const home = '/nonexistent-home';
    const config = loadConfig({ ECLUSE_HOME: home }, home);
    assert.deepEqual(effectiveSchedule(p, config), {
      pipeline: 'stations',
      feed: null,
      cron: '0 0 * * *',
      timezone: 'Europe/Paris',
      enabled: true,
      origin: 'pipeline',
    });
    config.schedules = { stations: { cron: '30 2 * * *', timezone: 'UTC', enabled: false } };
    assert.deepEqual(effectiveSchedule(p, config), { pipeline: 'stations', feed: null, cron: '30 2 * * *', timezone: 'UTC', enabled: false, origin: 'config' });
  });

  test('`{"enabled": false}` alone disables a schedule (its cron stays the pipeline\'s); an enabled one without cron is refused', async () => {
    const home = await tempHome('ecluse-sched-');
    const path = join(home, 'ecluse.config.json');
    await writeFile(path, JSON.stringify({ schedules: { stations: { enabled: false } } }));
    const config = loadConfig({ ECLUSE_HOME: home }, home);
    assert.deepEqual(effectiveSchedule(testPipeline('stations'), config), {
      pipeline: 'stations',
      feed: null,
      cron: '0 0 * * *',
      timezone: 'Europe/Paris',
      enabled: false,
      origin: 'config',
    });
    await writeFile(path, JSON.stringify({ schedules: { stations: { timezone: 'UTC' } } }));
    assert.throws(
      () => loadConfig({ ECLUSE_HOME: home }, home),
      (err: Error) => err instanceof ConfigError && /schedules\.stations\.cron: cron is required unless enabled is false/.test(err.message),
    );
  });

  test('synop’s schedule reaches a portal only when the user asked for it (ECLUSE_ODS_URL, ods_url or schedules.synop)', async () => {
    const home = await tempHome('ecluse-sched-');
    const configured = (env: Record<string, string>) => synopPipeline.scheduledSource?.(loadConfig({ ECLUSE_HOME: home, ...env }, home)) ?? null;
    // The public portal stays the default of explicit commands: it is only not reached by a tick.
    assert.equal(synopConfig.settings(loadConfig({ ECLUSE_HOME: home }, home)).odsUrl, 'https://public.opendatasoft.com');
    assert.match(configured({}) ?? '', /no OpenDataSoft portal configured: set ECLUSE_ODS_URL/);
    assert.equal(configured({ ECLUSE_ODS_URL: 'http://127.0.0.1:9' }), null);
    await writeFile(join(home, 'ecluse.config.json'), JSON.stringify({ ods_url: 'https://data.example.org' }));
    assert.equal(configured({}), null);
    await writeFile(join(home, 'ecluse.config.json'), JSON.stringify({ schedules: { synop: { cron: '0 1 * * *' } } }));
    assert.equal(configured({}), null);
    await writeFile(join(home, 'ecluse.config.json'), JSON.stringify({ schedules: { synop: { enabled: false } } }));
    assert.notEqual(configured({}), null);

    // Caught up with no portal configured: skipped, said, nothing recorded.
    await rm(join(home, 'ecluse.config.json'));
    await withPlatform(home, async (platform) => {
      const logs: string[] = [];
      const scheduler = new Scheduler(new Orchestrator(platform, new Map([['synop', synopPipeline]]), { maxAttempts: 1 }), {
        now: () => new Date('2024-10-08T07:00:00Z'),
        log: (m) => logs.push(m),
      });
      assert.deepEqual(await scheduler.catchUp(), []);
      assert.equal((await platform.warehouse.listRuns({})).total, 0);
      assert.deepEqual(logs, ['catch-up of synop [2024-10-07] skipped: ' + configured({})]);
    });
  });

  test('missed ticks are caught up once (the last one), recorded as catch-up; a done partition is not run again', async () => {
    await withPlatform(await tempHome('ecluse-sched-'), async (platform) => {
      const daily = testPipeline('daily');
      const off = testPipeline('off');
      platform.config.schedules = { off: { cron: '0 0 * * *', timezone: 'Europe/Paris', enabled: false } };
      const orch = new Orchestrator(
        platform,
        new Map([
          ['daily', daily],
          ['off', off],
        ]),
        { maxAttempts: 1 },
      );
      // The server was down for a week: the clock says 2024-10-08 09:00 Paris.
      let now = new Date('2024-10-08T07:00:00Z');
      const scheduler = new Scheduler(orch, { now: () => now });
      const first = await scheduler.catchUp();
      // The last tick, 00:00 on the 8th, collects the day that ended: the 7th.
      assert.deepEqual(
        first.map((s) => [s.pipeline, s.partition, s.status]),
        [['daily', '2024-10-07', 'succeeded']],
      );
      assert.equal(daily.calls.length, 1, 'one catch-up, not one per missed tick');
      assert.equal(off.calls.length, 0, 'a disabled schedule is not caught up');
      const run = await platform.warehouse.getRun(first[0]!.run_id);
      assert.equal(run?.trigger, 'catch-up');

      // A restart the same day: the partition has succeeded, nothing to catch up.
      assert.deepEqual(await scheduler.catchUp(), []);
      // The next day's tick missed, and a failed run of it: caught up again.
      now = new Date('2024-10-09T07:00:00Z');
      await platform.warehouse.finishRun(
        await platform.warehouse.startRun('daily', '2024-10-08', 'schedule'),
        'failed',
        { files: 0, files_skipped: 0, rows_read: 0, rows_written: 0, rows_rejected: 0, values_rejected: 0 },
        {},
        'boom',
      );
      const again = await scheduler.catchUp();
      assert.deepEqual(
        again.map((s) => s.partition),
        ['2024-10-08'],
      );
      assert.equal(daily.calls.length, 2);
    });
  });

  test('a scheduled tick runs the Europe/Paris day that has just ended', async () => {
    await withPlatform(await tempHome('ecluse-sched-'), async (platform) => {
      const daily = testPipeline('daily');
      const scheduler = new Scheduler(new Orchestrator(platform, new Map([['daily', daily]]), { maxAttempts: 1 }));
      // 00:00 Paris on 2024-10-05 = 22:00 UTC on 2024-10-04: the day to collect is the 4th.
      const s = await scheduler.tick(daily, new Date('2024-10-04T22:00:00Z'), 'schedule');
      assert.equal(s?.partition, '2024-10-04');
      assert.equal(s?.status, 'succeeded');
      // 01:00 Paris on 2024-10-27 (the 25-hour day) = 23:00 UTC on the 26th: the 26th.
      assert.equal(Scheduler.partitionOf(new Date('2024-10-26T23:00:00Z')), '2024-10-26');
    });
  });

  test('a tick whose pipeline has no source configured is skipped with the reason, no failed run recorded', async () => {
    await withPlatform(await tempHome('ecluse-sched-'), async (platform) => {
      const daily = { ...testPipeline('daily'), scheduledSource: () => 'no source configured' };
      const logs: string[] = [];
      const scheduler = new Scheduler(new Orchestrator(platform, new Map([['daily', daily]]), { maxAttempts: 1 }), { log: (m) => logs.push(m) });
      assert.equal(await scheduler.tick(daily, new Date('2024-10-04T22:00:00Z'), 'schedule'), null);
      assert.equal((await platform.warehouse.listRuns({})).total, 0);
      assert.match(logs.join('\n'), /skipped: no source configured/);
    });
  });

  test('a run left running by a dead process is retried on start, continuing its attempt count', async () => {
    const home = await tempHome('ecluse-sched-');
    // The "dead process": a run recorded as running, then the warehouse closed without finishing it.
    await withPlatform(home, async (platform) => {
      await platform.warehouse.startRun('daily', '2024-10-03', 'schedule');
    });
    await withPlatform(home, async (platform) => {
      const daily = testPipeline('daily');
      const orch = new Orchestrator(platform, new Map([['daily', daily]]), { maxAttempts: 3 });
      const recovered = await orch.recoverInterrupted();
      assert.deepEqual(
        recovered.map((s) => [s.partition, s.status]),
        [['2024-10-03', 'succeeded']],
      );
      const { items } = await platform.warehouse.listRuns({ pipeline: 'daily' });
      assert.deepEqual(
        items.map((r) => [r.attempt, r.status, r.trigger]),
        [
          [2, 'succeeded', 'recovery'],
          [1, 'failed', 'schedule'],
        ],
      );
      assert.match(items[1]?.error ?? '', /stopped before it finished/);
    });
  });
});
