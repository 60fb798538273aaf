import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { generateStations } from '../../src/connectors/generators/stations.js';
import { rebuildPipeline } from '../../src/orchestrator/runner.js';
import { stationsPipeline } from '../../src/pipelines/stations/pipeline.js';
import { runsOf, runStations, stationsSnapshot, type StationsSnapshot } from '../helpers/faultRuns.js';
import { tempHome, withPlatform } from '../helpers/platform.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

/**
 * The folder lake on a small tmpfs that fills up during a run: the run fails with a clear error, the
 * warehouse has nothing of it, no temporary file is left in the lake nor scratch folder in the home, and once
 * space is freed the rerun (and a rebuild from the raw zone) gives the clean run's tables and lake.
 */
const base = await tempHome('ecluse-faults-disk-');
const mounted = await mountTmpfs(join(base, 'small'), 4 * 1024 * 1024);

describe('lake disk full', { skip: 'skip' in mounted ? mounted.skip : false }, () => {
  const fs = mounted as Tmpfs;
  const filler = join(fs.path, 'filler');
  let input: string;
  let expected: StationsSnapshot;
  const envOf = (name: string) => ({ ECLUSE_LAKE: join(fs.path, name) });

  before(async () => {
    input = join(base, 'input');
    await generateStations({ stations: 6, days: 2, out: input, seed: 3 });
    const reference = join(base, 'reference');
    const clean = await runStations(reference, { ECLUSE_LAKE: join(reference, 'lake') }, [input]);
    assert.equal(clean.status, 'succeeded', String(clean.error));
    expected = await stationsSnapshot(reference, { ECLUSE_LAKE: join(reference, 'lake') });
  });
  after(async () => {
    fs.unmount();
    await rm(base, { recursive: true, force: true });
  });

  /** Names under `dir` (hidden ones included) that only a write in progress may hold. */
  async function leftovers(dir: string, pattern: RegExp): Promise<string[]> {
    const names = await readdir(dir, { recursive: true }).catch(() => []);
    return names.filter((n) => n.split('/').some((part) => pattern.test(part)));
  }

  /** When the disk fills, and how much room is left then (a few partitions' worth: some are published, not all). */
  const moments = [
    { name: 'extract', step: 'extract', leave: 0 },
    { name: 'load', step: 'load', leave: 0 },
    { name: 'load-partly', step: 'load', leave: 40 * 1024 },
  ] as const;

  for (const { name, step, leave } of moments) {
    test(`full during ${name}: the run fails cleanly, the rerun and a rebuild complete once space is freed`, { timeout: 60_000 }, async () => {
      const home = join(base, name);
      const env = envOf(name);
      await rm(filler, { force: true });
      let filled = 0;
      const failed = await runStations(home, env, [input], (e) => {
        if (e.step === step && e.done === 0 && filled === 0) filled = fs.fillWith(filler, leave);
      });
      assert.ok(filled > 0, `the run never reached its ${step} step`);
      assert.equal(failed.status, 'failed');
      assert.match(String(failed.error), /ENOSPC|no space left/i);
      assert.ok(String(failed.error).includes(join(fs.path, name)), `the error names the lake: ${failed.error}`);

      assert.deepEqual(await leftovers(join(fs.path, name), /^\.tmp-/), [], 'no half-written object left in the lake');
      const published = (await leftovers(join(fs.path, name, 'staging'), /\.parquet$/)).length;
      // With room for a few partitions, some are published before the disk is full: the rerun must merge them, not double them.
      if (leave > 0) assert.ok(published > 0, 'the partly full disk took some partitions');
      else assert.equal(published, 0);
      assert.deepEqual(await leftovers(home, /^ecluse-/), [], 'no scratch folder left in the home');
      const interrupted = await stationsSnapshot(home, env);
      assert.deepEqual(interrupted.reports, [], 'nothing of the failed run is in the warehouse');
      assert.deepEqual(interrupted.files, [], 'no file of the failed run counts as seen');

      await rm(filler);
      const rerun = await runStations(home, env, [input]);
      assert.equal(rerun.status, 'succeeded', String(rerun.error));
      assert.deepEqual((await runsOf(home, env)).map((r) => r.status), ['failed', 'succeeded']);
      assert.deepEqual(await stationsSnapshot(home, env), expected, 'tables and lake equal the clean run');

      const rebuilt = await withPlatform(home, (p) => rebuildPipeline(p, stationsPipeline), env);
      assert.equal(rebuilt.status, 'succeeded', String(rebuilt.error));
      assert.deepEqual(await stationsSnapshot(home, env), expected, 'a rebuild from the raw zone equals the clean run');
    });
  }
});
