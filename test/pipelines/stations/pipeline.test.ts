import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { executeRun, rebuildPipeline } from '../../../src/orchestrator/runner.js';
import { stationsPipeline } from '../../../src/pipelines/stations/pipeline.js';
import { dayResponse, response, staticRow, synopRow } from '../../fixtures/infoclimat.js';
import { DuckSession } from '../../../src/engine/duckdb.js';
import { REPORTS } from '../../../src/pipelines/stations/schema.js';
import { tempHome as newHome, withPlatform as withHomePlatform, writeInputs } from '../../helpers/platform.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';
import { datasetPrefix } from '../../../src/lake/layout.js';
import { withLocalFiles } from '../../../src/lake/localFiles.js';
import { resetPipeline } from '../../../src/pipelines/kit/reset.js';

/** Reports as users see them (raw_file differs between homes: arrival times). */
const REPORT_COLUMNS = REPORTS.columns
  .map(([c]) => c)
  .filter((c) => c !== 'raw_file')
  .join(', ');

for (const setup of SETUPS) {
  describe(`stations pipeline on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    const tempHome = () => newHome();
    const withPlatform = async <T>(home: string, fn: (p: Platform) => Promise<T>) => withHomePlatform(home, fn, await envOf(home));

    const run = (home: string, inputs: string[]) => withPlatform(home, (p) => executeRun(p, stationsPipeline, { inputs, trigger: 'cli' }));

    const reportsOf = (home: string) => withPlatform(home, (p) => p.warehouse.query(`SELECT ${REPORT_COLUMNS} FROM reports ORDER BY station_id, observed_at`));

    test('a first run loads every report; the same input again writes nothing', async () => {
      const home = await tempHome();
      const input = await writeInputs(join(home, 'in'), { 'd1.json': dayResponse('2024-10-05'), 'd2.json': dayResponse('2024-10-06') });
      const first = await run(home, [input]);
      assert.equal(first.status, 'succeeded', first.error ?? '');
      assert.equal(first.files, 2);
      assert.equal(first.rows_read, 12);
      assert.equal(first.rows_written, 12);
      assert.equal(first.partition, `adhoc-${first.run_id}`);
      const again = await run(home, [input]);
      assert.equal(again.status, 'succeeded');
      assert.equal(again.files, 0);
      assert.equal(again.files_skipped, 2);
      assert.equal(again.rows_written, 0);
      // Identical content under another name is recognised too; new reports in a changed file are added.
      const changed = dayResponse('2024-10-06');
      (changed.hourly as Record<string, unknown[]>)['07015']?.push(synopRow('2024-10-06 03:00:00', '6.5'));
      const more = await writeInputs(join(home, 'in2'), { 'copy.json': dayResponse('2024-10-05'), 'd2-fixed.json': changed });
      const third = await run(home, [more]);
      assert.equal(third.files_skipped, 1);
      assert.equal(third.rows_written, 1);
      const rows = await reportsOf(home);
      assert.equal(rows.length, 13);
      // The key is kept unique by the load itself (DuckDB holds no index on it).
      const keys = await withPlatform(home, (p) => p.warehouse.query(`SELECT count(*) AS n, count(DISTINCT (station_id, observed_at)) AS k FROM reports`));
      assert.equal(keys[0]?.n, keys[0]?.k);
      const stations = await withPlatform(home, (p) => p.warehouse.query(`SELECT id, type, timezone FROM stations ORDER BY id`));
      assert.deepEqual(
        stations.map((s) => s.id),
        ['00052', '07015', 'IICHTE19', 'ILAMAD25'],
      );
    });

    test('first value wins when two files carry the same key', async () => {
      const home = await tempHome();
      const a = response({ '07015': [synopRow('2024-10-05 00:00:00', '7.6')] });
      const b = response({ '07015': [synopRow('2024-10-05 00:00:00', '9.9')] });
      const input = await writeInputs(join(home, 'in'), { 'a.json': a, 'b.json': b });
      const s = await run(home, [input]);
      assert.equal(s.rows_read, 2);
      assert.equal(s.rows_written, 1);
      const rows = await reportsOf(home);
      assert.equal(rows[0]?.temperature_c, 7.6);
      assert.equal(rows[0]?.observed_at, '2024-10-05T00:00:00Z');
    });

    test('runs follow each other in one process, one with duplicate keys then one without', async () => {
      const home = await tempHome();
      const dup = await writeInputs(join(home, 'in'), {
        'a.json': response({ '07015': [synopRow('2024-10-05 00:00:00', '7.6')] }),
        'b.json': response({ '07015': [synopRow('2024-10-05 00:00:00', '9.9')] }),
      });
      const next = await writeInputs(join(home, 'in2'), { 'c.json': response({ '07015': [synopRow('2024-10-06 00:00:00', '5')] }) });
      const [first, second] = await withPlatform(home, async (p) => [
        await executeRun(p, stationsPipeline, { inputs: [dup], trigger: 'cli' }),
        await executeRun(p, stationsPipeline, { inputs: [next], trigger: 'cli' }),
      ]);
      assert.equal(first?.status, 'succeeded', first?.error ?? '');
      assert.equal(second?.status, 'succeeded', second?.error ?? '');
      assert.equal(second?.rows_written, 1);
    });

    test('bad input is explained and nothing else is lost', async () => {
      const home = await tempHome();
      const good = dayResponse('2024-10-05');
      const unknown = response({
        '07015': [synopRow('2024-10-07 00:00:00', 'abc')],
        ZZZ999: [staticRow('2024-10-07 00:00:00', '5', { id_station: 'ZZZ999' })],
      });
      const input = await writeInputs(join(home, 'in'), {
        'good.json': good,
        'mixed.json': unknown,
        'truncated.json': JSON.stringify(dayResponse('2024-10-08')).slice(0, 200),
        'empty.json': '',
        'latin1.csv': Buffer.from([0x5f, 0x61, 0x69, 0x72, 0x62, 0x79, 0x74, 0x65, 0x5f, 0x64, 0x61, 0x74, 0x61, 0x0a, 0xe9, 0x0a]),
      });
      const s = await run(home, [input]);
      assert.equal(s.status, 'succeeded', s.error ?? '');
      assert.equal(s.files, 5);
      assert.equal(s.rows_written, 7); // 6 good + the report whose temperature was nulled
      assert.equal(s.values_rejected, 1);
      const rejects = await withPlatform(home, (p) => p.warehouse.listRejects({ runId: s.run_id }));
      const byFile = new Map(rejects.items.map((r) => [r.file, r]));
      assert.match(byFile.get('truncated.json')?.reason ?? '', /truncated JSON/);
      assert.match(byFile.get('empty.json')?.reason ?? '', /empty file/);
      assert.match(byFile.get('latin1.csv')?.reason ?? '', /not valid UTF-8 .*line 2/);
      const mixed = rejects.items.filter((r) => r.file === 'mixed.json');
      assert.equal(mixed.length, 2);
      assert.ok(mixed.some((r) => r.field === 'temperature' && r.value === 'abc' && r.row === 1 && !r.whole_record));
      assert.ok(mixed.some((r) => /unknown station "ZZZ999"/.test(r.reason) && r.whole_record));
      const nulled = await reportsOf(home);
      assert.equal(nulled.find((r) => r.observed_at === '2024-10-07T00:00:00Z')?.temperature_c, null);
    });

    test('staging partitions are written to the lake, one file per month', async () => {
      const home = await tempHome();
      const input = await writeInputs(join(home, 'in'), { 'd1.json': dayResponse('2024-10-31'), 'd2.json': dayResponse('2024-11-01') });
      await run(home, [input]);
      const prefix = datasetPrefix('staging', 'reports');
      const counted = await withPlatform(home, async (p) => {
        const keys = (await p.lake.list(prefix)).map((o) => o.key).sort();
        assert.deepEqual(keys, [`${prefix}month=2024-10/data.parquet`, `${prefix}month=2024-11/data.parquet`]);
        const engine = await DuckSession.open();
        try {
          return await withLocalFiles(p.lake, keys, (paths) =>
            engine.plainRows(`SELECT count(*) AS n FROM read_parquet([${paths.map((x) => `'${x}'`).join(', ')}], hive_partitioning = false)`),
          );
        } finally {
          engine.close();
        }
      });
      assert.equal(counted[0]?.n, 12);
    });

    test('rebuild from the raw zone alone gives the same tables', async () => {
      const home = await tempHome();
      const input = await writeInputs(join(home, 'in'), { 'd1.json': dayResponse('2024-10-05') });
      await run(home, [input]);
      const input2 = await writeInputs(join(home, 'in2'), {
        'd2.json': response({ '07015': [synopRow('2024-10-05 00:00:00', '99'), synopRow('2024-10-06 00:00:00', '8')] }),
      });
      await run(home, [input2]);
      const before = await reportsOf(home);
      const summary = await withPlatform(home, async (p) => {
        await resetPipeline(p, stationsPipeline);
        assert.equal((await p.warehouse.query('SELECT count(*) AS n FROM reports'))[0]?.n, 0);
        return executeRun(p, stationsPipeline, { trigger: 'rebuild', partition: 'rebuild' });
      });
      assert.equal(summary.status, 'succeeded', summary.error ?? '');
      assert.equal(summary.files, 2);
      assert.deepEqual(await reportsOf(home), before);
    });

    test('a lake in the former layout (a file per station and month): a run stops and says to rebuild, rebuild rewrites it by month', async () => {
      const home = await tempHome();
      const input = await writeInputs(join(home, 'in'), { 'd1.json': dayResponse('2024-10-05') });
      await run(home, [input]);
      const before = await reportsOf(home);
      const prefix = datasetPrefix('staging', 'reports');
      const former = `${prefix}station_id=07015/month=2024-10/data.parquet`;
      // What an earlier version wrote: the same Parquet rows under a station's key.
      await withPlatform(home, async (p) => {
        const bytes = await p.lake.getBytes(`${prefix}month=2024-10/data.parquet`);
        await p.lake.delete(`${prefix}month=2024-10/data.parquet`);
        await p.lake.putBytes(former, bytes);
      });
      const input2 = await writeInputs(join(home, 'in2'), { 'd2.json': dayResponse('2024-10-06') });
      const stopped = await run(home, [input2]);
      assert.equal(stopped.status, 'failed');
      assert.match(stopped.error ?? '', /former layout \(staging\/reports\/station_id=07015\/month=2024-10\/data\.parquet\).*ecluse rebuild stations/);
      assert.deepEqual(await reportsOf(home), before, 'the stopped run wrote nothing');

      const rebuilt = await withPlatform(home, (p) => rebuildPipeline(p, stationsPipeline));
      assert.equal(rebuilt.status, 'succeeded', rebuilt.error ?? '');
      const keys = await withPlatform(home, async (p) => (await p.lake.list(prefix)).map((o) => o.key));
      assert.deepEqual(keys, [`${prefix}month=2024-10/data.parquet`]);
      assert.deepEqual(await reportsOf(home), before);
      const again = await run(home, [input2]);
      assert.equal(again.status, 'succeeded', again.error ?? '');
    });
  });
}
