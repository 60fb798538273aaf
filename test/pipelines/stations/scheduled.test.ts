import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Orchestrator } from '../../../src/orchestrator/orchestrator.js';
import { executeRun } from '../../../src/orchestrator/runner.js';
import { stationsPipeline } from '../../../src/pipelines/stations/pipeline.js';
import { dayResponse } from '../../fixtures/infoclimat.js';
import { tempHome, withPlatform, writeInputs } from '../../helpers/platform.js';

const OLD = new Date('2024-10-05T12:00:00Z');

test('a scheduled run (no --input) loads new landing files and the InfoClimat day, then skips what it has seen', async () => {
  const home = await tempHome('ecluse-scheduled-');
  const landing = await writeInputs(join(home, 'landing'), { 'd1.json': dayResponse('2024-10-03'), 'notes.tmp': 'partial' });
  // Files just written may still be growing: the landing reads only files older than a few seconds.
  await utimes(join(landing, 'd1.json'), OLD, OLD);
  const requests: URL[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(dayResponse(url.searchParams.get('start') ?? '')));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const env = {
    ECLUSE_LANDING: landing,
    ECLUSE_INFOCLIMAT_TOKEN: 'secret-token',
    ECLUSE_INFOCLIMAT_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/opendata/`,
  };
  try {
    const run = () => withPlatform(home, (p) => executeRun(p, stationsPipeline, { trigger: 'schedule', partition: '2024-10-05' }), env);
    const first = await run();
    assert.equal(first.status, 'succeeded', first.error ?? '');
    assert.equal(first.partition, '2024-10-05');
    assert.equal(first.files, 2, 'the landing file and the API day');
    assert.equal(first.rows_written, 12);
    assert.equal(requests[0]?.searchParams.get('start'), '2024-10-05');
    assert.equal(requests[0]?.searchParams.get('token'), 'secret-token');
    const second = await run();
    assert.equal(second.status, 'succeeded', second.error ?? '');
    assert.equal(second.files, 0);
    assert.equal(second.files_skipped, 2);
    assert.equal(second.rows_written, 0);
    const sources = await withPlatform(home, (p) => p.warehouse.query(`SELECT source, count(*) AS n FROM files GROUP BY source ORDER BY source`), env);
    assert.deepEqual(sources, [
      { source: 'infoclimat-api', n: 1 },
      { source: 'landing', n: 1 },
    ]);
  } finally {
    server.closeAllConnections();
    await new Promise((ok) => server.close(ok));
  }
});

test('a scheduled run with neither a landing nor a token fails saying what to set', async () => {
  const home = await tempHome('ecluse-scheduled-');
  const s = await withPlatform(home, (p) => executeRun(p, stationsPipeline, { trigger: 'schedule', partition: '2024-10-05' }));
  assert.equal(s.status, 'failed');
  assert.match(s.error ?? '', /ECLUSE_LANDING or ECLUSE_INFOCLIMAT_TOKEN/);
});

test('landing files too recent to read are counted, said, and keep the partition from counting as done for a backfill', async () => {
  const home = await tempHome('ecluse-scheduled-');
  const landing = await writeInputs(join(home, 'landing'), { 'old.json': dayResponse('2024-10-03'), 'fresh.json': dayResponse('2024-10-04') });
  await utimes(join(landing, 'old.json'), OLD, OLD);
  const env = { ECLUSE_LANDING: landing };
  await withPlatform(
    home,
    async (p) => {
      const orch = new Orchestrator(p, new Map([['stations', stationsPipeline]]), { maxAttempts: 1, backoffMs: 1 });
      const first = await orch.backfill(stationsPipeline, '2024-10-05', '2024-10-05');
      const run = first.results[0];
      assert.equal(run?.status, 'succeeded', run?.error ?? '');
      const record = await p.warehouse.getRun(run?.run_id as number);
      assert.deepEqual([record?.files, record?.files_deferred, record?.rows_written], [1, 1, 6]);
      assert.deepEqual(record?.warnings, [
        '1 landing file modified less than 10 s ago left for a later run (perhaps still being written): fresh.json; this partition does not count as done for a backfill',
      ]);
      const logs = await p.warehouse.query(`SELECT level, msg FROM run_logs WHERE run_id = $1 AND level = 'warn'`, [run?.run_id as number]);
      assert.deepEqual(
        logs.map((l) => l.msg),
        [record?.warnings[0]],
      );

      // Once the file has settled, the same backfill runs the day again (it was not done) and takes it.
      await utimes(join(landing, 'fresh.json'), OLD, OLD);
      const second = await orch.backfill(stationsPipeline, '2024-10-05', '2024-10-05');
      assert.equal(second.skipped, 0);
      const again = await p.warehouse.getRun(second.results[0]?.run_id as number);
      assert.deepEqual([again?.files, again?.files_skipped, again?.files_deferred, again?.rows_written], [1, 1, 0, 6]);
      assert.deepEqual(again?.warnings, []);
      const third = await orch.backfill(stationsPipeline, '2024-10-05', '2024-10-05');
      assert.equal(third.skipped, 1, 'done now');
    },
    env,
  );
});
