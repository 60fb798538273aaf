/**
 * ZIP bombs in the stations pipeline: a ZIP's entries are extracted to the run's scratch folder and
 * read like files; an entry the archive reader refuses is one reject naming it, and the rest still loads.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { generateStations } from '../../../src/connectors/generators/stations.js';
import { executeRun } from '../../../src/orchestrator/runner.js';
import { stationsPipeline } from '../../../src/pipelines/stations/pipeline.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { REPORTS } from '../../../src/pipelines/stations/schema.js';
import { tempHome, withPlatform as withHomePlatform } from '../../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';
import { textEntry, zerosEntry, zipOf } from '../../engine/readers/zipFixtures.js';

const REPORT_COLUMNS = REPORTS.columns
  .map(([c]) => c)
  .filter((c) => c !== 'raw_file')
  .join(', ');

for (const setup of SETUPS) {
  describe(`stations ZIP inputs on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    const withPlatform = async <T>(home: string, fn: (p: Platform) => Promise<T>) => withHomePlatform(home, fn, await envOf(home));
    const run = (home: string, inputs: string[]) => withPlatform(home, (p) => executeRun(p, stationsPipeline, { inputs, trigger: 'cli' }));
    const reportsOf = (home: string) => withPlatform(home, (p) => p.warehouse.query(`SELECT ${REPORT_COLUMNS} FROM reports ORDER BY station_id, observed_at`));

    test('an archive with a bomb, hostile names and a nested archive beside good entries: each bad entry one reject, the rest loads as if unzipped', async () => {
      const data = await tempHome('ecluse-stations-zip-data-');
      const generated = await generateStations({ stations: 2, days: 1, out: join(data, 'gen'), seed: 7 });
      const [json, ichtegem, madeleine] = generated.files as [string, string, string];
      assert.match(basename(ichtegem), /Ichtegem/);

      // The same files, plain: what the archive must give.
      const plainHome = await tempHome('ecluse-stations-zip-plain-');
      const plain = await run(plainHome, generated.files);
      assert.equal(plain.status, 'succeeded', plain.error ?? '');

      const input = join(data, 'in');
      await mkdir(input);
      await writeFile(
        join(input, 'delivery.zip'),
        zipOf([
          textEntry(`day/${basename(json)}`, await readFile(json)),
          textEntry(basename(ichtegem), await readFile(ichtegem)),
          zerosEntry('huge.json', 1024),
          textEntry('../escape.json', '{}'),
          textEntry('C:\\windows.json', '{}'),
          textEntry('bell\u0007.json', '{}'),
          textEntry('inner.zip', zipSync({ 'x.json': strToU8('{}') })),
          textEntry('empty.csv', ''),
          textEntry('notes.txt', 'hello'),
        ]),
      );
      await writeFile(join(input, basename(madeleine)), await readFile(madeleine));

      const home = await tempHome('ecluse-stations-zip-');
      const s = await run(home, [input]);
      assert.equal(s.status, 'succeeded', s.error ?? '');
      assert.equal(s.files, 2);
      assert.equal(s.rows_written, plain.rows_written);
      assert.deepEqual(await reportsOf(home), await reportsOf(plainHome));

      const rejects = await withPlatform(home, (p) => p.warehouse.query(`SELECT file, reason FROM rejects WHERE run_id = $1 ORDER BY file`, [s.run_id]));
      const byFile = new Map(rejects.map((r) => [String(r.file), String(r.reason)]));
      assert.deepEqual([...byFile.keys()].sort(), [
        'delivery.zip/../escape.json',
        'delivery.zip/C:\\windows.json',
        'delivery.zip/bell\\u0007.json',
        'delivery.zip/empty.csv',
        'delivery.zip/huge.json',
        'delivery.zip/inner.zip',
        'delivery.zip/notes.txt',
      ]);
      assert.match(byFile.get('delivery.zip/huge.json') ?? '', /the limit against zip bombs \(raise it with ECLUSE_ZIP_MAX_RATIO/);
      assert.match(byFile.get('delivery.zip/../escape.json') ?? '', /escapes the archive folder/);
      assert.match(byFile.get('delivery.zip/inner.zip') ?? '', /nested archives are not opened/);
      assert.match(byFile.get('delivery.zip/notes.txt') ?? '', /unsupported file type in archive/);
      assert.ok(s.rows_rejected >= rejects.length, `${s.rows_rejected} rows rejected for ${rejects.length} rejects`);
      // Nothing extracted is left behind in the home.
      assert.deepEqual(
        (await readdir(home)).filter((n) => n.startsWith('ecluse-')),
        [],
      );
    });

    test('a damaged archive is one reject naming it; the file beside it loads', async () => {
      const data = await tempHome('ecluse-stations-zip-cut-');
      const generated = await generateStations({ stations: 1, days: 1, out: join(data, 'gen'), seed: 8, wunderground: false });
      const json = generated.files[0] as string;
      const whole = zipOf([textEntry('a.json', await readFile(json))]);
      const input = join(data, 'in');
      await mkdir(input);
      await writeFile(join(input, 'cut.zip'), whole.subarray(0, Math.floor(whole.length / 2)));
      await writeFile(join(input, basename(json)), await readFile(json));
      const home = await tempHome('ecluse-stations-zip-');
      const s = await run(home, [input]);
      assert.equal(s.status, 'succeeded', s.error ?? '');
      assert.equal(s.rows_written, generated.reports);
      const rejects = await withPlatform(home, (p) => p.warehouse.query(`SELECT file, reason FROM rejects WHERE run_id = $1`, [s.run_id]));
      assert.deepEqual(
        rejects.map((r) => r.file),
        ['cut.zip'],
      );
      assert.match(String(rejects[0]?.reason), /not a ZIP archive, or one cut short/);
    });
  });
}
