import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempHome } from '../helpers/platform.js';
import { spawnEcluse, startServer } from '../helpers/cli.js';

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
