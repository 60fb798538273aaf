import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { writeSynop } from '../../src/connectors/generators/synop.js';
import { executeRun } from '../../src/orchestrator/runner.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { synopPipeline } from '../../src/pipelines/synop/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { openPlatform, tempHome, writeInputs } from '../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../helpers/setups.js';

const TOKEN = 'raw-reader';
const auth = { authorization: `Bearer ${TOKEN}` };

/** A GET whose path is sent byte for byte, dot segments included. */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(base), { method: 'GET', path, headers: auth }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

interface RawItem {
  key: string;
  pipeline: string;
  source: string;
  name: string;
  size: number;
  sha256: string;
  received_at: string;
}
interface List<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

for (const setup of SETUPS) {
  describe(`raw zone API on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    let home: string;
    let platform: Platform;
    let app: FastifyInstance;
    const inputs: Record<string, string> = {};

    before(async () => {
      home = await tempHome('ecluse-raw-api-');
      platform = await openPlatform(home, await envOf(home));
      const first = await writeInputs(join(home, 'in1'), {});
      inputs['Relevés janvier.jsonl'] = join(first, 'Relevés janvier.jsonl');
      await writeSynop(inputs['Relevés janvier.jsonl'], 'jsonl', { stations: 2, from: '2024-01-01', to: '2024-01-02' });
      const second = await writeInputs(join(home, 'in2'), {});
      inputs['labels.csv'] = join(second, 'labels.csv');
      await writeSynop(inputs['labels.csv'], 'csv-labels', { stations: 2, from: '2024-01-03', to: '2024-01-03' });
      for (const dir of [first, second]) {
        const s = await executeRun(platform, synopPipeline, { inputs: [dir], trigger: 'cli' });
        assert.equal(s.status, 'succeeded', s.error ?? '');
      }
      app = await buildApp({ platform, logger: false, localToken: TOKEN });
    });

    after(async () => {
      await app?.close();
      await platform?.warehouse.close();
    });

    test('GET /raw/files lists the raw zone newest first, with names, sizes, hashes and arrival times', async () => {
      const r = await app.inject({ url: '/raw/files', headers: auth });
      assert.equal(r.statusCode, 200, r.body);
      const list = r.json<List<RawItem>>();
      assert.deepEqual([list.total, list.limit, list.offset], [2, 1000, 0]);
      assert.deepEqual(
        list.items.map((i) => i.name),
        ['labels.csv', 'Relevés janvier.jsonl'],
      );
      for (const item of list.items) {
        const path = inputs[item.name] as string;
        const bytes = await readFile(path);
        assert.equal(item.size, (await stat(path)).size);
        assert.equal(item.sha256, createHash('sha256').update(bytes).digest('hex'));
        assert.deepEqual([item.pipeline, item.source], ['synop', 'opendatasoft']);
        assert.match(item.key, new RegExp(`^raw/synop/opendatasoft/received=\\d{4}-\\d{2}-\\d{2}/\\d{9}-${item.sha256}\\.(jsonl|csv)$`));
        assert.match(item.received_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        assert.ok(Math.abs(Date.parse(item.received_at) - Date.now()) < 10 * 60_000);
      }
      assert.ok(list.items[0]!.received_at > list.items[1]!.received_at);
      const paged = (await app.inject({ url: '/raw/files?pipeline=synop&limit=1&offset=1', headers: auth })).json<List<RawItem>>();
      assert.deepEqual([paged.items.map((i) => i.name), paged.total, paged.limit, paged.offset], [['Relevés janvier.jsonl'], 2, 1, 1]);
      const other = (await app.inject({ url: '/raw/files?pipeline=stations', headers: auth })).json<List<RawItem>>();
      assert.deepEqual([other.items, other.total], [[], 0]);
      assert.equal((await app.inject({ url: '/raw/files?pipeline=../x', headers: auth })).statusCode, 400);
    });

    test('GET /raw/files/{key} streams the bytes under the original name', async () => {
      const list = (await app.inject({ url: '/raw/files', headers: auth })).json<List<RawItem>>();
      for (const item of list.items) {
        const r = await app.inject({ url: `/raw/files/${item.key}`, headers: auth });
        assert.equal(r.statusCode, 200);
        assert.deepEqual(r.rawPayload, await readFile(inputs[item.name] as string));
        assert.equal(r.headers['content-type'], 'application/octet-stream');
        if (item.name === 'labels.csv') assert.equal(r.headers['content-disposition'], 'attachment; filename="labels.csv"');
        else {
          assert.equal(
            r.headers['content-disposition'],
            `attachment; filename="Relev_s janvier.jsonl"; filename*=UTF-8''${encodeURIComponent('Relevés janvier.jsonl')}`,
          );
        }
      }
    });

    test('GET /raw/files/{key}: 404 when absent, 400 outside raw/ or with ..', async () => {
      const missing = await app.inject({ url: `/raw/files/raw/synop/opendatasoft/received=2024-01-02/120000000-${'ab'.repeat(32)}.jsonl`, headers: auth });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().error, 'not_found');
      assert.match(missing.json().message, /received=2024-01-02/);
      for (const key of ['staging/observations/x.parquet', 'warehouse.duckdb', 'raw//x']) {
        const r = await app.inject({ url: `/raw/files/${key}`, headers: auth });
        assert.equal(r.statusCode, 400, `${key}: ${r.body}`);
        assert.equal(r.json().error, 'bad_request');
      }
      // Dot segments as a raw HTTP client sends them (inject, like a browser, would resolve them first).
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      for (const path of ['/raw/files/raw/synop/../../warehouse.duckdb', '/raw/files/raw/%2e%2e/x', '/raw/files/raw/synop/..']) {
        const { status, body } = await rawGet(url, path);
        assert.equal(status, 400, `${path}: ${body}`);
        assert.equal((JSON.parse(body) as { error: string }).error, 'bad_request');
      }
    });
  });
}
