import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempHome } from '../helpers/platform.js';
import { ecluse, spawnEcluse, startServer } from '../helpers/cli.js';

test('a server killed mid-run: the CLI says it lost the server, during which run, and where to look; exit 2', async () => {
  const home = await tempHome('ecluse-client-');
  // A portal that answers the first page of records, then holds the next: the CLI has shown progress (the
  // answer has begun) and the run is in its fetch when the server dies.
  const held: ServerResponse[] = [];
  let pages = 0;
  const portal = createServer((_req, res) => {
    if (pages++ > 0) return void held.push(res);
    const results = Array.from({ length: 100 }, (_, i) => ({ numer_sta: '07015', date: `2024-10-02T${String(i % 24).padStart(2, '0')}:00:00+00:00` }));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ total_count: 250, results }));
  });
  await new Promise<void>((r) => portal.listen(0, '127.0.0.1', r));
  const portalUrl = `http://127.0.0.1:${(portal.address() as AddressInfo).port}`;
  const config = join(home, 'ecluse.config.json');
  await writeFile(config, JSON.stringify({ schedules: { stations: { enabled: false }, synop: { enabled: false } } }));
  const server = await startServer(home, 'up', { ECLUSE_ODS_URL: portalUrl, ECLUSE_CONFIG: config });
  try {
    const cli = spawnEcluse(home, ['trigger', 'synop', '--partition', '2024-10-02'], { ECLUSE_CONFIG: config });
    let stderr = '';
    cli.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => cli.once('exit', (code) => r(code)));
    const end = Date.now() + 30_000;
    while (held.length === 0) {
      assert.ok(Date.now() < end, `the run never reached the portal: ${stderr}\n${server.output()}`);
      await sleep(50);
    }
    server.child.kill('SIGKILL');
    assert.equal(await exited, 2, stderr);
    assert.doesNotMatch(stderr, /^ecluse: aborted$/m);
    assert.match(stderr, /lost the ecluse server at http:\/\/127\.0\.0\.1:\d+ \(pid \d+\) during the run of synop \[2024-10-02\]: connection lost/);
    assert.match(stderr, /see `ecluse runs -p synop`/);
  } finally {
    await server.stop();
    for (const res of held) res.destroy();
    portal.closeAllConnections();
    await new Promise((r) => portal.close(r));
  }
});

test('ECLUSE_LANDING given to a command that runs through the server: the failure says the server uses its own environment', async () => {
  const home = await tempHome('ecluse-client-');
  const config = join(home, 'ecluse.config.json');
  await writeFile(config, JSON.stringify({ schedules: { stations: { enabled: false }, synop: { enabled: false } } }));
  const landing = join(home, 'landing');
  await mkdir(landing);
  // Started without a landing (nor an InfoClimat token): its stations runs have nothing to read.
  const server = await startServer(home, 'up', { ECLUSE_CONFIG: config, ECLUSE_LANDING: '', ECLUSE_INFOCLIMAT_TOKEN: '' });
  try {
    const r = ecluse(home, ['trigger', 'stations', '--partition', '2024-10-02'], { ECLUSE_CONFIG: config, ECLUSE_LANDING: landing });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /nothing to read: set ECLUSE_LANDING/);
    assert.match(
      r.stderr,
      new RegExp(
        `note: the run went through the ecluse server \\(pid ${server.child.pid}, http://127\\.0\\.0\\.1:\\d+\\), which uses the environment and configuration it was started with: ECLUSE_LANDING set for this command is not passed to it`,
      ),
    );
    // Without the variable here, no note: the message alone is right.
    const plain = ecluse(home, ['trigger', 'stations', '--partition', '2024-10-03'], { ECLUSE_CONFIG: config, ECLUSE_LANDING: '' });
    assert.equal(plain.status, 1);
    assert.doesNotMatch(plain.stderr, /note:/);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
