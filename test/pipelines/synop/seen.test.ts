import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSynop } from '../../../src/connectors/generators/synop.js';
import { executeRun, rebuildPipeline } from '../../../src/orchestrator/runner.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { synopPipeline } from '../../../src/pipelines/synop/pipeline.js';
import { tempHome, withPlatform as withHomePlatform } from '../../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';

/** What "seen" means for synop: a file rejected whole contributed nothing, so a later delivery of its bytes is read again. */

for (const setup of SETUPS) {
  describe(`synop: seen files on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    const withPlatform = async <T>(home: string, fn: (p: Platform) => Promise<T>) => withHomePlatform(home, fn, await envOf(home));
    const run = (home: string, inputs: string[]) => withPlatform(home, (p) => executeRun(p, synopPipeline, { inputs, trigger: 'cli' }));
    const observations = (home: string) =>
      withPlatform(home, (p) => p.warehouse.query(`SELECT numer_sta, observed_at, t, pmer, nom FROM observations ORDER BY numer_sta, observed_at`));
    const seenNames = (home: string) =>
      withPlatform(home, async (p) =>
        (await p.warehouse.query(`SELECT original_name FROM files WHERE pipeline = 'synop' AND status = 'loaded' ORDER BY original_name`)).map(
          (r) => r.original_name,
        ),
      );

    test('JSONL delivered as .json is rejected whole and not seen: renamed, it loads; rebuild gives the same rows', async () => {
      const home = await tempHome('ecluse-synop-seen-');
      const gen = join(home, 'gen.jsonl');
      const { rows } = await writeSynop(gen, 'jsonl', { stations: 2, from: '2024-03-01', to: '2024-03-02', seed: 3 });
      const drop = join(home, 'drop');
      await mkdir(drop);
      await copyFile(gen, join(drop, 'obs.json'));

      const first = await run(home, [drop]);
      assert.equal(first.status, 'succeeded', first.error ?? '');
      assert.deepEqual([first.files, first.rows_written, first.rows_rejected], [1, 0, 1]);
      assert.match(first.warnings.join('\n'), /^all files rejected whole, nothing loaded from them \(obs\.json; see: ecluse rejects --run \d+\)/);
      assert.deepEqual(await seenNames(home), []);

      await rename(join(drop, 'obs.json'), join(drop, 'obs.jsonl'));
      const second = await run(home, [drop]);
      assert.deepEqual([second.files, second.files_skipped, second.rows_written], [1, 0, rows]);
      assert.deepEqual(second.warnings, []);
      assert.deepEqual(await seenNames(home), ['obs.jsonl']);

      const before = await observations(home);
      assert.equal(before.length, rows);
      const rebuilt = await withPlatform(home, (p) => rebuildPipeline(p, synopPipeline));
      assert.equal(rebuilt.status, 'succeeded', rebuilt.error ?? '');
      assert.deepEqual([rebuilt.files, rebuilt.rows_written, rebuilt.rows_rejected], [2, rows, 1]);
      assert.deepEqual(await observations(home), before);
    });

    test('records all rejected whole, or a file not UTF-8: not seen, read again, said; a good file beside them is seen', async () => {
      const home = await tempHome('ecluse-synop-seen-');
      const gen = join(home, 'gen.jsonl');
      await writeSynop(gen, 'jsonl', { stations: 1, from: '2024-03-01', to: '2024-03-01', seed: 4 });
      const lines = (await readFile(gen, 'utf8')).split('\n').filter((l) => l.trim() !== '');
      const drop = join(home, 'drop');
      await mkdir(drop);
      await writeFile(join(drop, 'good.jsonl'), lines.join('\n') + '\n');
      const keyless = lines.map((l) => JSON.stringify({ ...(JSON.parse(l) as Record<string, unknown>), numer_sta: null, date: '2024-03-05T00:00:00+00:00' }));
      await writeFile(join(drop, 'keyless.jsonl'), keyless.join('\n') + '\n');
      await writeFile(join(drop, 'latin1.csv'), Buffer.from('numer_sta;date;t\n07015;2024-03-01T00:00:00+00:00;28\xb0\n', 'latin1'));
      await writeFile(join(drop, 'readme.md'), '# not data');

      const first = await run(home, [drop]);
      assert.equal(first.status, 'succeeded', first.error ?? '');
      assert.deepEqual([first.files, first.rows_written], [3, lines.length]);
      assert.deepEqual(await seenNames(home), ['good.jsonl']);
      assert.equal(first.warnings.length, 2, first.warnings.join('\n'));
      assert.match(first.warnings[0] ?? '', /^2 of 3 files rejected whole \(keyless\.jsonl, latin1\.csv; /);
      assert.match(first.warnings[1] ?? '', /^1 file of the input folders not read: unsupported type \(accepted: [a-z, ]+\): readme\.md$/);

      const again = await run(home, [drop]);
      assert.deepEqual([again.files, again.files_skipped, again.rows_written], [2, 1, 0]);
      assert.match(again.warnings[0] ?? '', /^all files rejected whole/);
    });
  });
}
