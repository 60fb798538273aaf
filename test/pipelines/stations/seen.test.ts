import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateStations } from '../../../src/connectors/generators/stations.js';
import { DEFAULT_WU_STATIONS } from '../../../src/connectors/wunderground/stations.js';
import { executeRun, rebuildPipeline } from '../../../src/orchestrator/runner.js';
import { stationsPipeline } from '../../../src/pipelines/stations/pipeline.js';
import { REPORTS } from '../../../src/pipelines/stations/schema.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { dayResponse, response, synopRow } from '../../fixtures/infoclimat.js';
import { tempHome, withPlatform as withHomePlatform, writeInputs } from '../../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';

/** What "seen" means: a file rejected whole contributed nothing, so a later delivery of its bytes is read again. */

const WU_NAME = 'Weather+Underground+-+Ichtegem,+BE.xlsx';
const ALL_COLUMNS = REPORTS.columns.map(([c]) => c).join(', ');

/** One Weather Underground workbook (a day of IICHTE19), as `ecluse generate stations` writes it. */
async function workbook(dir: string): Promise<string> {
  const out = join(dir, 'generated');
  await generateStations({ stations: 1, days: 1, start: '2025-04-01', seed: 99, out });
  return join(out, WU_NAME);
}

for (const setup of SETUPS) {
  describe(`stations: seen files on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    const withPlatform = async <T>(home: string, fn: (p: Platform) => Promise<T>) => withHomePlatform(home, fn, await envOf(home));
    const run = (home: string, inputs: string[]) => withPlatform(home, (p) => executeRun(p, stationsPipeline, { inputs, trigger: 'cli' }));
    const reports = (home: string) => withPlatform(home, (p) => p.warehouse.query(`SELECT ${ALL_COLUMNS} FROM reports ORDER BY station_id, observed_at`));
    const seenNames = (home: string) =>
      withPlatform(home, async (p) =>
        (await p.warehouse.query(`SELECT original_name FROM files WHERE pipeline = 'stations' AND status = 'loaded' ORDER BY original_name`)).map(
          (r) => r.original_name,
        ),
      );
    const fileRows = (home: string) =>
      withPlatform(home, (p) => p.warehouse.query(`SELECT original_name, status, run_id, key FROM files WHERE pipeline = 'stations' ORDER BY original_name`));
    const rawKeys = (home: string) =>
      withPlatform(home, async (p) => (await p.lake.list('raw/stations/')).map((o) => o.key).filter((k) => !k.endsWith('.meta.json')));

    test('a workbook no station matches is rejected whole, not seen: renamed, it loads; rebuild gives the same rows', async () => {
      const home = await tempHome();
      const drop = join(home, 'drop');
      await mkdir(drop);
      await copyFile(await workbook(home), join(drop, 'foo.xlsx'));

      const first = await run(home, [drop]);
      assert.equal(first.status, 'succeeded', first.error ?? '');
      assert.deepEqual([first.files, first.rows_read, first.rows_written, first.rows_rejected], [1, 0, 0, 1]);
      assert.equal(first.warnings.length, 1, first.warnings.join('\n'));
      assert.match(
        first.warnings[0] ?? '',
        /^all files rejected whole, nothing loaded from them \(foo\.xlsx; see: ecluse rejects --run \d+\); not recorded as seen/,
      );
      assert.deepEqual(await seenNames(home), []);

      await rename(join(drop, 'foo.xlsx'), join(drop, WU_NAME));
      const second = await run(home, [drop]);
      assert.equal(second.status, 'succeeded', second.error ?? '');
      assert.deepEqual([second.files, second.files_skipped, second.rows_written], [1, 0, 288]);
      assert.deepEqual(second.warnings, []);
      assert.deepEqual(await seenNames(home), [WU_NAME]);
      const third = await run(home, [drop]);
      assert.deepEqual([third.files, third.files_skipped, third.rows_written], [0, 1, 0]);

      const before = await reports(home);
      assert.equal(before.length, 288);
      assert.ok(before.every((r) => r.station_id === 'IICHTE19'));
      // The first delivery's reject is history: it stays.
      const rejects = await withPlatform(home, (p) => p.warehouse.listRejects({ runId: first.run_id }));
      assert.equal(rejects.total, 1);
      assert.match(rejects.items[0]?.reason ?? '', /no configured Weather Underground station matches this file name/);

      // The raw zone holds both copies of the bytes, the wrong name first: the rebuild replays them as the runs did.
      const rebuilt = await withPlatform(home, (p) => rebuildPipeline(p, stationsPipeline));
      assert.equal(rebuilt.status, 'succeeded', rebuilt.error ?? '');
      assert.deepEqual([rebuilt.files, rebuilt.files_skipped, rebuilt.rows_written, rebuilt.rows_rejected], [2, 0, 288, 1]);
      assert.deepEqual(await reports(home), before);
      assert.deepEqual(await seenNames(home), [WU_NAME]);
    });

    test('a response whose stations are all unknown is seen once the station is configured', async () => {
      const home = await tempHome();
      const doc = response(
        { '99999': [synopRow('2024-10-05 00:00:00', '7.6', { id_station: '99999' }), synopRow('2024-10-05 01:00:00', '7.2', { id_station: '99999' })] },
        [],
      );
      const input = await writeInputs(join(home, 'in'), { 'unknown.json': doc });
      const first = await run(home, [input]);
      assert.deepEqual([first.files, first.rows_read, first.rows_rejected, first.rows_written], [1, 2, 2, 0]);
      assert.match(first.warnings.join('\n'), /all files rejected whole.*unknown\.json/);
      assert.deepEqual(await seenNames(home), []);

      const station = { id: '99999', name: 'Nouvelle', city: 'Lille', latitude: 50.6, longitude: 3.1, type: 'static' };
      await writeFile(join(home, 'ecluse.config.json'), JSON.stringify({ stations: [...DEFAULT_WU_STATIONS, station] }));
      const second = await run(home, [input]);
      assert.deepEqual([second.files, second.files_skipped, second.rows_written, second.rows_rejected], [1, 0, 2, 0]);
      assert.deepEqual(second.warnings, []);
      assert.deepEqual(await seenNames(home), ['unknown.json']);
    });

    test('only the files rejected whole stay unseen; unreadable files are read again and said each time', async () => {
      const home = await tempHome();
      const input = await writeInputs(join(home, 'in'), {
        'good.json': dayResponse('2024-10-05'),
        'truncated.json': JSON.stringify(dayResponse('2024-10-06')).slice(0, 200),
        'latin1.csv': Buffer.from('_airbyte_data\n"caf\xe9"\n', 'latin1'),
        'notes.txt': 'not data',
      });
      const first = await run(home, [input]);
      assert.equal(first.status, 'succeeded', first.error ?? '');
      assert.deepEqual([first.files, first.rows_written], [3, 6]);
      assert.deepEqual(await seenNames(home), ['good.json']);
      assert.equal(first.warnings.length, 2, first.warnings.join('\n'));
      assert.match(first.warnings[0] ?? '', /^2 of 3 files rejected whole \(latin1\.csv, truncated\.json; see: ecluse rejects --run \d+\)/);
      assert.match(first.warnings[1] ?? '', /^1 file of the input folders not read: unsupported type \(accepted: json, jsonl, csv, xlsx, zip\): notes\.txt$/);

      const rows = await fileRows(home);
      const rawBefore = await rawKeys(home);
      assert.equal(rawBefore.length, 3);

      const again = await run(home, [input]);
      assert.deepEqual([again.files, again.files_skipped, again.rows_written], [2, 1, 0]);
      assert.match(again.warnings[0] ?? '', /^all files rejected whole/);
      // Rejected files are history in `files` (not seen); read again, they reuse their raw copy rather than add one.
      assert.deepEqual(await rawKeys(home), rawBefore);
      const after = await fileRows(home);
      assert.deepEqual(
        after.map((r) => [r.original_name, r.status, r.key]),
        rows.map((r) => [r.original_name, r.status, r.key]),
      );
      assert.deepEqual(
        after.map((r) => [r.original_name, r.status, r.run_id]),
        [
          ['good.json', 'loaded', first.run_id],
          ['latin1.csv', 'rejected', again.run_id],
          ['truncated.json', 'rejected', again.run_id],
        ],
      );
    });

    test('rows read and not written say why', async () => {
      const home = await tempHome();
      const a = await writeInputs(join(home, 'a'), { 'day.json': dayResponse('2024-10-05') });
      await run(home, [a]);
      // The same reports in another file (different bytes): read, valid, and every key already present.
      const copy = dayResponse('2024-10-05');
      (copy as { errors: unknown[] }).errors = ['another export'];
      const b = await writeInputs(join(home, 'b'), { 'day-again.json': copy });
      const s = await run(home, [b]);
      assert.deepEqual([s.files, s.rows_read, s.rows_written], [1, 6, 0]);
      assert.deepEqual(s.warnings, [
        "none of the 6 valid rows read was written: each key is already in reports (or repeated in the run's files); a key's first value is kept",
      ]);
      // Such a file contributed (it was read): it is seen.
      assert.deepEqual(await seenNames(home), ['day-again.json', 'day.json']);
    });
  });
}
