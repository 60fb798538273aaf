import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultPartition } from '../../src/time/days.js';
import { PIPELINES } from '../../src/pipelines/index.js';
import { tempHome } from '../helpers/platform.js';
import { ecluse, ecluseJson, spawnEcluse, startServer } from '../helpers/cli.js';
import { dropSchemas, skipUnless, warehouseFor } from '../helpers/warehouses.js';

interface Backfill {
  partitions: number;
  skipped: number;
  succeeded: number;
  failed: number;
  parallel_effective: number;
}

/** A home whose scheduled stations runs read an empty landing folder: they succeed with nothing new. */
async function landingHome(config: Record<string, unknown> = {}): Promise<{ home: string; env: Record<string, string> }> {
  const home = await tempHome('ecluse-cli-orch-');
  const landing = join(home, 'landing');
  await mkdir(landing);
  const path = join(home, 'ecluse.config.json');
  // Only the stations schedule runs: the others would reach for their real sources.
  const others = Object.fromEntries([...PIPELINES.values()].filter((p) => p.name !== 'stations').map((p) => [p.name, { ...p.schedule, enabled: false }]));
  const schedules = { ...others, ...((config.schedules as Record<string, unknown> | undefined) ?? {}) };
  await writeFile(path, JSON.stringify({ retries: { max_attempts: 2, backoff_ms: 1 }, ...config, schedules }));
  return { home, env: { ECLUSE_LANDING: landing, ECLUSE_CONFIG: path } };
}

test('pipelines, trigger, backfill (resume, --force) and cancel in process', async () => {
  const { home, env } = await landingHome({ schedules: { stations: { cron: '15 3 * * *', timezone: 'UTC' } } });
  const pipelines = JSON.parse(ecluse(home, ['pipelines', '--json'], env).stdout) as { items: { name: string; schedule: Record<string, unknown> }[] };
  assert.deepEqual(pipelines.items.find((p) => p.name === 'stations')?.schedule, { cron: '15 3 * * *', timezone: 'UTC', enabled: true, origin: 'config' });
  assert.match(ecluse(home, ['pipelines'], env).stdout, /stations\s+15 3 \* \* \* \(UTC\)\s+config/);
  assert.ok(pipelines.items.filter((p) => p.name !== 'stations').every((p) => p.schedule.enabled === false));

  const trig = ecluse(home, ['trigger', 'stations', '--partition', '2024-10-02', '--json'], env);
  assert.equal(trig.status, 0, trig.stderr);
  assert.deepEqual((({ status, partition }) => ({ status, partition }))(JSON.parse(trig.stdout) as { status: string; partition: string }), {
    status: 'succeeded',
    partition: '2024-10-02',
  });
  const byDefault = JSON.parse(ecluse(home, ['trigger', 'stations', '--json'], env).stdout) as { partition: string };
  assert.equal(byDefault.partition, defaultPartition(new Date()), 'yesterday in Paris: the day a daily tick collects');

  const first = JSON.parse(
    ecluse(home, ['backfill', 'stations', '--from', '2024-10-01', '--to', '2024-10-04', '--parallel', '3', '--json'], env).stdout,
  ) as Backfill;
  assert.deepEqual([first.partitions, first.skipped, first.succeeded, first.failed, first.parallel_effective], [4, 1, 3, 0, 1]);
  const again = JSON.parse(ecluse(home, ['backfill', 'stations', '--from', '2024-10-01', '--to', '2024-10-04', '--json'], env).stdout) as Backfill;
  assert.deepEqual([again.skipped, again.succeeded], [4, 0]);
  const forced = JSON.parse(ecluse(home, ['backfill', 'stations', '--from', '2024-10-03', '--to', '2024-10-04', '--force', '--json'], env).stdout) as Backfill;
  assert.deepEqual([forced.skipped, forced.succeeded], [0, 2]);
  const human = ecluse(home, ['backfill', 'stations', '--from', '2024-10-01', '--to', '2024-10-02', '--parallel', '2'], env);
  assert.match(human.stdout, /2 skipped \(succeeded before; --force to rerun\)/);
  assert.match(human.stdout, /effective 1: the embedded warehouse has one writer/);

  const ranged = ecluseJson<{ total: number }>(home, ['runs', '--from', '2024-10-01', '--to', '2024-10-04']);
  assert.equal(ranged.total, 6);
  const bad = ecluse(home, ['backfill', 'stations', '--from', '2024-10-05', '--to', '2024-10-01'], env);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /before --from/);

  const cancel = ecluse(home, ['cancel', '1', '--json'], env);
  assert.equal(cancel.status, 1);
  assert.deepEqual(JSON.parse(cancel.stdout), { run_id: 1, outcome: 'not_running' });
});

