import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { listRawFiles } from '../../src/lake/raw.js';
import { Orchestrator } from '../../src/orchestrator/orchestrator.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { PIPELINES } from '../../src/pipelines/index.js';
import { buildApp } from '../../src/server/app.js';
import { dayResponse } from '../fixtures/infoclimat.js';
import { openPlatform, tempHome, writeInputs } from '../helpers/platform.js';

/** The server's own token (server.json), as `ecluse up` passes it. */
const LOCAL = 'local-token-0123456789';
/** Any other token: ECLUSE_API_TOKEN. */
const REMOTE = 'remote-token-0123456789';
const local = { authorization: `Bearer ${LOCAL}` };
const remote = { authorization: `Bearer ${REMOTE}` };

describe('POST /runs: inputs under the input roots, strict bodies', () => {
  let home: string;
  let root: string;
  let elsewhere: string;
  let platform: Platform;
  let orchestrator: Orchestrator;
  let app: FastifyInstance;

  const runCount = async () => (await platform.warehouse.listRuns({ limit: 1 })).total;
  const rawCount = async () => (await listRawFiles(platform.lake, 'stations')).length;
  /** What a refused request must leave: no run recorded, nothing in the raw zone. */
  async function nothingRun(fn: () => Promise<void>): Promise<void> {
    const [runs, raws] = [await runCount(), await rawCount()];
    await fn();
    assert.equal(await runCount(), runs, 'no run recorded');
    assert.equal(await rawCount(), raws, 'nothing stored in the raw zone');
  }

  before(async () => {
    home = await tempHome('ecluse-runs-');
    root = await tempHome('ecluse-runs-root-');
    elsewhere = await tempHome('ecluse-runs-elsewhere-');
    platform = await openPlatform(home, { ECLUSE_API_TOKEN: REMOTE, ECLUSE_INPUT_ROOTS: root });
    // What `ecluse up` writes: the server's own token, which must never reach the raw zone.
    await writeFile(join(home, 'server.json'), JSON.stringify({ token: LOCAL }), { mode: 0o600 });
    orchestrator = new Orchestrator(platform, PIPELINES);
    app = await buildApp({ platform, logger: false, localToken: LOCAL, orchestrator });
  });

  after(async () => {
    await app?.close();
    await platform?.warehouse.close();
  });

  test('the reported attack: /etc/passwd and the home’s server.json are refused before a byte is read', async () => {
    await nothingRun(async () => {
      const r = await app.inject({
        method: 'POST',
        url: '/runs',
        headers: remote,
        payload: { pipeline: 'stations', inputs: ['/etc/passwd', join(home, 'server.json')] },
      });
      assert.equal(r.statusCode, 403, r.body);
      assert.equal(r.json().error, 'forbidden');
      assert.match(r.json().message, new RegExp(`^input "/etc/passwd" is outside the input roots; the input roots of this server are ${root}`));
      const own = await app.inject({ method: 'POST', url: '/runs', headers: remote, payload: { pipeline: 'stations', inputs: [join(home, 'server.json')] } });
      assert.equal(own.statusCode, 403, own.body);
      assert.match(own.json().message, /server\.json" is one of ecluse’s own files/);
    });
  });

  test('a file under a root is run; a folder under a root holding a link to outside is refused whole', async () => {
    const dir = await writeInputs(join(root, 'day1'), { 'a.json': dayResponse('2024-10-05') });
    const ok = await app.inject({ method: 'POST', url: '/runs', headers: remote, payload: { pipeline: 'stations', inputs: [dir] } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().status, 'succeeded');
    assert.ok(ok.json().rows_written > 0);

    const trap = await writeInputs(join(root, 'day2'), { 'b.json': dayResponse('2024-10-06') });
    await symlink(join(home, 'server.json'), join(trap, 'c.json'));
    await mkdir(join(elsewhere, 'secret'));
    await writeFile(join(elsewhere, 'secret', 'd.json'), '{}');
    await nothingRun(async () => {
      const r = await app.inject({ method: 'POST', url: '/runs', headers: remote, payload: { pipeline: 'stations', inputs: [trap] } });
      assert.equal(r.statusCode, 403, r.body);
      assert.match(r.json().message, new RegExp(`holds ${join(trap, 'c.json')}, which resolves to ${join(home, 'server.json')}`));
      await symlink(join(elsewhere, 'secret'), join(root, 'linked'));
      const linked = await app.inject({
        method: 'POST',
        url: '/runs',
        headers: remote,
        payload: { pipeline: 'stations', inputs: [join(root, 'linked', 'd.json')] },
      });
      assert.equal(linked.statusCode, 403, linked.body);
      assert.match(linked.json().message, /is outside the input roots/);
    });
  });

  test('inputs are checked again when the run leaves the queue: a file turned into a link meanwhile is refused', async () => {
    const dir = await writeInputs(join(root, 'swap'), { 'a.json': dayResponse('2024-10-08') });
    let release = () => {};
    const ahead = orchestrator.queue.add(() => new Promise<void>((r) => (release = r)));
    await nothingRun(async () => {
      const call = app.inject({ method: 'POST', url: '/runs', headers: remote, payload: { pipeline: 'stations', inputs: [dir] } });
      while (orchestrator.queue.length < 2) await new Promise((r) => setTimeout(r, 10));
      await rm(join(dir, 'a.json'));
      await symlink(join(home, 'server.json'), join(dir, 'a.json'));
      release();
      await ahead;
      const r = await call;
      assert.equal(r.statusCode, 403, r.body);
      assert.match(r.json().message, /which resolves to .*server\.json and is one of ecluse’s own files/);
    });
  });

  test('the server’s own local token may name files anywhere but in the ecluse home', async () => {
    const dir = await writeInputs(join(elsewhere, 'mine'), { 'a.json': dayResponse('2024-10-07') });
    const ok = await app.inject({ method: 'POST', url: '/runs', headers: local, payload: { pipeline: 'stations', inputs: [join(dir, 'a.json')] } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().status, 'succeeded');
    // The same file through another token: outside the roots.
    const other = await app.inject({ method: 'POST', url: '/runs', headers: remote, payload: { pipeline: 'stations', inputs: [join(dir, 'a.json')] } });
    assert.equal(other.statusCode, 403, other.body);
    await nothingRun(async () => {
      const own = await app.inject({ method: 'POST', url: '/runs', headers: local, payload: { pipeline: 'stations', inputs: [home] } });
      assert.equal(own.statusCode, 403, own.body);
      assert.match(own.json().message, /one of ecluse’s own files; the server's own CLI may name any file but ecluse's/);
    });
  });

  test('an unknown body key is a 400 naming it, on every POST route with a JSON body', async () => {
    await nothingRun(async () => {
      const typo = await app.inject({ method: 'POST', url: '/runs', headers: remote, payload: { pipeline: 'stations', input: [root] } });
      assert.equal(typo.statusCode, 400, typo.body);
      assert.equal(typo.json().error, 'bad_request');
      assert.equal(typo.json().message, 'body has an unknown key "input" (known keys: pipeline, inputs)');
      const partition = await app.inject({ method: 'POST', url: '/pipelines/stations/runs', headers: remote, payload: { partiton: '2024-10-05' } });
      assert.equal(partition.statusCode, 400, partition.body);
      assert.match(partition.json().message, /^body has an unknown key "partiton" \(known keys: partition, dataset, from, to, force, parallel\)$/);
      const rebuild = await app.inject({ method: 'POST', url: '/pipelines/stations/rebuild', headers: remote, payload: { force: true } });
      assert.equal(rebuild.statusCode, 400, rebuild.body);
      assert.equal(rebuild.json().message, 'body has an unknown key "force" (no key is accepted)');
      const cancel = await app.inject({ method: 'POST', url: '/runs/999999/cancel', headers: remote, payload: { now: true } });
      assert.equal(cancel.statusCode, 400, cancel.body);
      assert.match(cancel.json().message, /unknown key "now"/);
    });
    // Without a body, or an empty one (what the CLI sends), the routes without parameters still answer.
    for (const payload of [undefined, {}]) {
      const cancel = await app.inject({ method: 'POST', url: '/runs/999999/cancel', headers: remote, ...(payload ? { payload } : {}) });
      assert.equal(cancel.statusCode, 404, cancel.body);
      assert.match(cancel.json().message, /no run 999999/);
    }
    const rebuilt = await app.inject({ method: 'POST', url: '/pipelines/stations/rebuild', headers: remote });
    assert.equal(rebuilt.statusCode, 200, rebuilt.body);
    assert.equal(rebuilt.json().status, 'succeeded');
  });
});
