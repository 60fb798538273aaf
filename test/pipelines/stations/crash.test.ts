import { describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateStations } from '../../../src/connectors/generators/stations.js';
import { DuckSession } from '../../../src/engine/duckdb.js';
import { datasetPrefix } from '../../../src/lake/layout.js';
import { withLocalFiles } from '../../../src/lake/localFiles.js';
import { openStore } from '../../../src/lake/open.js';
import type { ObjectStore } from '../../../src/lake/objectStore.js';
import { REPORTS } from '../../../src/pipelines/stations/schema.js';
import { tempHome, withPlatform } from '../../helpers/platform.js';
import { ecluse, ROOT } from '../../helpers/cli.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';

const REPORT_COLUMNS = REPORTS.columns.map(([c]) => c).filter((c) => c !== 'raw_file').join(', ');

for (const setup of SETUPS) {
  describe(`crash safety on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    const envs = new Map<string, Record<string, string>>();
    /** Prepares a home's environment (warehouse schema, lake prefix) and its lake, for the sync helpers below. */
    const prepare = async (home: string): Promise<ObjectStore> => {
      const env = await envOf(home);
      envs.set(home, env);
      return openStore(env.ECLUSE_LAKE ?? join(home, 'lake'), env.ECLUSE_S3_ENDPOINT);
    };

    const ecluseJson = <T = Record<string, unknown>>(home: string, args: string[]): T => {
      const r = ecluse(home, [...args, '--json'], envs.get(home));
      if (r.status !== 0) throw new Error(`ecluse ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
      return JSON.parse(r.stdout) as T;
    };

    /** Everything a user sees of the stations tables; raw_file differs between homes (arrival times), so it is left out. */
    const snapshot = async (home: string) => {
      const engine = await DuckSession.open();
      try {
        return await withPlatform(
          home,
          async (p) => {
            const keys = (await p.lake.list(datasetPrefix('staging', 'reports'))).map((o) => o.key);
            return {
              reports: await p.warehouse.query(`SELECT ${REPORT_COLUMNS} FROM reports ORDER BY station_id, observed_at`),
              stations: await p.warehouse.query(`SELECT * FROM stations ORDER BY id`),
              lake: await withLocalFiles(p.lake, keys, (paths) =>
                engine.plainRows(
                  `SELECT count(*) AS n, sum(hash(station_id, observed_at, temperature_c)) AS h
                   FROM read_parquet([${paths.map((x) => `'${x}'`).join(', ')}], hive_partitioning = false)`,
                ),
              ),
            };
          },
          envs.get(home),
        );
      } finally {
        engine.close();
      }
    };

    /** Starts a run and kills it with SIGKILL as soon as `when` says so; returns whether it was still running. */
    const killDuring = async (home: string, input: string, when: () => Promise<boolean>): Promise<boolean> => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'run', 'stations', '--input', input, '--json'], {
        cwd: ROOT,
        env: { ...process.env, ECLUSE_HOME: home, ...envs.get(home) },
        stdio: 'pipe',
      });
      let exited = false;
      child.on('exit', () => (exited = true));
      const deadline = Date.now() + 60_000;
      while (!exited && Date.now() < deadline && !(await when())) await sleep(2);
      const killed = !exited && child.kill('SIGKILL');
      await new Promise((r) => (exited ? r(null) : child.on('exit', r)));
      return killed;
    };

    test('kill -9 during a run, then a rerun: the same tables as an uninterrupted run; rebuild too', { timeout: 300_000 }, async () => {
      const base = await tempHome('ecluse-crash-');
      const input = join(base, 'input');
      await generateStations({ stations: 60, days: 4, out: input, seed: 7 });
      const files = (await readdir(input)).length;

      const reference = join(base, 'reference');
      await prepare(reference);
      const ref = ecluseJson(reference, ['run', 'stations', '--input', input]);
      assert.equal(ref.status, 'succeeded');
      const expected = await snapshot(reference);
      assert.ok(expected.reports.length > 30_000, `expected a sizeable input, got ${expected.reports.length} reports`);

      const cases: Record<string, (lake: ObjectStore) => () => Promise<boolean>> = {
        // Half the files stored in the raw zone: the run is extracting.
        extract: (lake) => async () => (await lake.list('raw/')).filter((o) => !o.key.endsWith('.meta.json')).length >= Math.ceil(files / 2),
        // Staging partitions appear inside the load transaction, before its commit.
        load: (lake) => async () => (await lake.list(datasetPrefix('staging', 'reports'))).length > 0,
      };
      for (const [name, when] of Object.entries(cases)) {
        const home = join(base, name);
        const lake = await prepare(home);
        const interrupted = await killDuring(home, input, when(lake));
        if (name === 'extract') assert.ok(interrupted, 'the run finished before it could be killed during extract');
        const rerun = ecluseJson(home, ['run', 'stations', '--input', input]);
        assert.equal(rerun.status, 'succeeded', `${name}: ${String(rerun.error)}`);
        const runs = ecluseJson<{ items: { status: string; error: string | null }[] }>(home, ['runs']);
        if (interrupted) {
          assert.equal(runs.items[1]?.status, 'failed', `${name}: the killed run should be recorded as failed`);
          assert.match(runs.items[1]?.error ?? '', /stopped before it finished/);
        }
        assert.deepEqual(await snapshot(home), expected, `${name}: tables differ from the uninterrupted run`);
        const rebuilt = ecluseJson(home, ['rebuild', 'stations']);
        assert.equal(rebuilt.status, 'succeeded');
        assert.deepEqual(await snapshot(home), expected, `${name}: rebuild differs from the uninterrupted run`);
      }
    });
  });
}
