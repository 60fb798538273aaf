import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempHome } from '../helpers/platform.js';
import { ecluse, spawnEcluse } from '../helpers/cli.js';

const scratchIn = async (home: string) => (await readdir(home)).filter((n) => /^ecluse-/.test(n));

test('a killed run leaves its scratch folder in the home; the next command removes it, saying so', async () => {
  const home = await tempHome('ecluse-scratch-');
  // A portal that never answers: the run sits in its fetch, scratch folder created, when it is killed.
  const held: ServerResponse[] = [];
  const portal = createServer((_req, res) => held.push(res));
  await new Promise<void>((r) => portal.listen(0, '127.0.0.1', r));
  const env = { ECLUSE_ODS_URL: `http://127.0.0.1:${(portal.address() as AddressInfo).port}` };
  try {
    const run = spawnEcluse(home, ['run', 'synop'], env);
    const exited = new Promise((r) => run.once('exit', r));
    const end = Date.now() + 30_000;
    while (held.length === 0) {
      assert.ok(Date.now() < end, 'the run never reached the portal');
      await sleep(50);
    }
    run.kill('SIGKILL');
    await exited;
    const left = await scratchIn(home);
    assert.equal(left.length, 1, `the killed run's scratch folder: ${left.join(', ')}`);

    const runs = ecluse(home, ['runs', '--json']);
    assert.equal(runs.status, 0, runs.stderr);
    assert.match(runs.stderr, /removed 1 scratch folder\(s\) left in .* by runs that were killed/);
    assert.deepEqual(await scratchIn(home), []);
    JSON.parse(runs.stdout); // stdout stays the JSON answer alone
  } finally {
    for (const res of held) res.destroy();
    portal.closeAllConnections();
    await new Promise((r) => portal.close(r));
  }
});
