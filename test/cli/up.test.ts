import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { openWarehouse } from '../../src/warehouse/open.js';
import { PIPELINES } from '../../src/pipelines/index.js';
import { dayResponse, response, synopRow } from '../fixtures/infoclimat.js';
import { tempHome, writeInputs } from '../helpers/platform.js';
import { ecluse, startServer } from '../helpers/cli.js';

const SQL = 'select station_id, count(*) as n, max(observed_at) as last from reports group by 1 order by 1';

async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A configuration with every schedule disabled: these tests count runs, and the schedules' catch-up
 * (tested in orchestration.test.ts) would add some.
 */
async function unscheduled(home: string): Promise<Record<string, string>> {
  const path = join(home, 'unscheduled.config.json');
  const schedules = Object.fromEntries([...PIPELINES.values()].map((p) => [p.name, { ...p.schedule, enabled: false }]));
  await writeFile(path, JSON.stringify({ schedules }));
  return { ECLUSE_CONFIG: path };
}

/** The outputs a user sees from the inspect commands, human and JSON. */
function inspect(home: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const args of [['runs', '--json'], ['runs'], ['rejects', '--json'], ['rejects'], ['sql', SQL, '--json'], ['sql', SQL]]) {
    const r = ecluse(home, args);
    assert.equal(r.status, 0, `ecluse ${args.join(' ')}: ${r.stderr}`);
    out[args.join(' ')] = r.stdout;
  }
  return out;
}

