import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateStations } from '../../src/connectors/generators/stations.js';
import { writeSynop } from '../../src/connectors/generators/synop.js';
import { rebuildPipeline } from '../../src/orchestrator/runner.js';
import { FAULT_PIPELINES, runFiles, runsOf, snapshotOf, type FaultPipeline, type Snapshot } from '../helpers/faultRuns.js';
import { tempHome, withPlatform } from '../helpers/platform.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

/**
 * The folder lake on a small tmpfs that fills up during a run: the run fails with a clear error, the
 * warehouse has nothing of it, no temporary file is left in the lake nor scratch folder in the home, no
 * sidecar without its raw file, and once space is freed the rerun (and, after a failed extract, a rebuild
 * from the raw zone) gives the clean run's tables and lake.
 */
const base = await tempHome('ecluse-faults-disk-');
const mounted = await mountTmpfs(join(base, 'small'), 4 * 1024 * 1024);

/** Small inputs of each pipeline (a few hundred kB: the raw zone must fit on the small disk). */
const INPUTS: Record<FaultPipeline, (dir: string) => Promise<unknown>> = {
  stations: (dir) => generateStations({ stations: 6, days: 2, out: dir, seed: 3 }),
  // Across a month's end: the load writes two month files (March, April), so a full disk can fall between them.
  synop: async (dir) => {
    await mkdir(dir, { recursive: true });
    return writeSynop(join(dir, 'synop.jsonl'), 'jsonl', { stations: 4, from: '2024-03-25', to: '2024-04-05', seed: 3 });
  },
};

/**
 * When the disk fills (at the first progress event of a step), and how much room is left then: with room for
 * a few partitions, some are published before the failure, and the rerun must merge them, not double them.
 * That room is the clean run's largest staging partition: the lake puts partitions in parallel, so a smaller
 * room could go to a partition too big for it, leaving none published; the largest one's room always takes
 * whichever comes first, never all of them.
 */
const MOMENTS: ReadonlyArray<{ pipeline: FaultPipeline; name: string; step: string; leave: number | 'largest partition'; staging: string }> = [
  { pipeline: 'stations', name: 'extract', step: 'extract', leave: 0, staging: 'staging' },
  { pipeline: 'stations', name: 'extract with room for a few files', step: 'extract', leave: 120 * 1024, staging: 'staging' },
  { pipeline: 'stations', name: 'load', step: 'load', leave: 0, staging: 'staging' },
  { pipeline: 'stations', name: 'load with room for a few partitions', step: 'load', leave: 'largest partition', staging: 'staging' },
  { pipeline: 'synop', name: 'load', step: 'load', leave: 0, staging: 'staging' },
  { pipeline: 'synop', name: 'load with room for a few partitions', step: 'load', leave: 'largest partition', staging: 'staging' },
];

/** tmpfs gives a file whole pages. */
const PAGE = 4096;

