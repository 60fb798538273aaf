import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { staleness, type Target } from '../../scripts/build.js';
import { tempHome } from '../helpers/platform.js';

test('a build target is current when its stamp is newer than every input; a changed, added or deleted input makes it stale', async () => {
  const root = await tempHome('ecluse-build-');
  const target: Target = { name: 'web', inputs: ['web', 'lock.json'], skip: ['web/dist'], stamp: 'web/dist/index.html', command: [] };
  const at = async (path: string, secondsAgo: number) => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    await utimes(join(root, path), t, t);
  };
  await mkdir(join(root, 'web', 'src'), { recursive: true });
  await writeFile(join(root, 'web', 'src', 'App.tsx'), 'x');
  await writeFile(join(root, 'web', 'src', 'old.ts'), 'x');
  await writeFile(join(root, 'lock.json'), '{}');
  assert.equal(staleness(root, target), 'never built');

  await mkdir(join(root, 'web', 'dist'), { recursive: true });
  await writeFile(join(root, 'web', 'dist', 'index.html'), '<html>');
  for (const p of ['web/src/App.tsx', 'web/src/old.ts', 'web/src', 'web', 'lock.json']) await at(p, 60);
  // The output folder itself is not an input (it changed when the stamp was written).
  assert.equal(staleness(root, target), null);

  // A second ago, not now: the kernel stamps a write with its coarse clock, which can lag the `Date.now()`
  // utimes sets by a few milliseconds, so "now" for both could order them the wrong way round.
  await at('web/src/App.tsx', 1);
  await writeFile(join(root, 'web', 'dist', 'index.html'), '<html>');
  assert.equal(staleness(root, target), null, 'the stamp written after the input');
  await writeFile(join(root, 'web', 'src', 'App.tsx'), 'y');
  await at('web/dist/index.html', 30);
  assert.equal(staleness(root, target), 'web/src/App.tsx changed');

  await at('web/src/App.tsx', 60);
  await rm(join(root, 'web', 'src', 'old.ts'));
  assert.equal(staleness(root, target), 'web/src changed', 'a deleted file changes its folder');
  await at('web/src', 60);
  await writeFile(join(root, 'lock.json'), '{"v":2}');
  assert.equal(staleness(root, target), 'lock.json changed');
});
