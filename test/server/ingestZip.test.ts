/**
 * ZIP bombs uploaded to POST /ingest. Each archive is a few hundred KiB expanding to
 * gigabytes; the server refuses the entries over its limits by name, loads the rest, and keeps answering.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { writeSynop } from '../../src/connectors/generators/synop.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { openPlatform, tempHome } from '../helpers/platform.js';
import { textEntry, zerosEntry, zipOf } from '../engine/readers/zipFixtures.js';

const TOKEN = 'ingest-zip-token-0123456789';
const BOUNDARY = '----ecluse-zip-boundary-41c2';

function multipart(parts: readonly { name: string; content: string | Buffer }[]): { payload: Buffer; headers: Record<string, string> } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${p.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      Buffer.from(p.content),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return {
    payload: Buffer.concat(chunks),
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, authorization: `Bearer ${TOKEN}` },
  };
}

interface Summary {
  run_id: number;
  status: string;
  error?: string;
  files: number;
  rows_written: number;
  rows_rejected: number;
}

interface RejectRow {
  file: string;
  reason: string;
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '').length;

describe('POST /ingest of ZIP bombs', () => {
  const homes: { platform: Platform; app: FastifyInstance }[] = [];
  let good: string;
  let inner: string;

  /** An app on a fresh home, with the environment given (limits). */
  async function appWith(env: Record<string, string>): Promise<{ platform: Platform; app: FastifyInstance }> {
    const home = await tempHome('ecluse-ingest-zip-');
    const platform = await openPlatform(home, env);
    const app = await buildApp({ platform, logger: false, localToken: TOKEN });
    homes.push({ platform, app });
    return { platform, app };
  }

  const upload = async (app: FastifyInstance, parts: readonly { name: string; content: string | Buffer }[]) => {
    const body = multipart(parts);
    const r = await app.inject({ method: 'POST', url: '/ingest', payload: body.payload, headers: body.headers });
    assert.equal(r.statusCode, 200, r.body);
    return r.json<Summary>();
  };

  const rejectsOf = async (app: FastifyInstance, run: number) =>
    (await app.inject({ url: `/rejects?run=${run}`, headers: { authorization: `Bearer ${TOKEN}` } })).json<{ items: RejectRow[] }>().items;

  before(async () => {
    const home = await tempHome('ecluse-ingest-zip-data-');
    await writeSynop(join(home, 'good.jsonl'), 'jsonl', { stations: 2, from: '2024-02-01', to: '2024-02-01', seed: 5 });
    await writeSynop(join(home, 'inner.jsonl'), 'jsonl', { stations: 2, from: '2024-03-01', to: '2024-03-01', seed: 6 });
    good = await readFile(join(home, 'good.jsonl'), 'utf8');
    inner = await readFile(join(home, 'inner.jsonl'), 'utf8');
  });

  after(async () => {
    for (const { app, platform } of homes) {
      await app.close();
      await platform.warehouse.close();
    }
  });

  test('a ZIP holding a 1 GiB entry, uploaded with a good file: the entry is one reject naming it, everything else loads', async () => {
    const { app, platform } = await appWith({});
    const bomb = zipOf([textEntry('march.jsonl', inner), zerosEntry('huge.jsonl', 1024)]);
    const s = await upload(app, [
      { name: 'bomb.zip', content: bomb },
      { name: 'good.jsonl', content: good },
    ]);
    assert.equal(s.status, 'succeeded', s.error);
    assert.equal(s.files, 2);
    assert.equal(s.rows_written, lines(good) + lines(inner));
    assert.equal(s.rows_rejected, 1);
    const rejects = await rejectsOf(app, s.run_id);
    assert.deepEqual(
      rejects.map((r) => r.file),
      ['bomb.zip/huge.jsonl'],
    );
    assert.match(
      rejects[0]?.reason ?? '',
      /expands more than 100 times its compressed size .* \(raise it with ECLUSE_ZIP_MAX_RATIO or zip\.max_ratio in ecluse\.config\.json\); not read/,
    );
    const [n] = await platform.warehouse.query(`SELECT count(*) AS n FROM observations`);
    assert.equal(Number(n?.n), lines(good) + lines(inner));
  });

  test('a 2 MB ZIP of two 1 GiB entries, limits raised: the server keeps answering /health while it inflates and refuses them', async (t) => {
    // The ratio limit out of the way, each entry inflates 192 MiB before the per-entry limit refuses it.
    const { app } = await appWith({ ECLUSE_ZIP_MAX_RATIO: '1000000', ECLUSE_ZIP_MAX_ENTRY_MB: '192' });
    const bomb = zipOf([zerosEntry('a.jsonl', 1024), zerosEntry('b.jsonl', 1024)]);
    assert.ok(bomb.length < 2.2e6, `${bomb.length} bytes`);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    assert.ok(address && typeof address === 'object');
    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    let running = true;
    let slowest = 0;
    let answers = 0;
    const poll = (async () => {
      while (running) {
        const t0 = Date.now();
        const r = await fetch(`http://127.0.0.1:${address.port}/health`);
        await r.arrayBuffer();
        slowest = Math.max(slowest, Date.now() - t0);
        if (r.ok) answers++;
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      const s = await upload(app, [{ name: 'two.zip', content: bomb }]);
      const rejects = await rejectsOf(app, s.run_id);
      assert.deepEqual(rejects.map((r) => r.file).sort(), ['two.zip/a.jsonl', 'two.zip/b.jsonl']);
      for (const r of rejects) assert.match(r.reason, /^expands past 192 MiB, the limit per entry \(raise it with ECLUSE_ZIP_MAX_ENTRY_MB/);
    } finally {
      running = false;
      await poll;
    }
    t.diagnostic(`/health: ${answers} answers, the slowest in ${slowest} ms; RSS +${Math.round((peakRss - rssBefore) / 1024 / 1024)} MB`);
    assert.ok(answers >= 3, `${answers} answers`);
    assert.ok(slowest < 1500, `/health took ${slowest} ms`);
    assert.ok(peakRss - rssBefore < 300 * 1024 * 1024, `RSS grew by ${Math.round((peakRss - rssBefore) / 1024 / 1024)} MB`);
  });

  test('a 0.97 MB ZIP under a 1 MB upload limit that expands to 940 MiB: accepted as an upload, its entry refused', async () => {
    const { app } = await appWith({ ECLUSE_MAX_UPLOAD_MB: '1' });
    const bomb = zipOf([zerosEntry('data.jsonl', 940)]);
    assert.ok(bomb.length < 1024 * 1024 - 4096, `${bomb.length} bytes`);
    const rssBefore = process.memoryUsage().rss;
    const s = await upload(app, [
      { name: 'small.zip', content: bomb },
      { name: 'good.jsonl', content: good },
    ]);
    assert.ok(process.memoryUsage().rss - rssBefore < 300 * 1024 * 1024);
    assert.equal(s.rows_written, lines(good));
    assert.equal(s.rows_rejected, 1);
    const rejects = await rejectsOf(app, s.run_id);
    assert.deepEqual(
      rejects.map((r) => r.file),
      ['small.zip/data.jsonl'],
    );
    assert.match(rejects[0]?.reason ?? '', /the limit against zip bombs/);
  });

  test('a damaged archive is one reject naming it; the other file loads', async () => {
    const { app } = await appWith({});
    const whole = zipOf([textEntry('march.jsonl', inner)]);
    const s = await upload(app, [
      { name: 'cut.zip', content: whole.subarray(0, whole.length - 10) },
      { name: 'good.jsonl', content: good },
    ]);
    assert.equal(s.rows_written, lines(good));
    const rejects = await rejectsOf(app, s.run_id);
    assert.deepEqual(
      rejects.map((r) => r.file),
      ['cut.zip'],
    );
    assert.match(rejects[0]?.reason ?? '', /not a ZIP archive, or one cut short/);
  });
});
