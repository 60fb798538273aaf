import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSynop } from '../../../src/connectors/generators/synop.js';
import { datasetPrefix } from '../../../src/lake/layout.js';
import type { ObjectStore } from '../../../src/lake/objectStore.js';
import { crashHarness, lakeDigest } from '../../helpers/crash.js';
import { tempHome } from '../../helpers/platform.js';
import { SETUPS, skipSetup } from '../../helpers/setups.js';

for (const setup of SETUPS) {
  describe(`synop crash safety on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const { prepare, ecluseJson, killDuring, inspect } = crashHarness(setup);

    /** What a user sees: staging rows (a digest of the key and a few values), every daily stat, the lake's datasets. */
    const snapshot = (home: string) =>
      inspect(home, async (p, engine) => ({
        observations: await p.warehouse.query(
          `SELECT numer_sta, observed_at, t, temperature_c, pmer, rr3, precip_3h_trace, nom FROM observations ORDER BY numer_sta, observed_at`,
        ),
        stats: await p.warehouse.query(`SELECT numer_sta, CAST(day AS VARCHAR) AS day, temperature_avg_c, rainfall_mm, observations, completeness
              FROM daily_city_stats ORDER BY numer_sta, day`),
        staging: await lakeDigest(engine, p.lake, datasetPrefix('staging', 'observations'), 'numer_sta, observed_at, t, rr3'),
        curated: await lakeDigest(engine, p.lake, datasetPrefix('curated', 'daily_city_stats'), 'numer_sta, day, observations, round(temperature_avg_c, 6)'),
      }));

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
        const interrupted = await killDuring(home, ['run', 'synop', '--input', input], when(lake));
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
