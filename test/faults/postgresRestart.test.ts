import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { generateStations } from '../../src/connectors/generators/stations.js';
import { writeSynop } from '../../src/connectors/generators/synop.js';
import type { ProgressEvent } from '../../src/pipelines/kit/pipeline.js';
import { Orchestrator } from '../../src/orchestrator/orchestrator.js';
import { executeRun } from '../../src/orchestrator/runner.js';
import { PIPELINES } from '../../src/pipelines/index.js';
import { stationsPipeline } from '../../src/pipelines/stations/pipeline.js';
import { runFiles, runsOf, runStations, snapshotOf, stationsSnapshot } from '../helpers/faultRuns.js';
import { skipUnlessPgBinaries, startPgCluster, type PgCluster } from '../helpers/pgCluster.js';
import { tempHome, withPlatform } from '../helpers/platform.js';
import { pgSimpleQuery, startTcpCutProxy } from '../helpers/tcpCutProxy.js';
import { schemaFor } from '../helpers/warehouses.js';

/**
 * PostgreSQL restarted while a run loads: the run fails cleanly (recorded failed, nothing of it committed),
 * the process survives with its warehouse usable (as a server must), and a rerun gives exactly the rows of a
 * run that was never interrupted. A connection cut right after the server committed (the answer to COMMIT
 * lost) leaves the run recorded as it is: succeeded. The cluster is this suite's own: the shared server is
 * never restarted.
 */
