import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer } from '../helpers/cli.js';
import { tempHome } from '../helpers/platform.js';
import { dropSchemas, PG_BASE, schemaFor, skipUnless } from '../helpers/warehouses.js';

/**
 * Secrets never reach logs: a server runs with every secret it knows set (API token, InfoClimat token,
 * passwords in the warehouse and MySQL URLs, a token created through the API), does work that fails on
 * each of them, and nothing it printed or stored (server log, run logs, run errors, health) holds one.
 */

const SECRETS = {
  api: 'api-secret-Zq81xK3vP0',
  infoclimat: 'ic-secret-Lm29Tq7wR4',
  pgPassword: 'pg-secret-Hb54Ns1yE6',
  mysqlPassword: 'my-secret-Vc63Jd8uA2',
};

async function listen(handler: (req: IncomingMessage) => void): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    handler(req);
    // An error page that quotes the request, as some portals do: our messages must not pass it on verbatim.
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`internal error for ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

describe('secrets in logs', { skip: await skipUnless('postgres') }, () => {
  const homes: string[] = [];
  after(() => dropSchemas(homes));

  test('a full run with every secret set prints and stores none of them', { timeout: 120_000 }, async () => {
    const home = await tempHome('ecluse-secrets-');
    homes.push(home);
    const seen: string[] = [];
    const infoclimat = await listen((req) => seen.push(req.url ?? ''));
    const config = join(home, 'ecluse.config.json');
    await writeFile(config, JSON.stringify({ retries: { max_attempts: 1, backoff_ms: 0 } }));
    const pg = new URL(PG_BASE);
    pg.password = SECRETS.pgPassword; // trust auth on the test server accepts any password
    pg.searchParams.set('schema', schemaFor(home));
    const server = await startServer(home, 'up', {
      ECLUSE_CONFIG: config,
      ECLUSE_WAREHOUSE: pg.toString(),
      ECLUSE_API_TOKEN: SECRETS.api,
      ECLUSE_INFOCLIMAT_TOKEN: SECRETS.infoclimat,
      ECLUSE_INFOCLIMAT_URL: infoclimat.url,
      // Nothing listens on port 1: every use of it fails, with the URL at hand.
      ECLUSE_SYNOP_MYSQL: `mysql://ecluse:${SECRETS.mysqlPassword}@127.0.0.1:1/ecluse`,
      // Runs here, not queued for workers; the SYNOP portal is the same failing stand-in.
      ECLUSE_EXECUTION: 'local',
      ECLUSE_ODS_URL: infoclimat.url,
      LOG_LEVEL: 'debug',
    });
    const texts: string[] = [];
    const call = async (path: string, init: RequestInit = {}, token = SECRETS.api) => {
      const res = await fetch(new URL(path, server.url), {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
      });
      const text = await res.text();
      texts.push(text);
      return { status: res.status, text };
    };
    try {
      const health = await call('/health');
      assert.equal(health.status, 503, 'the MySQL staging check fails');
      const run = await call('/pipelines/stations/runs', { method: 'POST', body: JSON.stringify({ partition: '2024-10-05' }) });
      assert.equal(JSON.parse(run.text).status, 'failed', run.text);
      assert.ok(
        seen.some((u) => u.includes(SECRETS.infoclimat)),
        'the InfoClimat stand-in received the token',
      );
      const form = new FormData();
      form.append('file', new Blob(['{"numer_sta":"07015","date":"2024-10-05T00:00:00+00:00","t":283.15}\n']), 'one.jsonl');
      const ingest = await fetch(new URL('/ingest', server.url), { method: 'POST', body: form, headers: { authorization: `Bearer ${SECRETS.api}` } });
      texts.push(await ingest.text());
      const created = JSON.parse((await call('/tokens', { method: 'POST', body: JSON.stringify({ name: 'dash', scope: 'read' }) })).text) as { token: string };
      // The answer to its creation is the one place a new token's secret appears.
      texts.pop();
      assert.equal((await call('/raw/files', {}, created.token)).status, 200);
      assert.equal((await call('/raw/files', {}, `${created.token}x`)).status, 401);
      const runs = JSON.parse((await call('/runs')).text) as { items: { run_id: number; error: string | null }[] };
      assert.ok(runs.items.length >= 2);
      for (const r of runs.items) await call(`/runs/${r.run_id}/logs?limit=10000`);
      await call('/rejects?limit=10000');
    } finally {
      await server.stop();
      infoclimat.server.close();
    }
    const everything = [server.output(), ...texts].join('\n');
    assert.match(server.output(), /"level":20/, 'debug lines were printed');
    for (const [name, secret] of Object.entries({ ...SECRETS, created: 'ecl_' })) {
      const where = everything.indexOf(secret);
      assert.equal(where, -1, `${name} leaked: …${everything.slice(Math.max(0, where - 200), where + 60)}…`);
    }
  });
});