describe('lake disk full', { skip: 'skip' in mounted ? mounted.skip : false }, () => {
  const fs = mounted as Tmpfs;
  const filler = join(fs.path, 'filler');
  const inputs = new Map<FaultPipeline, string>();
  const expected = new Map<FaultPipeline, Snapshot>();
  const largestPartition = new Map<FaultPipeline, number>();

  before(async () => {
    for (const pipeline of Object.keys(FAULT_PIPELINES) as FaultPipeline[]) {
      const input = join(base, `input-${pipeline}`);
      await INPUTS[pipeline](input);
      inputs.set(pipeline, input);
      const reference = join(base, `reference-${pipeline}`);
      const env = { ECLUSE_LAKE: join(reference, 'lake') };
      const clean = await runFiles(reference, env, pipeline, [input]);
      assert.equal(clean.status, 'succeeded', String(clean.error));
      expected.set(pipeline, await snapshotOf(reference, env, pipeline));
      const staging = join(reference, 'lake', 'staging');
      const sizes = await Promise.all((await matching(staging, /\.parquet$/)).map(async (n) => Math.ceil((await stat(join(staging, n))).size / PAGE) * PAGE));
      assert.ok(sizes.length >= 2, `${pipeline}'s clean run writes several staging partitions (${sizes.length}): a full disk can fall between them`);
      largestPartition.set(pipeline, Math.max(...sizes));
    }
  });
  after(async () => {
    fs.unmount();
    await rm(base, { recursive: true, force: true });
  });

  /** Names under `dir` (hidden ones included) with a path segment matching `pattern`. */
  async function matching(dir: string, pattern: RegExp): Promise<string[]> {
    const names = await readdir(dir, { recursive: true }).catch(() => []);
    return names.filter((n) => n.split('/').some((part) => pattern.test(part)));
  }

  for (const [i, { pipeline, name, step, leave: room, staging }] of MOMENTS.entries()) {
    test(
      `${pipeline}: full during ${name}: the run fails cleanly, the rerun${step === 'extract' ? ' and a rebuild' : ''} complete once space is freed`,
      { timeout: 60_000 },
      async () => {
        const home = join(base, `home-${i}`);
        const lake = join(fs.path, `lake-${i}`);
        const env = { ECLUSE_LAKE: lake };
        const input = inputs.get(pipeline) as string;
        await rm(filler, { force: true });
        const leave = room === 'largest partition' ? (largestPartition.get(pipeline) as number) : room;
        let filled = 0;
        const failed = await runFiles(home, env, pipeline, [input], (e) => {
          if (e.step === step && e.done === 0 && filled === 0) filled = fs.fillWith(filler, leave);
        });
        assert.ok(filled > 0, `the run never reached its ${step} step: ${failed.status} ${String(failed.error)}`);
        assert.equal(failed.status, 'failed');
        assert.match(String(failed.error), /ENOSPC|no space left/i);
        assert.ok(String(failed.error).includes(`lake ${lake}: cannot write `), `the error names the lake and the object: ${failed.error}`);

        assert.deepEqual(await matching(lake, /^\.tmp-/), [], 'no half-written object left in the lake');
        assert.deepEqual(await matching(home, /^ecluse-/), [], 'no scratch folder left in the home');
        const raw = await matching(join(lake, 'raw'), /./);
        const sidecars = raw.filter((n) => n.endsWith('.meta.json'));
        assert.deepEqual(
          sidecars.filter((n) => !raw.includes(n.slice(0, -'.meta.json'.length))),
          [],
          'no sidecar without its raw file',
        );
        const published = (await matching(join(lake, staging), /\.parquet$/)).length;
        if (step === 'load' && leave > 0) assert.ok(published > 0, 'the partly full disk took some partitions');
        else assert.equal(published, 0);
        if (step === 'extract' && leave > 0) assert.ok(raw.length > sidecars.length, 'the partly full disk took some raw files');
        const interrupted = await snapshotOf(home, env, pipeline);
        const clean = expected.get(pipeline) as Snapshot;
        for (const [what, rows] of Object.entries(interrupted)) {
          if (what === 'lake' || what === 'curated') continue;
          assert.deepEqual(rows, [], `nothing of the failed run is in the warehouse (${what})`);
        }

        await rm(filler);
        const rerun = await runFiles(home, env, pipeline, [input]);
        assert.equal(rerun.status, 'succeeded', String(rerun.error));
        assert.deepEqual(
          (await runsOf(home, env)).map((r) => r.status),
          ['failed', 'succeeded'],
        );
        assert.deepEqual(await snapshotOf(home, env, pipeline), clean, 'tables and lake equal the clean run');

        if (step === 'extract') {
          // The failed run left part of its files in the raw zone, which the rerun stored again: replayed, each content counts once.
          const rebuilt = await withPlatform(home, (p) => rebuildPipeline(p, FAULT_PIPELINES[pipeline]), env);
          assert.equal(rebuilt.status, 'succeeded', String(rebuilt.error));
          assert.deepEqual(await snapshotOf(home, env, pipeline), clean, 'a rebuild from the raw zone equals the clean run');
        }
        // The small disk holds one case's lake at a time.
        await rm(lake, { recursive: true });
      },
    );
  }
});