async function until(ok: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`);
    await sleep(20);
  }
}

describe('PostgreSQL warehouse restarted or cut off during a run', { skip: skipUnlessPgBinaries() }, () => {
  let cluster: PgCluster;
  let base: string;
  let input: string;
  const envOf = (home: string) => ({ ECLUSE_WAREHOUSE: `${cluster.url}?schema=${schemaFor(home)}` });

  before(async () => {
    cluster = await startPgCluster();
    base = await tempHome('ecluse-faults-pg-');
    input = join(base, 'input');
    await generateStations({ stations: 8, days: 2, out: input, seed: 11 });
  });
  after(async () => {
    await cluster?.destroy();
    if (base) await rm(base, { recursive: true, force: true });
  });

  test("synop: restart inside the load transaction, then a rerun: the clean run's observations, daily stats and lake", { timeout: 120_000 }, async () => {
    const synopInput = join(base, 'synop');
    await mkdir(synopInput, { recursive: true });
    await writeSynop(join(synopInput, 'synop.jsonl'), 'jsonl', { stations: 6, from: '2024-03-25', to: '2024-04-05', seed: 4 });
    const reference = join(base, 'synop-reference');
    const clean = await runFiles(reference, envOf(reference), 'synop', [synopInput]);
    assert.equal(clean.status, 'succeeded', String(clean.error));
    const expected = await snapshotOf(reference, envOf(reference), 'synop');

    const home = join(base, 'synop-restarted');
    let restarts = 0;
    const failed = await runFiles(home, envOf(home), 'synop', [synopInput], (e) => {
      if (e.step === 'load' && e.done === 0 && restarts++ === 0) cluster.restartSync();
    });
    assert.equal(failed.status, 'failed');
    assert.match(String(failed.error), /lost the connection to the PostgreSQL warehouse/);
    const interrupted = await snapshotOf(home, envOf(home), 'synop');
    assert.deepEqual([interrupted.observations, interrupted.stats, interrupted.files], [[], [], []], 'nothing of the interrupted run is in the warehouse');

    const rerun = await runFiles(home, envOf(home), 'synop', [synopInput]);
    assert.equal(rerun.status, 'succeeded', String(rerun.error));
    assert.deepEqual(
      (await runsOf(home, envOf(home))).map((r) => r.status),
      ['failed', 'succeeded'],
    );
    assert.deepEqual(await snapshotOf(home, envOf(home), 'synop'), expected);
  });

  test(
    'the answer to COMMIT lost with the connection: the warehouse asks the server, the committed run is recorded succeeded',
    { timeout: 120_000 },
    async () => {
      const reference = join(base, 'commit-reference');
      const clean = await runStations(reference, envOf(reference), [input]);
      assert.equal(clean.status, 'succeeded', String(clean.error));
      const expected = await stationsSnapshot(reference, envOf(reference));

      const proxy = await startTcpCutProxy('127.0.0.1', Number(new URL(cluster.url).port));
      try {
        const home = join(base, 'commit-cut');
        const env = { ECLUSE_WAREHOUSE: `postgres://postgres@${proxy.address}/postgres?schema=${schemaFor(home)}` };
        // The load step's last event comes inside the transaction, after the run record: the next COMMIT is the run's.
        const run = await runStations(home, env, [input], (e) => {
          if (e.step === 'load' && e.done === 1) proxy.arm(pgSimpleQuery('COMMIT'));
        });
        assert.equal(proxy.cuts(), 1, 'the COMMIT was not cut');
        assert.equal(run.status, 'succeeded', String(run.error));
        assert.deepEqual(
          (await runsOf(home, env)).map((r) => r.status),
          ['succeeded'],
        );
        assert.deepEqual(await stationsSnapshot(home, env), expected, 'tables and lake equal the clean run');

        const rerun = await runStations(home, env, [input]);
        assert.equal(rerun.files_skipped, clean.files, 'the files of the committed run are seen');
        assert.deepEqual(await stationsSnapshot(home, env), expected, 'nothing doubled');
      } finally {
        await proxy.close();
      }
    },
  );

  test(
    'the connection cut in the middle of the bulk load (COPY): the run fails cleanly, nothing hangs, the rerun completes',
    { timeout: 120_000 },
    async () => {
      const reference = join(base, 'copy-reference');
      const clean = await runStations(reference, envOf(reference), [input]);
      assert.equal(clean.status, 'succeeded', String(clean.error));
      const expected = await stationsSnapshot(reference, envOf(reference));

      const proxy = await startTcpCutProxy('127.0.0.1', Number(new URL(cluster.url).port));
      try {
        const home = join(base, 'copy-cut');
        const env = { ECLUSE_WAREHOUSE: `postgres://postgres@${proxy.address}/postgres?schema=${schemaFor(home)}` };
        // DuckDB streams the reports through a named pipe into COPY: the pipe's writer must not wait forever.
        const failed = await runStations(home, env, [input], (e) => {
          if (e.step === 'load' && e.done === 0) proxy.arm(Buffer.from('COPY "reports"'));
        });
        assert.equal(proxy.cuts(), 1, 'the COPY was not cut');
        assert.equal(failed.status, 'failed');
        assert.match(String(failed.error), /lost the connection to the PostgreSQL warehouse .*nothing of it was committed/);
        const interrupted = await stationsSnapshot(home, env);
        assert.deepEqual([interrupted.reports, interrupted.files], [[], []], 'nothing of the failed run is in the warehouse');

        const rerun = await runStations(home, env, [input]);
        assert.equal(rerun.status, 'succeeded', String(rerun.error));
        assert.deepEqual(await stationsSnapshot(home, env), expected, 'tables and lake equal the clean run');
      } finally {
        await proxy.close();
      }
    },
  );

  test('a partition run with retries: the attempt cut by the restart fails, the next one reconnects and succeeds', { timeout: 120_000 }, async () => {
    const reference = join(base, 'retry-reference');
    const clean = await runStations(reference, envOf(reference), [input]);
    assert.equal(clean.status, 'succeeded', String(clean.error));
    const expected = await stationsSnapshot(reference, envOf(reference));

    // A landing folder as a scheduled run reads it; its files are old enough to be complete.
    const landing = join(base, 'landing');
    await cp(input, landing, { recursive: true });
    const old = new Date(Date.now() - 3_600_000);
    for (const name of await readdir(landing)) await utimes(join(landing, name), old, old);
    const home = join(base, 'retried');
    const env = { ...envOf(home), ECLUSE_LANDING: landing };
    let restarts = 0;
    const summary = await withPlatform(
      home,
      (p) =>
        new Orchestrator(p, PIPELINES, { maxAttempts: 3, backoffMs: 20 }).runPartition(stationsPipeline, '2024-10-02', 'cli', {
          progress: (e) => {
            if (e.step === 'load' && e.done === 0 && restarts++ === 0) cluster.restartSync();
          },
        }),
      env,
    );
    assert.equal(summary.status, 'succeeded', String(summary.error));
    const runs = await runsOf(home, env);
    assert.deepEqual(
      runs.map((r) => r.status),
      ['failed', 'succeeded'],
      'one failed attempt, then one that succeeded',
    );
    assert.match(String(runs[0]?.error), /lost the connection to the PostgreSQL warehouse/);
    assert.deepEqual(await stationsSnapshot(home, env), expected, 'tables and lake equal the clean run');
  });

  test('one warehouse connection set, as a server holds: restarts during a load, between steps and while idle', { timeout: 120_000 }, async () => {
    const reference = join(base, 'reference');
    const clean = await runStations(reference, envOf(reference), [input]);
    assert.equal(clean.status, 'succeeded', String(clean.error));
    const expected = await stationsSnapshot(reference, envOf(reference));
    assert.ok((expected.reports ?? []).length > 1000, `expected a sizeable input, got ${(expected.reports ?? []).length} reports`);

    const home = join(base, 'restarted');
    const env = envOf(home);
    await withPlatform(
      home,
      async (p) => {
        const run = (restartAt?: (e: ProgressEvent) => boolean) => {
          let restarts = 0;
          return executeRun(p, stationsPipeline, { inputs: [input], trigger: 'cli' }, (e) => {
            if (restarts === 0 && restartAt?.(e)) {
              restarts++;
              cluster.restartSync();
            }
          }).then((summary) => {
            if (restartAt) assert.equal(restarts, 1, 'the run never reached the moment of the restart');
            return summary;
          });
        };

        // The load step's first event comes inside the warehouse transaction, before its first statement: a
        // restart there (blocking, so the moment is exact) kills the run's session with its transaction open.
        const failed = await run((e) => e.step === 'load' && e.done === 0);
        assert.equal(failed.status, 'failed');
        assert.match(String(failed.error), /lost the connection to the PostgreSQL warehouse .*nothing of it was committed/);
        assert.deepEqual(
          (await runsOf(home, env)).map((r) => r.status),
          ['failed'],
          'the interrupted run is recorded failed, not left running',
        );
        const interrupted = await stationsSnapshot(home, env);
        assert.deepEqual(interrupted.reports, [], 'nothing of the interrupted run is in the warehouse');
        assert.deepEqual(interrupted.files, [], 'no file of the interrupted run counts as seen');

        // A restart between steps, while the run connection is idle: it is replaced before the load.
        const rerun = await run((e) => e.step === 'stage' && e.done === 0);
        assert.equal(rerun.status, 'succeeded', String(rerun.error));
        assert.equal(rerun.files, clean.files, 'the rerun loads every file again');
        assert.deepEqual(await stationsSnapshot(home, env), expected, 'tables and lake equal the clean run');

        // A restart while nothing runs (the event loop turns meanwhile, as in an idle server): reads and the
        // next run find new connections.
        const version = p.warehouse.dataVersion();
        cluster.restartSync();
        await sleep(300);
        assert.equal((await p.warehouse.query(`SELECT count(*) AS n FROM reports`))[0]?.n, (expected.reports ?? []).length);
        const again = await run();
        assert.equal(again.status, 'succeeded', String(again.error));
        assert.equal(again.files_skipped, clean.files, 'every file is seen: it was loaded by a committed run');

        // Commits of other processes are heard again (served caches key on the data version).
        await until(() => p.warehouse.dataVersion() > version + 1, 'the listening connection is back');
        const before = p.warehouse.dataVersion();
        const other = new pg.Client({ connectionString: cluster.url });
        await other.connect();
        await other.query(`SELECT pg_notify('ecluse_commits', '0')`);
        await other.end();
        await until(() => p.warehouse.dataVersion() > before, 'a commit of another process moves the data version');
      },
      env,
    );
    assert.deepEqual(await stationsSnapshot(home, env), expected, 'nothing doubled by the last run');
  });
});
