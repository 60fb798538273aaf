import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempHome } from '../helpers/platform.js';
import { ecluseJson, startServer } from '../helpers/cli.js';

interface Run {
  pipeline: string;
  trigger: string;
  status: string;
  attempt: number;
  error: string | null;
}

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A loopback "portal" that answers every request 503 and records when each came. */
async function failingPortal(): Promise<{ url: string; hits: number[]; close: () => Promise<void> }> {
  const hits: number[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    hits.push(Date.now());
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"error_code":"ServiceUnavailable","message":"down"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

test('an offline start reaches no portal on its own: the synop catch-up is skipped with the reason, no run recorded', async () => {
  const home = await tempHome('ecluse-offline-');
  // The defaults a new user has: no configuration file, no ECLUSE_ODS_URL (the portal's default is public).
  const server = await startServer(home, 'up', { ECLUSE_ODS_URL: '', ECLUSE_CONFIG: '' });
  try {
    await until(() => /catch-up of synop \[\d{4}-\d{2}-\d{2}\] skipped: no OpenDataSoft portal configured/.test(server.output()), 'synop catch-up skipped');
    assert.doesNotMatch(server.output(), /catching up synop/);
    const runs = ecluseJson<{ items: Run[] }>(home, ['runs']).items;
    assert.deepEqual(
      runs.filter((r) => r.pipeline === 'synop'),
      [],
    );
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('a stop while a scheduled run retries against a failing portal ends it at once: no request after the stop', async () => {
  const home = await tempHome('ecluse-offline-');
  const portal = await failingPortal();
  const config = join(home, 'ecluse.config.json');
  // Long backoffs: before the fix, the stop waited for every attempt (and the client's own retries).
  await writeFile(config, JSON.stringify({ retries: { max_attempts: 3, backoff_ms: 10_000 }, schedules: { stations: { enabled: false } } }));
  const server = await startServer(home, 'up', { ECLUSE_ODS_URL: portal.url, ECLUSE_CONFIG: config });
  try {
    // The catch-up is retrying: the client's first attempt failed, it waits before its next.
    await until(() => portal.hits.length >= 1, 'a request at the portal');
    await sleep(300);
    const t0 = Date.now();
    const code = await server.stop();
    const stopMs = Date.now() - t0;
    console.log(`# SIGTERM during retries: exited ${code} after ${stopMs} ms (${portal.hits.length} request(s) at the portal before it)`);
    assert.equal(code, 0, server.output());
    assert.ok(stopMs < 2000, `stopped in ${stopMs} ms:\n${server.output()}`);
    assert.deepEqual(
      portal.hits.filter((t) => t > t0 + 100),
      [],
      'no request after the stop',
    );
    assert.match(server.output(), /SIGTERM: stopping/);
    const runs = ecluseJson<{ items: Run[] }>(home, ['runs']).items.filter((r) => r.pipeline === 'synop');
    assert.equal(runs.length, 1, JSON.stringify(runs));
    assert.equal(runs[0]?.trigger, 'catch-up');
    assert.equal(runs[0]?.status, 'failed');
    assert.match(runs[0]?.error ?? '', /stopped before it finished \(stop requested: SIGTERM\)/);
  } finally {
    await server.stop();
    await portal.close();
  }
});
