import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PIPELINES } from '../../src/pipelines/index.js';
import { tempHome } from '../helpers/platform.js';
import { ecluse, startServer } from '../helpers/cli.js';

/** Every schedule off: a server's catch-up runs are not what these tests look at. */
async function unscheduled(home: string): Promise<Record<string, string>> {
  const path = join(home, 'unscheduled.config.json');
  const schedules = Object.fromEntries([...PIPELINES.values()].map((p) => [p.name, { ...p.schedule, enabled: false }]));
  await writeFile(path, JSON.stringify({ schedules }));
  return { ECLUSE_CONFIG: path };
}

/** The same checks in process and through a server: `ecluse sql` obeys the read endpoint's rules both ways. */
function checkSqlCommand(home: string, env: Record<string, string>, where: string): void {
  const cut = ecluse(home, ['sql', 'select * from range(20) as r(n)', '--json'], env);
  assert.equal(cut.status, 0, `${where}: ${cut.stderr}`);
  assert.deepEqual(
    JSON.parse(cut.stdout),
    [0, 1, 2, 3, 4].map((n) => ({ n })),
    where,
  );
  assert.match(cut.stderr, /the answer is cut at 5 rows \(limits: 5 rows/, where);

  const whole = ecluse(home, ['sql', 'select * from range(3) as r(n)', '--json'], env);
  assert.deepEqual(JSON.parse(whole.stdout), [{ n: 0 }, { n: 1 }, { n: 2 }], where);
  assert.equal(whole.stderr, '', where);

  const table = ecluse(home, ['sql', 'select 1 as a, 2 as b'], env);
  assert.match(table.stdout, /^a\s+b\n-\s+-\n1\s+2$/m, where);

  const drop = ecluse(home, ['sql', 'drop table runs'], env);
  assert.equal(drop.status, 1, where);
  assert.match(drop.stderr, /^ecluse: only one SELECT statement is allowed/, where);
  const passwd = ecluse(home, ['sql', "select * from read_text('/etc/passwd')"], env);
  assert.equal(passwd.status, 1, where);
  assert.doesNotMatch(passwd.stdout, /root:/, where);

  // The admin path writes, and gives back every row, limits or not.
  const written = ecluse(home, ['sql', '--write', `insert into notes select * from range(10)`, '--json'], env);
  assert.equal(written.status, 0, `${where}: ${written.stderr}`);
  const notes = ecluse(home, ['sql', '--write', 'select count(*) as n from notes', '--json'], env);
  assert.equal(notes.status, 0, `${where}: ${notes.stderr}`);
  const all = ecluse(home, ['sql', '--write', 'select * from notes', '--json'], env);
  assert.equal((JSON.parse(all.stdout) as unknown[]).length, (JSON.parse(notes.stdout) as { n: number }[])[0]?.n, where);
  assert.equal(all.stderr, '', where);
}

test('ecluse sql reads within limits and refuses writes; --write is the admin path, in process and through the server', async () => {
  const home = await tempHome('ecluse-sqlcli-');
  const env = { ...(await unscheduled(home)), ECLUSE_SQL_MAX_ROWS: '5' };
  const created = ecluse(home, ['sql', '--write', 'create table notes (n BIGINT)'], env);
  assert.equal(created.status, 0, created.stderr);

  checkSqlCommand(home, env, 'in process');

  // The server's limits are the ones that apply: it runs the statement.
  const server = await startServer(home, 'up', env);
  try {
    checkSqlCommand(home, { ECLUSE_SQL_MAX_ROWS: '1000' }, 'through the server');
  } finally {
    assert.equal(await server.stop(), 0);
  }
  const count = ecluse(home, ['sql', 'select count(*) as n from notes', '--json'], env);
  assert.deepEqual(JSON.parse(count.stdout), [{ n: 20 }]);
});