test('a trigger with nothing to read fails once (another attempt would fail alike) and exits 1', async () => {
  const { home, env } = await landingHome();
  // No landing and no token: the stations pipeline has nothing to read.
  const r = ecluse(home, ['trigger', 'stations', '--partition', '2024-10-02', '--json'], { ECLUSE_CONFIG: env.ECLUSE_CONFIG as string });
  assert.equal(r.status, 1);
  assert.match((JSON.parse(r.stdout) as { error: string }).error, /nothing to read/);
  const runs = ecluseJson<{ items: { attempt: number; status: string }[] }>(home, ['runs']);
  assert.deepEqual(
    runs.items.map((x) => [x.attempt, x.status]),
    [[1, 'failed']],
  );
});

test('ecluse up catches the last missed tick up once; commands go through it', async () => {
  const { home, env } = await landingHome();
  const server = await startServer(home, 'up', env);
  try {
    const yesterday = defaultPartition(new Date());
    // The catch-up runs in the background just after the start.
    let catchUps: { trigger: string; partition: string; status: string }[] = [];
    for (let i = 0; i < 100 && catchUps.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      catchUps = ecluseJson<{ items: typeof catchUps }>(home, ['runs']).items.filter((x) => x.trigger === 'catch-up' && x.status !== 'running');
    }
    // The last midnight (Paris) tick collects the day that ended then.
    assert.deepEqual(
      catchUps.map((x) => [x.partition, x.status]),
      [[yesterday, 'succeeded']],
    );

    const trig = ecluse(home, ['trigger', 'stations', '--partition', '2024-11-01', '--json'], env);
    assert.equal(trig.status, 0, trig.stderr);
    const bf = JSON.parse(ecluse(home, ['backfill', 'stations', '--from', '2024-11-01', '--to', '2024-11-02', '--json'], env).stdout) as Backfill;
    assert.deepEqual([bf.skipped, bf.succeeded], [1, 1]);
    const trigger = ecluseJson<{ items: { trigger: string }[] }>(home, ['runs', '--from', '2024-11-02', '--to', '2024-11-02']).items[0]?.trigger;
    assert.equal(trigger, 'api', 'the backfill ran in the server');
    const cancel = ecluse(home, ['cancel', '424242'], env);
    assert.equal(cancel.status, 1);
    assert.match(cancel.stdout, /no run 424242/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
  // A restart the same day: the partition succeeded, nothing to catch up.
  const again = await startServer(home, 'up', env);
  try {
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    assert.equal(await again.stop(), 0);
  }
  assert.equal(ecluseJson<{ items: { trigger: string }[] }>(home, ['runs']).items.filter((x) => x.trigger === 'catch-up').length, 1);
});

test(
  'on PostgreSQL, ecluse up queues partition runs and an ecluse worker process runs them; ecluse runs --logs reads their logs',
  { skip: await skipUnless('postgres') },
  async () => {
    const { home, env: base } = await landingHome();
    const url = warehouseFor('postgres', home) as string;
    const env = { ...base, ECLUSE_WAREHOUSE: url };
    const server = await startServer(home, 'up', env);
    const worker = spawnEcluse(home, ['worker', '--concurrency', '2'], env);
    let workerOut = '';
    worker.stdout?.on('data', (d: Buffer) => (workerOut += d.toString()));
    worker.stderr?.on('data', (d: Buffer) => (workerOut += d.toString()));
    const workerExit = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
    try {
      assert.match(server.output(), /queued for `ecluse worker`/);
      // On PostgreSQL the CLI works in its own process; ECLUSE_EXECUTION=queue hands the partitions to the workers.
      const r = ecluse(home, ['backfill', 'stations', '--from', '2024-11-01', '--to', '2024-11-03', '--json'], { ...env, ECLUSE_EXECUTION: 'queue' });
      assert.equal(r.status, 0, r.stderr + workerOut);
      const bf = JSON.parse(r.stdout) as Backfill & { queued?: boolean };
      assert.deepEqual([bf.succeeded, bf.failed, bf.queued], [3, 0, true]);
      const json = <T>(args: string[]): T => JSON.parse(ecluse(home, [...args, '--json'], env).stdout) as T;
      const runs = json<{ items: { run_id: number; pid: number; partition: string; status: string }[] }>([
        'runs',
        '--from',
        '2024-11-01',
        '--to',
        '2024-11-03',
      ]).items;
      assert.deepEqual(
        runs.map((x) => x.status),
        ['succeeded', 'succeeded', 'succeeded'],
      );
      assert.ok(
        runs.every((x) => x.pid === worker.pid),
        `the worker ran them: ${JSON.stringify(runs)}`,
      );
      const logs = json<{ items: { msg: string; level: string }[]; total: number }>(['runs', '--logs', String(runs[0]?.run_id)]);
      assert.equal(logs.items[0]?.msg, 'run started');
      assert.equal(logs.items.at(-1)?.msg, 'run succeeded');
      assert.match(ecluse(home, ['runs', '--logs', String(runs[0]?.run_id)], env).stdout, /INFO {2}run started/);
    } finally {
      worker.kill('SIGTERM');
      assert.equal(await workerExit, 0, workerOut);
      assert.equal(await server.stop(), 0);
      await dropSchemas([home]);
    }
  },
);