test('while `ecluse up` holds the warehouse, commands go through its API with the same output', async () => {
  const home = await tempHome('ecluse-up-');
  // The user's files live outside the ecluse home (never an input of a run through the server).
  const work = await tempHome('ecluse-up-work-');
  const input = await writeInputs(join(work, 'in'), {
    'a.json': dayResponse('2024-10-05'),
    'b.json': response({ '07015': [synopRow('2024-10-06 00:00:00', 'n/a')] }),
  });
  assert.equal(ecluse(home, ['run', 'stations', '--input', input, '--json']).status, 0);
  const inProcess = inspect(home);

  const server = await startServer(home, 'up', await unscheduled(home));
  try {
    const info = JSON.parse(await readFile(join(home, 'server.json'), 'utf8')) as { pid: number; url: string; token: string };
    assert.equal(info.url, server.url);
    assert.equal(info.pid, server.child.pid);
    assert.equal((await stat(join(home, 'server.json'))).mode & 0o777, 0o600);

    // The server holds the DuckDB file: these could only succeed through the API.
    assert.deepEqual(inspect(home), inProcess);
    // The test's loop was blocked by the synchronous spawns: let the server's output arrive.
    await until(() => /"method":"POST","url":"\/sql","status":200/.test(server.output()));

    // A relative --input is resolved here, not in the server's directory; no input root is configured:
    // the CLI's own token may name the user's files anywhere outside the home.
    await writeInputs(join(work, 'more'), { 'c.json': dayResponse('2024-10-07') });
    const run = ecluse(home, ['run', 'stations', '--input', 'more', '--json'], {}, work);
    assert.equal(run.status, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(summary.rows_written, 6);
    assert.equal(summary.status, 'succeeded');
    const trigger = JSON.parse(ecluse(home, ['sql', `select trigger from runs where run_id = ${Number(summary.run_id)}`, '--json']).stdout) as unknown;
    assert.deepEqual(trigger, [{ trigger: 'api' }]);

    const human = ecluse(home, ['run', 'stations', '--input', input]);
    assert.equal(human.status, 0);
    assert.match(human.stdout, /2 already seen/);

    // The home's own files (the server's token among them) are refused, and nothing is run.
    const own = ecluse(home, ['run', 'stations', '--input', join(home, 'server.json')]);
    assert.equal(own.status, 2, own.stderr);
    assert.match(own.stderr, /^ecluse: input ".*server\.json" is one of ecluse’s own files/);

    const rebuilt = ecluse(home, ['rebuild', 'stations', '--json']);
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.equal((JSON.parse(rebuilt.stdout) as { rows_written: number }).rows_written, 13);

    const badSql = ecluse(home, ['sql', 'selec 1']);
    assert.equal(badSql.status, 1);
    assert.match(badSql.stderr, /^ecluse: .*syntax/i);

    // Over real HTTP: reads are open, writes need a token.
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const day = (await (await fetch(`${server.url}/stations/07015/reports?date=2024-10-07`)).json()) as { total: number };
    assert.equal(day.total, 3);
    assert.equal(
      (await fetch(`${server.url}/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql":"select 1"}' })).status,
      401,
    );
    const withToken = await fetch(`${server.url}/sql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${info.token}` },
      body: '{"sql":"select 1 as x"}',
    });
    assert.deepEqual(((await withToken.json()) as { rows: unknown[] }).rows, [{ x: 1 }]);
    assert.doesNotMatch(server.output(), new RegExp(info.token), 'the token is never logged');
  } finally {
    assert.equal(await server.stop(), 0);
  }
  assert.equal(existsSync(join(home, 'server.json')), false, 'server.json is removed on shutdown');
  // Back in process: the warehouse was closed cleanly.
  const runs = ecluse(home, ['runs', '--json']);
  assert.equal(runs.status, 0, runs.stderr);
  assert.equal((JSON.parse(runs.stdout) as { total: number }).total, 4);
});

test('a stale server.json is ignored; a registered server that does not answer gives exit 2 saying so', async () => {
  const home = await tempHome('ecluse-up-');
  const config = loadConfig({ ECLUSE_HOME: home }, home);
  const stale = { pid: 2 ** 22 + 12345, url: 'http://127.0.0.1:9', port: 9, started_at: new Date().toISOString(), warehouse: config.warehouse, token: 'x' };
  await writeFile(join(home, 'server.json'), JSON.stringify(stale));
  const r = ecluse(home, ['runs', '--json']);
  assert.equal(r.status, 0, r.stderr);

  // This process holds the warehouse and claims to be a server, but nothing listens at the URL.
  await writeFile(join(home, 'server.json'), JSON.stringify({ ...stale, pid: process.pid }));
  const holder = await openWarehouse(config, { command: 'test-holder' });
  try {
    const busy = ecluse(home, ['sql', 'select 1']);
    assert.equal(busy.status, 2);
    assert.match(busy.stderr, /in use by process/);
    assert.match(busy.stderr, /registered at http:\/\/127\.0\.0\.1:9 but did not answer/);
  } finally {
    await holder.close();
  }
});

test('a second server for the same home is refused', async () => {
  const home = await tempHome('ecluse-up-');
  const server = await startServer(home, 'up', await unscheduled(home));
  try {
    const second = ecluse(home, ['up'], { PORT: '0' });
    assert.equal(second.status, 2);
    assert.match(second.stderr, /already runs for/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('npm start on an empty home: samples, a run per pipeline, then the API; on a second start only serves', async () => {
  const home = await tempHome('ecluse-start-');
  const t0 = Date.now();
  const first = await startServer(home, 'start', await unscheduled(home));
  let health: Response;
  try {
    health = await fetch(`${first.url}/health`);
    const elapsed = Date.now() - t0;
    assert.equal(health.status, 200);
    assert.ok(elapsed < 60_000, `/health answered after ${elapsed} ms`);
    assert.match(first.output(), /empty home .* generating a sample/);
    assert.match(first.output(), /run 1 stations \[adhoc-1\]: succeeded/);
    assert.match(first.output(), /run 2 synop \[adhoc-2\]: succeeded/);
    const stations = (await (await fetch(`${first.url}/stations`)).json()) as { total: number };
    assert.ok(stations.total >= 6);
    // The dashboard's cities page has a month of daily statistics for each sample city.
    const cities = (await (await fetch(`${first.url}/curated/cities`)).json()) as { total: number; items: { days: number }[] };
    assert.equal(cities.total, 6);
    assert.ok(
      cities.items.every((c) => c.days >= 29),
      JSON.stringify(cities.items),
    );
  } finally {
    assert.equal(await first.stop(), 0);
  }
  const second = await startServer(home, 'start', await unscheduled(home));
  try {
    assert.match(second.output(), /already holds data; serving it/);
    assert.doesNotMatch(second.output(), /generating a sample/);
  } finally {
    assert.equal(await second.stop(), 0);
  }
});
