import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdbWarehouse.js';
import { dayResponse, response, synopRow } from '../fixtures/infoclimat.js';
import { tempHome, writeInputs } from '../helpers/platform.js';
import { ecluse, ecluseJson } from '../helpers/cli.js';

test('run, runs, rejects and sql speak the contract in JSON', async () => {
  const home = await tempHome();
  const input = await writeInputs(join(home, 'in'), {
    'a.json': dayResponse('2024-10-05'),
    'b.json': response({ '07015': [synopRow('2024-10-06 00:00:00', 'n/a')] }),
  });
  const summary = ecluseJson(home, ['run', 'stations', '--input', input]);
  assert.deepEqual(Object.keys(summary).sort(), [
    'duration_ms',
    'error',
    'files',
    'files_deferred',
    'files_skipped',
    'partition',
    'pipeline',
    'rows_read',
    'rows_rejected',
    'rows_written',
    'run_id',
    'status',
    'values_rejected',
    'warnings',
  ]);
  assert.equal(summary.rows_written, 7);
  assert.equal(summary.values_rejected, 1);

  const human = ecluse(home, ['run', 'stations', '--input', input]);
  assert.equal(human.status, 0);
  assert.match(human.stdout, /0 errors out of 0 reports/);
  assert.match(human.stdout, /2 already seen/);

  const runs = ecluseJson<{ items: { run_id: number; status: string }[]; total: number }>(home, ['runs']);
  assert.equal(runs.total, 2);
  assert.deepEqual(
    runs.items.map((r) => r.status),
    ['succeeded', 'succeeded'],
  );

  const rejects = ecluseJson<{ items: Record<string, unknown>[]; total: number }>(home, ['rejects', '--run', String(summary.run_id)]);
  assert.equal(rejects.total, 1);
  assert.deepEqual(
    { file: rejects.items[0]?.file, row: rejects.items[0]?.row, field: rejects.items[0]?.field, value: rejects.items[0]?.value },
    { file: 'b.json', row: 1, field: 'temperature', value: 'n/a' },
  );

  const rows = ecluseJson<Record<string, unknown>[]>(home, [
    'sql',
    'select count(*) as n, max(observed_at) as last, 9007199254740993::BIGINT as big from reports',
  ]);
  assert.deepEqual(rows, [{ n: 7, last: '2024-10-06T00:00:00Z', big: '9007199254740993' }]);
});

test('a command exits 2 naming the process that holds the warehouse', async () => {
  const home = await tempHome();
  const config = loadConfig({ ECLUSE_HOME: home }, home);
  const holder = await DuckDBWarehouse.open(config.warehouse, { command: 'test-holder' });
  try {
    const r = ecluse(home, ['runs']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`in use by process ${process.pid} \\(\`test-holder\``));
  } finally {
    await holder.close();
  }
  assert.equal(ecluse(home, ['runs']).status, 0);
});

test('usage errors are clear and exit 2', async () => {
  const home = await tempHome();
  const r = ecluse(home, ['run', 'nope']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown pipeline "nope" \(known: stations(, [a-z0-9_-]+)*\)/);
  const missing = ecluse(home, ['run', 'stations', '--input', join(home, 'absent')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stdout, /input not found/);
});
