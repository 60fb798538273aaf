import { after, test } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateStations } from '../../../src/connectors/generators/stations.js';
import { tempHome, withPlatform } from '../../helpers/platform.js';
import { ecluse, ROOT } from '../../helpers/cli.js';
import { DuckSession } from '../../../src/engine/duckdb.js';
import { REPORTS } from '../../../src/pipelines/stations/schema.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../../helpers/warehouses.js';

const REPORT_COLUMNS = REPORTS.columns.map(([c]) => c).filter((c) => c !== 'raw_file').join(', ');

/** Which warehouse the suite below runs on; set per test. */
let kind: WarehouseKind = 'duckdb';
const homes: string[] = [];
after(() => dropSchemas(homes));

function env(home: string): Record<string, string> {
  homes.push(home);
  const url = warehouseFor(kind, home);
  return url ? { ECLUSE_WAREHOUSE: url } : {};
}

function ecluseJson<T = Record<string, unknown>>(home: string, args: string[]): T {
  const r = ecluse(home, [...args, '--json'], env(home));
  if (r.status !== 0) throw new Error(`ecluse ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function spawnEcluse(home: string, args: string[]) {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ECLUSE_HOME: home, ...env(home) },
    stdio: 'pipe',
  });
}

/** Everything a user sees of the stations tables; raw_file differs between homes (arrival times), so it is left out. */
async function snapshot(home: string) {
  const engine = await DuckSession.open();
  try {
    return await withPlatform(
      home,
      async (p) => ({
        reports: await p.warehouse.query(`SELECT ${REPORT_COLUMNS} FROM reports ORDER BY station_id, observed_at`),
        stations: await p.warehouse.query(`SELECT * FROM stations ORDER BY id`),
        lake: await engine.plainRows(
          `SELECT count(*) AS n, sum(hash(station_id, observed_at, temperature_c)) AS h FROM read_parquet('${join(home, 'lake', 'staging', 'reports')}/**/*.parquet')`,
        ),
      }),
      env(home),
    );
  } finally {
    engine.close();
  }
}

async function countFiles(dir: string): Promise<number> {
  if (!existsSync(dir)) return 0;
  return (await readdir(dir, { recursive: true })).filter((f) => !f.endsWith('.meta.json')).length;
}

/** Starts a run and kills it with SIGKILL as soon as `when` says so; returns whether it was still running. */
async function killDuring(home: string, input: string, when: () => Promise<boolean>): Promise<boolean> {
  const child = spawnEcluse(home, ['run', 'stations', '--input', input, '--json']);
  let exited = false;
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + 60_000;
  while (!exited && Date.now() < deadline && !(await when())) await sleep(2);
  const killed = !exited && child.kill('SIGKILL');
  await new Promise((r) => (exited ? r(null) : child.on('exit', r)));
  return killed;
}

for (const k of ['duckdb', 'postgres'] as const) {
  test(`${k}: kill -9 during a run, then a rerun: the same tables as an uninterrupted run; rebuild too`, { timeout: 300_000, skip: await skipUnless(k) }, async () => {
    kind = k;
    const base = await tempHome('ecluse-crash-');
    const input = join(base, 'input');
    await generateStations({ stations: 60, days: 4, out: input, seed: 7 });
    const files = (await readdir(input)).length;

    const reference = join(base, 'reference');
    const ref = ecluseJson(reference, ['run', 'stations', '--input', input]);
    assert.equal(ref.status, 'succeeded');
    const expected = await snapshot(reference);
    assert.ok(expected.reports.length > 30_000, `expected a sizeable input, got ${expected.reports.length} reports`);

    const cases: Record<string, (home: string) => () => Promise<boolean>> = {
      // Half the files stored in the raw zone: the run is extracting.
      extract: (home) => async () => (await countFiles(join(home, 'lake', 'raw'))) >= Math.ceil(files / 2),
      // Staging partitions appear inside the load transaction, before its commit.
      load: (home) => async () => existsSync(join(home, 'lake', 'staging', 'reports')),
    };
    for (const [name, when] of Object.entries(cases)) {
      const home = join(base, name);
      const interrupted = await killDuring(home, input, when(home));
      if (name === 'extract') assert.ok(interrupted, 'the run finished before it could be killed during extract');
      const rerun = ecluseJson(home, ['run', 'stations', '--input', input]);
      assert.equal(rerun.status, 'succeeded', `${name}: ${String(rerun.error)}`);
      const runs = ecluseJson<{ items: { status: string; error: string | null }[] }>(home, ['runs']);
      if (interrupted) {
        assert.equal(runs.items[1]?.status, 'failed', `${name}: the killed run should be recorded as failed`);
        assert.match(runs.items[1]?.error ?? '', /stopped before it finished/);
      }
      assert.deepEqual(await snapshot(home), expected, `${name}: tables differ from the uninterrupted run`);
      const rebuilt = ecluseJson(home, ['rebuild', 'stations']);
      assert.equal(rebuilt.status, 'succeeded');
      assert.deepEqual(await snapshot(home), expected, `${name}: rebuild differs from the uninterrupted run`);
    }
  });
}
