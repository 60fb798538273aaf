import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { generateStations } from '../../../src/connectors/generators/stations.js';
import { datasetPrefix } from '../../../src/lake/layout.js';
import type { ObjectStore } from '../../../src/lake/objectStore.js';
import { REPORTS } from '../../../src/pipelines/stations/schema.js';
import { crashHarness, lakeDigest } from '../../helpers/crash.js';
import { tempHome } from '../../helpers/platform.js';
import { SETUPS, skipSetup } from '../../helpers/setups.js';

const REPORT_COLUMNS = REPORTS.columns
  .map(([c]) => c)
  .filter((c) => c !== 'raw_file')
  .join(', ');

for (const setup of SETUPS) {
  describe(`crash safety on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const { prepare, ecluseJson, killDuring, inspect } = crashHarness(setup);

    /** Everything a user sees of the stations tables; raw_file differs between homes (arrival times), so it is left out. */
    const snapshot = (home: string) =>
      inspect(home, async (p, engine) => ({
        reports: await p.warehouse.query(`SELECT ${REPORT_COLUMNS} FROM reports ORDER BY station_id, observed_at`),
        stations: await p.warehouse.query(`SELECT * FROM stations ORDER BY id`),
        lake: await lakeDigest(engine, p.lake, datasetPrefix('staging', 'reports'), 'station_id, observed_at, temperature_c'),
      }));

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
        const interrupted = await killDuring(home, ['run', 'stations', '--input', input], when(lake));
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
