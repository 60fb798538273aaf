import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { strToU8, zipSync } from 'fflate';
import { writeSynop } from '../../src/connectors/generators/synop.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { openPlatform, tempHome } from '../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../helpers/setups.js';
import { startServer } from '../helpers/cli.js';

const TOKEN = 'ingest-token-0123456789';
const BOUNDARY = '----ecluse-test-boundary-7f3a';

interface Part {
  name: string;
  content: string | Buffer;
  type?: string;
  field?: string;
}

/** A multipart/form-data body; a part without `name` is a plain field. */
function multipart(parts: readonly Part[], fields: Record<string, string> = {}): { payload: Buffer; headers: Record<string, string> } {
  const chunks: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  for (const p of parts) {
    chunks.push(
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.field ?? 'file'}"; filename="${p.name}"\r\n` +
          `Content-Type: ${p.type ?? 'application/octet-stream'}\r\n\r\n`,
      ),
      Buffer.from(p.content),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } };
}

const auth = { authorization: `Bearer ${TOKEN}` };

for (const setup of SETUPS) {
  describe(`POST /ingest on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    let home: string;
    let platform: Platform;
    let app: FastifyInstance;
    let jsonl: string;
    let labels: string;
    const upload = (parts: readonly Part[], headers: Record<string, string> = auth, fields?: Record<string, string>, on = app) => {
      const body = multipart(parts, fields);
      return on.inject({ method: 'POST', url: '/ingest', payload: body.payload, headers: { ...body.headers, ...headers } });
    };
    const uploadsLeft = async () => (await readdir(join(home, 'uploads'), { recursive: true }).catch(() => [])).length;

    before(async () => {
      home = await tempHome('ecluse-ingest-');
      platform = await openPlatform(home, await envOf(home));
      await writeSynop(join(home, 'a.jsonl'), 'jsonl', { stations: 2, from: '2024-02-01', to: '2024-02-02', seed: 3 });
      await writeSynop(join(home, 'b.csv'), 'csv-labels', { stations: 2, from: '2024-02-03', to: '2024-02-03', seed: 4 });
      jsonl = await readFile(join(home, 'a.jsonl'), 'utf8');
      labels = await readFile(join(home, 'b.csv'), 'utf8');
      app = await buildApp({ platform, logger: false, localToken: TOKEN });
    });

    after(async () => {
      await app?.close();
      await platform?.warehouse.close();
    });

    test('a JSONL upload runs synop and answers with the run summary (the object GET /runs/{id} gives)', async () => {
      const lines = jsonl.split('\n').filter((l) => l.trim() !== '').length;
      const r = await upload([{ name: 'février.jsonl', content: jsonl }]);
      assert.equal(r.statusCode, 200, r.body);
      const summary = r.json<Record<string, unknown>>();
      assert.equal(summary.status, 'succeeded', String(summary.error));
      assert.equal(summary.pipeline, 'synop');
      assert.equal(summary.partition, `adhoc-${summary.run_id}`);
      assert.deepEqual([summary.files, summary.files_skipped, summary.rows_read, summary.rows_written, summary.rows_rejected], [1, 0, lines, lines, 0]);
      assert.deepEqual((await app.inject(`/runs/${summary.run_id}`)).json(), summary);
      const [count] = await platform.warehouse.query(`SELECT count(*) AS n FROM observations`);
      assert.equal(Number(count?.n), lines);
      // Stored unchanged in the raw zone under its own name; nothing left in the uploads folder.
      const raw = (await app.inject({ url: '/raw/files?pipeline=synop', headers: auth })).json<{ items: { key: string; name: string; size: number }[] }>();
      assert.deepEqual(
        raw.items.map((i) => [i.name, i.size]),
        [['février.jsonl', Buffer.byteLength(jsonl)]],
      );
      assert.equal((await app.inject({ url: `/raw/files/${raw.items[0]?.key}`, headers: auth })).body, jsonl);
      assert.equal(await uploadsLeft(), 0);
      // The same content again: seen, skipped.
      const again = (await upload([{ name: 'copy.jsonl', content: jsonl }])).json<Record<string, unknown>>();
      assert.deepEqual([again.status, again.files, again.files_skipped, again.rows_written], ['succeeded', 0, 1, 0]);
    });

    test('a CSV with French label headers, and two files in one upload', async () => {
      const rows = labels.split('\n').filter((l) => l.trim() !== '').length - 1;
      const extra = jsonl.replace(/"2024-02-0/g, '"2024-03-0');
      const r = await upload([
        { name: 'labels.csv', content: labels, type: 'text/csv' },
        // No extension: typed by its content type.
        { name: 'export', content: extra, type: 'application/x-ndjson', field: 'other' },
      ]);
      assert.equal(r.statusCode, 200, r.body);
      const s = r.json<Record<string, unknown>>();
      assert.equal(s.status, 'succeeded', String(s.error));
      assert.equal(s.files, 2);
      assert.equal(s.rows_written, rows + extra.split('\n').filter((l) => l.trim() !== '').length);
      const [feb3] = await platform.warehouse.query(
        `SELECT count(*) AS n FROM observations WHERE observed_at >= CAST('2024-02-03 00:00:00' AS TIMESTAMP) AND observed_at < CAST('2024-02-04 00:00:00' AS TIMESTAMP)`,
      );
      assert.equal(Number(feb3?.n), rows);
    });

    test('a ZIP holding a JSON array export and a CSV', async () => {
      const records = jsonl
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l.replace(/"2024-02-0/g, '"2024-06-0')) as unknown);
      const csv = labels.replace(/2024-02-03/g, '2024-06-03');
      const zip = Buffer.from(zipSync({ 'export.json': strToU8(JSON.stringify(records)), 'sub/labels.csv': strToU8(csv) }));
      const r = await upload([{ name: 'juin.zip', content: zip, type: 'application/zip' }]);
      assert.equal(r.statusCode, 200, r.body);
      const s = r.json<Record<string, unknown>>();
      assert.equal(s.status, 'succeeded', String(s.error));
      assert.equal(s.files, 1);
      assert.equal(s.rows_written, records.length + csv.split('\n').filter((l) => l.trim() !== '').length - 1);
    });

    test('the OpenAPI document describes the routes and the upload form', async () => {
      const doc = (await app.inject('/docs/json')).json<{ paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>> }>();
      for (const path of [
        '/ingest',
        '/raw/files',
        '/raw/files/{*}',
        '/staging/cities',
        '/staging/cities/{city}',
        '/curated/cities',
        '/curated/cities/{city}',
      ]) {
        assert.ok(doc.paths[path], path);
      }
      assert.ok(doc.paths['/ingest']?.post?.requestBody?.content['multipart/form-data']);
    });

    test('a file with bad rows: 200, rejects counted, the rest loaded', async () => {
      const good = jsonl
        .replace(/"2024-02-0/g, '"2024-04-0')
        .split('\n')
        .filter((l) => l.trim() !== '');
      const bad = [
        ...good.slice(0, 3),
        '{"numer_sta": "07015", "date": "2024-04-05T00:00:00+00:00", "t": "warm"}',
        good[3],
        '{"numer_sta": "07015", "date": "2024-04-0',
      ];
      const r = await upload([{ name: 'bad.jsonl', content: bad.join('\n') }]);
      assert.equal(r.statusCode, 200, r.body);
      const s = r.json<Record<string, unknown>>();
      assert.equal(s.status, 'succeeded', String(s.error));
      assert.ok(Number(s.rows_rejected) + Number(s.values_rejected) >= 2, r.body);
      assert.ok(Number(s.rows_written) >= 4, r.body);
      const rejects = (await app.inject({ url: `/rejects?run=${s.run_id}`, headers: auth })).json<{ total: number }>();
      assert.ok(rejects.total >= 2);
    });

    test('401 without a valid token, before anything is read', async () => {
      for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
        const r = await upload([{ name: 'a.jsonl', content: jsonl }], headers);
        assert.equal(r.statusCode, 401);
        assert.equal(r.json().error, 'unauthorized');
      }
      assert.equal(await uploadsLeft(), 0);
    });

    test('415 for a file type other than JSON, JSONL, CSV, ZIP, or a body that is not multipart', async () => {
      const txt = await upload([{ name: 'notes.txt', content: 'hello', type: 'text/plain' }]);
      assert.equal(txt.statusCode, 415);
      assert.equal(txt.json().error, 'unsupported_media_type');
      assert.match(txt.json().message, /notes\.txt.*json, jsonl, ndjson, csv, zip/);
      // A SYNOP file sent as the body with its own type (an array, JSON lines, or not JSON at all) is the same mistake.
      for (const [type, payload] of [
        ['application/json', '{"a":1}'],
        ['application/json', '[{"numer_sta":"07015"}]'],
        ['application/json; charset=utf-8', '{"a":1}\n{"a":2}\n'],
        ['application/json', ''],
        ['application/octet-stream', 'xx'],
        ['text/csv', 'a;b'],
      ] as const) {
        const r = await app.inject({ method: 'POST', url: '/ingest', payload, headers: { ...auth, 'content-type': type } });
        assert.equal(r.statusCode, 415, `${type}: ${r.body}`);
        assert.match(r.json().message, /multipart\/form-data/);
      }
      assert.equal(await uploadsLeft(), 0);
    });

    test('400 for an upload without files or with an empty file', async () => {
      const none = await upload([], auth, { note: 'no file here' });
      assert.equal(none.statusCode, 400);
      assert.match(none.json().message, /no file/);
      const empty = await upload([{ name: 'empty.jsonl', content: '' }]);
      assert.equal(empty.statusCode, 400);
      assert.match(empty.json().message, /empty\.jsonl.*empty/);
      assert.equal(await uploadsLeft(), 0);
    });

    test('413 over the size limit, naming it; the partial file is removed and nothing is loaded', async () => {
      // Upload folders a killed server left: the stale one is removed when an app starts, a recent one kept.
      const stale = join(home, 'uploads', 'stale');
      const recent = join(home, 'uploads', 'recent');
      await mkdir(join(stale, '0'), { recursive: true });
      await mkdir(recent, { recursive: true });
      const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
      await utimes(stale, twoDaysAgo, twoDaysAgo);
      const small = await buildApp({ platform: { ...platform, config: { ...platform.config, maxUploadBytes: 4096 } }, logger: false, localToken: TOKEN });
      assert.deepEqual(await readdir(join(home, 'uploads')), ['recent']);
      await rm(recent, { recursive: true });
      try {
        const runsBefore = (await small.inject('/runs?pipeline=synop')).json<{ total: number }>().total;
        const rawBefore = (await small.inject({ url: '/raw/files', headers: auth })).json<{ total: number }>().total;
        assert.ok(Buffer.byteLength(jsonl) > 4096);
        const big = await upload([{ name: 'big.jsonl', content: jsonl }], auth, undefined, small);
        assert.equal(big.statusCode, 413, big.body);
        assert.equal(big.json().error, 'too_large');
        assert.match(big.json().message, /limit of 0\.004 MB \(4096 bytes; ECLUSE_MAX_UPLOAD_MB\)/);
        // Two files under the limit each, over it together.
        const half = jsonl.slice(0, 3000);
        const both = await upload(
          [
            { name: 'x.jsonl', content: half },
            { name: 'y.jsonl', content: half },
          ],
          auth,
          undefined,
          small,
        );
        assert.equal(both.statusCode, 413, both.body);
        assert.equal(await uploadsLeft(), 0);
        assert.equal((await small.inject('/runs?pipeline=synop')).json<{ total: number }>().total, runsBefore);
        assert.equal((await small.inject({ url: '/raw/files', headers: auth })).json<{ total: number }>().total, rawBefore);
        // Under the limit: accepted.
        const ok = await upload(
          [
            {
              name: 'ok.jsonl',
              content: jsonl
                .split('\n')
                .slice(0, 2)
                .join('\n')
                .replace(/"2024-02-0/g, '"2024-05-0'),
            },
          ],
          auth,
          undefined,
          small,
        );
        assert.equal(ok.statusCode, 200, ok.body);
      } finally {
        await small.close();
      }
    });
  });
}

/** VmRSS of a process, bytes. */
async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}

describe('POST /ingest of a large file through a real socket', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, () => {
  test('streams it: the server’s RSS grows far less than the file during the upload', { timeout: 300_000 }, async () => {
    const home = await tempHome('ecluse-ingest-big-');
    const file = join(home, 'quarter.jsonl');
    // 62 stations, about 50 MB of JSONL.
    await writeSynop(file, 'jsonl', { stations: 62, from: '2024-01-01', to: '2024-03-31', seed: 9 });
    const small = join(home, 'warm.jsonl');
    // A few MB: enough for the heap's young generation to reach its working size before the baseline.
    await writeSynop(small, 'jsonl', { stations: 62, from: '2023-12-01', to: '2023-12-12', seed: 9 });
    const size = (await stat(file)).size;
    assert.ok(size > 40 * 1024 * 1024, `${size} bytes`);
    const server = await startServer(home, 'up', { ECLUSE_API_TOKEN: TOKEN, LOG_LEVEL: 'warn' });
    const pid = server.child.pid as number;
    try {
      // Warm: a first small upload loads the code paths (multipart, the run, DuckDB) that would otherwise count as upload growth.
      const warm = new FormData();
      warm.append('file', new Blob([await readFile(small)]), 'warm.jsonl');
      const warmed = await fetch(`${server.url}/ingest`, { method: 'POST', body: warm, headers: auth });
      assert.equal(warmed.status, 200, await warmed.text());
      const baseline = await rssOf(pid);
      let uploadPeak = baseline;
      let runPeak = baseline;
      let uploading = true;
      let sent = 0;
      /** Peak RSS while the first half of the file was sent, and while the second half was. */
      const halves = [baseline, baseline];
      const sampler = setInterval(() => {
        const half = sent < size / 2 ? 0 : 1;
        void rssOf(pid).then(
          (rss) => {
            if (uploading) {
              uploadPeak = Math.max(uploadPeak, rss);
              halves[half] = Math.max(halves[half] as number, rss);
            }
            runPeak = Math.max(runPeak, rss);
          },
          () => undefined,
        );
      }, 20);
      const head = Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="quarter.jsonl"\r\nContent-Type: application/x-ndjson\r\n\r\n`,
      );
      const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
      const lines = await new Promise<string[]>((resolve, reject) => {
        const req = request(
          `${server.url}/ingest`,
          {
            method: 'POST',
            headers: {
              ...auth,
              accept: 'application/x-ndjson',
              'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
              'content-length': String(head.length + size + tail.length),
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => {
              // The first line comes once the upload is on disk and the run starts.
              uploading = false;
              text += c;
            });
            res.on('end', () => resolve(text.split('\n').filter((l) => l !== '')));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.write(head);
        const body = createReadStream(file);
        body.on('error', reject);
        body.on('data', (c) => (sent += c.length));
        body.pipe(req, { end: false });
        body.on('end', () => req.end(tail));
      });
      clearInterval(sampler);
      const last = JSON.parse(lines.at(-1) as string) as { summary?: Record<string, unknown> };
      assert.equal(last.summary?.status, 'succeeded', lines.at(-1));
      assert.ok(Number(last.summary?.rows_written) > 40_000, lines.at(-1));
      const mb = (n: number) => Math.round(n / 1024 / 1024);
      console.log(
        `# upload of ${mb(size)} MB: server RSS ${mb(baseline)} MB before, peak ${mb(uploadPeak)} MB during the upload (+${mb(uploadPeak - baseline)} MB), ` +
          `(first half ${mb(halves[0] as number)} MB, second half ${mb(halves[1] as number)} MB), ${mb(runPeak)} MB including the run`,
      );
      // A fixed cost (heap generations, socket and stream buffers) is allowed; a copy of the file is not.
      assert.ok(uploadPeak - baseline < size / 2, `RSS grew by ${mb(uploadPeak - baseline)} MB during a ${mb(size)} MB upload`);
      // Bounded, not proportional: buffering would add half the file (29 MB) here; noise is a few MB.
      assert.ok(
        (halves[1] as number) - (halves[0] as number) < size / 4,
        `RSS grew by ${mb((halves[1] as number) - (halves[0] as number))} MB in the second half`,
      );
    } finally {
      await server.stop();
    }
  });
});
