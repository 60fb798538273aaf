import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { removeStaleScratchDirs, withScratchDir } from '../../src/engine/bulk.js';
import { tempHome } from '../helpers/platform.js';

/** A pid that surely belongs to no process: a child that has exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

test('stale scratch folders are removed: a dead process’s, this process’s unused ones, old unnamed ones; live ones stay', async () => {
  const base = await tempHome('ecluse-scratch-base-');
  const make = async (name: string, ageMs = 0) => {
    await mkdir(join(base, name, 'sub'), { recursive: true });
    await writeFile(join(base, name, 'sub', 'part.csv'), 'x');
    const at = new Date(Date.now() - ageMs);
    await utimes(join(base, name), at, at);
  };
  const dead = `ecluse-${deadPid()}-aB3dE9`;
  await make(dead);
  await make(`ecluse-${process.ppid}-Zz9yX8`); // a live process's (the test runner)
  await make(`ecluse-${process.pid}-qQ1wW2`); // this process's, in use by no run (a restarted container reuses pids)
  await make('ecluse-OLD123', 2 * 86_400_000); // an older version's, two days old
  await make('ecluse-new456'); // an older version's, recent
  await make('ecluse-scratch-notours');
  await writeFile(join(base, 'ecluse-fileAB'), 'a file, not a folder');

  await withScratchDir(async (inUse) => {
    const removed = (await removeStaleScratchDirs(base)).map((d) => basename(d)).sort();
    assert.deepEqual(removed, [dead, `ecluse-${process.pid}-qQ1wW2`, 'ecluse-OLD123'].sort());
    assert.match(basename(inUse), new RegExp(`^ecluse-${process.pid}-[A-Za-z0-9]{6}$`));
    assert.deepEqual(
      (await readdir(base)).sort(),
      [`ecluse-${process.ppid}-Zz9yX8`, 'ecluse-fileAB', 'ecluse-new456', 'ecluse-scratch-notours', basename(inUse)].sort(),
    );
  }, base);
  // The caller that holds the home's embedded warehouse removes unnamed ones whatever their age.
  assert.deepEqual(
    (await removeStaleScratchDirs(base, { exclusive: true })).map((d) => basename(d)),
    ['ecluse-new456'],
  );
  assert.deepEqual((await readdir(base)).sort(), [`ecluse-${process.ppid}-Zz9yX8`, 'ecluse-fileAB', 'ecluse-scratch-notours']);
});
