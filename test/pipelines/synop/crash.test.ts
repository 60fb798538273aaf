import { describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeSynop } from '../../../src/connectors/generators/synop.js';
import { DuckSession, literal } from '../../../src/engine/duckdb.js';
import { datasetPrefix } from '../../../src/lake/layout.js';
import { withLocalFiles } from '../../../src/lake/localFiles.js';
import { openStore } from '../../../src/lake/open.js';
import type { ObjectStore } from '../../../src/lake/objectStore.js';
import { tempHome, withPlatform } from '../../helpers/platform.js';
import { ecluse, ROOT } from '../../helpers/cli.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';

for (const setup of SETUPS) {
  describe(`synop crash safety on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    const envs = new Map<string, Record<string, string>>();
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

    /** What a user sees: staging rows (a digest of the key and a few values), every daily stat, the lake's datasets. */
    const snapshot = async (home: string) => {
      const engine = await DuckSession.open();
      const digest = (p: { lake: ObjectStore }, prefix: string, cols: string) =>
        p.lake.list(prefix).then((objects) =>
          withLocalFiles(
            p.lake,
            objects.map((o) => o.key),
            (paths) =>
              paths.length
                ? engine.plainRows(`SELECT count(*) AS n, sum(hash(${cols})) AS h FROM read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false)`)
                : Promise.resolve([]),
          ),
        );
      try {
        return await withPlatform(
          home,
          async (p) => ({
            observations: await p.warehouse.query(
              `SELECT numer_sta, observed_at, t, temperature_c, pmer, rr3, precip_3h_trace, nom FROM observations ORDER BY numer_sta, observed_at`,
            ),
            stats: await p.warehouse.query(`SELECT numer_sta, CAST(day AS VARCHAR) AS day, temperature_avg_c, rainfall_mm, observations, completeness
              FROM daily_city_stats ORDER BY numer_sta, day`),
            staging: await digest(p, datasetPrefix('staging', 'observations'), 'numer_sta, observed_at, t, rr3'),
            curated: await digest(p, datasetPrefix('curated', 'daily_city_stats'), 'numer_sta, day, observations, round(temperature_avg_c, 6)'),
          }),
          envs.get(home),
        );
      } finally {
        engine.close();
      }
    };

    const killDuring = async (home: string, input: string, when: () => Promise<boolean>): Promise<boolean> => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'run', 'synop', '--input', input, '--json'], {
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

    test('kill -9 while the lake is written, then a rerun: the same tables as an uninterrupted run; rebuild too', { timeout: 300_000 }, async (t) => {
      const base = await tempHome('ecluse-synop-crash-');
      await mkdir(join(base, 'input'), { recursive: true });
      const input = join(base, 'input', 'two-months.jsonl');
      const { rows } = await writeSynop(input, 'jsonl', { stations: 62, from: '2024-02-20', to: '2024-04-10', seed: 3 });

      const reference = join(base, 'reference');
      await prepare(reference);
      const ref = ecluseJson(reference, ['run', 'synop', '--input', input]);
      assert.equal(ref.status, 'succeeded', String(ref.error));
      assert.equal(ref.rows_written, rows);
      const expected = await snapshot(reference);
      assert.equal(expected.observations.length, rows);
      assert.ok(expected.stats.length > 60 * 50, `expected daily stats for every station and day, got ${expected.stats.length}`);

      const cases: Record<string, (lake: ObjectStore) => () => Promise<boolean>> = {
        // Staging partitions appear inside the run's transaction, before anything is committed.
        staging: (lake) => async () => (await lake.list(datasetPrefix('staging', 'observations'))).length > 0,
        // Curated partitions: the staging rows are all in the lake, the warehouse has not committed them.
        curated: (lake) => async () => (await lake.list(datasetPrefix('curated', 'daily_city_stats'))).length > 0,
      };
      for (const [name, when] of Object.entries(cases)) {
        const home = join(base, name);
        const lake = await prepare(home);
        const interrupted = await killDuring(home, input, when(lake));
        t.diagnostic(`${name}: ${interrupted ? 'killed during the run' : 'the run ended before the kill'}`);
        const rerun = ecluseJson(home, ['run', 'synop', '--input', input]);
        assert.equal(rerun.status, 'succeeded', `${name}: ${String(rerun.error)}`);
        if (interrupted) {
          assert.equal(rerun.files_skipped, 0, `${name}: a file of a killed run is not seen`);
          assert.equal(rerun.rows_written, rows, `${name}: the killed run committed nothing`);
        }
        assert.deepEqual(await snapshot(home), expected, `${name}: tables differ from the uninterrupted run`);
        const rebuilt = ecluseJson(home, ['rebuild', 'synop']);
        assert.equal(rebuilt.status, 'succeeded');
        assert.deepEqual(await snapshot(home), expected, `${name}: rebuild differs from the uninterrupted run`);
      }
    });
  });
}
