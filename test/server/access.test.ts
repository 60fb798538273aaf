import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { executeRun } from '../../src/orchestrator/runner.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { stationsPipeline } from '../../src/pipelines/stations/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import type { Config } from '../../src/config/config.js';
import { dayResponse, response, synopRow } from '../fixtures/infoclimat.js';
import { openPlatform, tempHome, writeInputs } from '../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../helpers/setups.js';

const ADMIN = 'admin-secret-0123456789';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

for (const setup of SETUPS)
  describe(`access model on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    let platform: Platform;
    let app: FastifyInstance;
    let rawKey: string;
    let runId: number;
    const apps: FastifyInstance[] = [];
    /** A server over the same platform with other settings. */
    const appWith = async (config: Partial<Config>) => {
      const a = await buildApp({ platform: { ...platform, config: { ...platform.config, ...config } }, logger: false });
      apps.push(a);
      return a;
    };

    before(async () => {
      const home = await tempHome('ecluse-access-');
      platform = await openPlatform(home, { ...(await envOf(home)), ECLUSE_API_TOKEN: ADMIN });
      const input = await writeInputs(join(home, 'in'), {
        'a.json': dayResponse('2024-10-05'),
        'bad.json': response({ '07015': [synopRow('2024-10-06 00:00:00', 'n/a')] }),
      });
      const summary = await executeRun(platform, stationsPipeline, { inputs: [input], trigger: 'cli' });
      runId = summary.run_id;
      app = await buildApp({ platform, logger: false });
      const raw = await app.inject({ url: '/raw/files', headers: bearer(ADMIN) });
      rawKey = raw.json<{ items: { key: string }[] }>().items[0]!.key;
    });

    after(async () => {
      for (const a of [app, ...apps]) await a?.close();
      await platform?.warehouse.close();
    });

    test('raw files, rejects and run logs need a read token; aggregates stay public', async () => {
      // Before the access model, all three answered 200 to anyone (the raw zone served the server's own files).
      for (const url of ['/raw/files', `/raw/files/${rawKey}`, `/rejects?run=${runId}`, `/runs/${runId}/logs`]) {
        const r = await app.inject(url);
        assert.equal(r.statusCode, 401, url);
        assert.match(r.json().message, /scope read/, url);
        assert.equal((await app.inject({ url, headers: bearer(ADMIN) })).statusCode, 200, url);
      }
      for (const url of ['/health', '/stations', '/pipelines', '/runs', `/runs/${runId}`, '/metrics', '/dashboard/overview', '/curated/cities', '/docs/json']) {
        assert.equal((await app.inject(url)).statusCode, 200, url);
      }
    });

    test('scopes: read < write < admin; a token too weak is 403, an unknown one 401', async () => {
      const created: Record<string, string> = {};
      for (const scope of ['read', 'write'] as const) {
        const r = await app.inject({ method: 'POST', url: '/tokens', headers: bearer(ADMIN), payload: { name: `t-${scope}`, scope } });
        assert.equal(r.statusCode, 200, r.body);
        assert.match(r.json().token, /^ecl_[A-Za-z0-9_-]{43}$/);
        created[scope] = r.json().token;
      }
      const reader = bearer(created.read!);
      const writer = bearer(created.write!);
      assert.equal((await app.inject({ url: `/rejects?run=${runId}`, headers: reader })).statusCode, 200);
      const readSql = await app.inject({ method: 'POST', url: '/sql', headers: reader, payload: { sql: 'select 1 as x' } });
      assert.equal(readSql.statusCode, 200, readSql.body);
      // The token table is out of /sql's reach, whatever the scope.
      for (const headers of [reader, bearer(ADMIN)]) {
        const digests = await app.inject({ method: 'POST', url: '/sql', headers, payload: { sql: 'select sha256 from api_tokens' } });
        assert.equal(digests.statusCode, 400, digests.body);
      }
      const refused = await app.inject({ method: 'POST', url: '/runs', headers: reader, payload: { pipeline: 'stations', inputs: [] } });
      assert.equal(refused.statusCode, 403);
      assert.deepEqual(refused.json(), { error: 'forbidden', message: 'token "t-read" has scope read; this endpoint needs write' });
      // A write token passes the access check (the body is then what is wrong) but cannot manage tokens.
      assert.equal((await app.inject({ method: 'POST', url: '/runs', headers: writer, payload: { pipeline: 'nope' } })).statusCode, 404);
      assert.equal((await app.inject({ url: '/tokens', headers: writer })).statusCode, 403);
      assert.equal((await app.inject({ url: '/tokens', headers: bearer('ecl_' + 'x'.repeat(43)) })).statusCode, 401);
      const list = (await app.inject({ url: '/tokens', headers: bearer(ADMIN) })).json<{ items: { name: string; scope: string }[] }>();
      assert.deepEqual(
        list.items.map((t) => [t.name, t.scope]),
        [
          ['t-read', 'read'],
          ['t-write', 'write'],
        ],
      );
    });

    test('tokens are stored hashed: the secret is nowhere in the warehouse', async () => {
      const r = await app.inject({ method: 'POST', url: '/tokens', headers: bearer(ADMIN), payload: { name: 'hashed', scope: 'read' } });
      const { token } = r.json<{ token: string }>();
      const rows = await platform.warehouse.query(`SELECT * FROM api_tokens`);
      assert.ok(rows.length >= 1);
      assert.ok(!JSON.stringify(rows).includes(token));
      assert.ok(!JSON.stringify(rows).includes(token.slice(4, 20)));
      const again = await app.inject({ method: 'POST', url: '/tokens', headers: bearer(ADMIN), payload: { name: 'hashed', scope: 'admin' } });
      assert.equal(again.statusCode, 400);
      assert.match(again.json().message, /exists/);
      const badName = await app.inject({ method: 'POST', url: '/tokens', headers: bearer(ADMIN), payload: { name: 'a b', scope: 'read' } });
      assert.equal(badName.statusCode, 400);
    });

    test('a revoked token is refused at once', async () => {
      const { token } = (await app.inject({ method: 'POST', url: '/tokens', headers: bearer(ADMIN), payload: { name: 'short-lived', scope: 'read' } })).json<{
        token: string;
      }>();
      assert.equal((await app.inject({ url: '/raw/files', headers: bearer(token) })).statusCode, 200);
      const del = await app.inject({ method: 'DELETE', url: '/tokens/short-lived', headers: bearer(ADMIN) });
      assert.deepEqual(del.json(), { name: 'short-lived', revoked: true });
      assert.equal((await app.inject({ url: '/raw/files', headers: bearer(token) })).statusCode, 401);
      assert.equal((await app.inject({ method: 'DELETE', url: '/tokens/short-lived', headers: bearer(ADMIN) })).statusCode, 404);
    });

    test('closed reads: every read needs a token, a cached answer included; health and docs stay open', async () => {
      const closed = await appWith({ publicReads: false });
      const url = '/stations/07015/reports?date=2024-10-05';
      const first = await closed.inject({ url, headers: bearer(ADMIN) });
      assert.equal(first.statusCode, 200);
      assert.equal(first.headers['x-cache'], 'miss');
      // The answer is cached now: the cache must not serve it without a token.
      const anonymous = await closed.inject(url);
      assert.equal(anonymous.statusCode, 401);
      assert.equal((await closed.inject({ url, headers: bearer(ADMIN) })).headers['x-cache'], 'hit');
      for (const u of ['/stations', '/runs', '/metrics', '/curated/cities', '/dashboard/overview']) assert.equal((await closed.inject(u)).statusCode, 401, u);
      for (const u of ['/health', '/docs/json']) assert.equal((await closed.inject(u)).statusCode, 200, u);
    });

    test('failed authentications are rate-limited per address, the right token included once over the limit', async () => {
      const limited = await appWith({ rateLimits: { writes_per_minute: 300, failed_auth_per_minute: 3 } });
      for (let i = 0; i < 3; i++) assert.equal((await limited.inject({ url: '/raw/files', headers: bearer(`wrong-${i}`) })).statusCode, 401);
      const blocked = await limited.inject({ url: '/raw/files', headers: bearer(ADMIN) });
      assert.equal(blocked.statusCode, 429);
      assert.equal(blocked.json().error, 'too_many_requests');
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      // Public reads are not authentication attempts.
      assert.equal((await limited.inject('/stations')).statusCode, 200);
    });

    test('write endpoints are rate-limited per address', async () => {
      const limited = await appWith({ rateLimits: { writes_per_minute: 2, failed_auth_per_minute: 20 } });
      const post = () => limited.inject({ method: 'POST', url: '/runs', headers: bearer(ADMIN), payload: { pipeline: 'nope' } });
      assert.equal((await post()).statusCode, 404);
      assert.equal((await post()).statusCode, 404);
      const third = await post();
      assert.equal(third.statusCode, 429);
      // Reads are not counted.
      assert.equal((await limited.inject({ url: '/raw/files', headers: bearer(ADMIN) })).statusCode, 200);
    });

    test('CORS is off unless origins are configured', async () => {
      const origin = 'https://dash.example.org';
      const off = await app.inject({ url: '/stations', headers: { origin } });
      assert.equal(off.headers['access-control-allow-origin'], undefined);
      const on = await appWith({ corsOrigins: [origin] });
      assert.equal((await on.inject({ url: '/stations', headers: { origin } })).headers['access-control-allow-origin'], origin);
      assert.equal((await on.inject({ url: '/stations', headers: { origin: 'https://evil.example' } })).headers['access-control-allow-origin'], undefined);
    });

    test('a route without an access level cannot be added', async () => {
      const a = await appWith({});
      assert.throws(() => a.get('/unclassified', async () => 'x'), /no access level/);
    });
  });
