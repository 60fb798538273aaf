import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { executeRun, rebuildPipeline } from '../../src/orchestrator/runner.js';
import { PIPELINES } from '../../src/pipelines/index.js';
import type { Pipeline, Platform } from '../../src/pipelines/kit/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { validatePipelineConfigs } from '../../src/pipelines/platformConfig.js';
import { openPlatform, tempHome } from '../helpers/platform.js';

// docs/adding-a-pipeline.md walks through a pipeline whose code is on the page: this builds that very code
// (read out of the page into a folder beside the real pipelines, so its imports resolve as written there),
// registers it as the page says and uses it, so the page cannot drift from the platform.

const REPO = resolve(import.meta.dirname, '..', '..');
const DOC = join(REPO, 'docs', 'adding-a-pipeline.md');
const TOKEN = 'doc-example-token-0123456789';

/** The page's code blocks, by the path in their title. */
async function blocks(): Promise<Map<string, string>> {
  const text = await readFile(DOC, 'utf8');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/```ts title="([^"]+)"\n([\s\S]*?)```/g)) out.set(m[1] as string, m[2] as string);
  return out;
}

let folder: string;
let home: string;
let platform: Platform;
let meters: Pipeline;
let app: FastifyInstance;

before(async () => {
  const code = await blocks();
  const source = code.get('src/pipelines/meters/pipeline.ts');
  assert.ok(source, 'the page shows src/pipelines/meters/pipeline.ts');
  // A folder of its own per process, beside src/pipelines/meters/ where the page puts it (same depth, same imports).
  folder = join(REPO, 'src', 'pipelines', `.doc-example-${process.pid}`);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'pipeline.ts'), source);
  meters = ((await import(pathToFileURL(join(folder, 'pipeline.ts')).href)) as { metersPipeline: Pipeline }).metersPipeline;
  // The registration line the page gives, applied to the shipped registry.
  const line = code.get('src/pipelines/index.ts (the line to add)')?.trim();
  assert.equal(line, '[metersPipeline.name, metersPipeline],');
  const registry = new Map([...PIPELINES, [meters.name, meters]]);
  home = await tempHome('ecluse-doc-example-');
  platform = await openPlatform(home);
  app = await buildApp({ platform, pipelines: registry, logger: false, localToken: TOKEN });
});

after(async () => {
  await app?.close();
  await platform?.warehouse.close();
  await rm(folder, { recursive: true, force: true });
});

test('docs/adding-a-pipeline.md: the example pipeline runs, rejects what it says, lists, takes uploads and resets', async () => {
  const csv = join(home, 'readings.csv');
  await writeFile(csv, 'meter,day,kwh\nM1,2024-05-01,12.5\nM1,2024-05-02,abc\n,2024-05-02,3\nM2,2024-02-30,4\nM2,2024-05-01,7\n');
  const first = await executeRun(platform, meters, { inputs: [csv], trigger: 'cli' });
  assert.equal(first.status, 'succeeded', first.error ?? '');
  assert.equal(first.rows_read, 5);
  assert.equal(first.rows_written, 3);
  assert.equal(first.rows_rejected, 2, 'no meter, and a day that does not exist: rejected whole');
  assert.equal(first.values_rejected, 1, 'kwh "abc": the row kept with kwh null');
  const rows = await platform.warehouse.query(`SELECT meter, CAST(day AS VARCHAR) AS day, kwh FROM meter_readings ORDER BY meter, day`);
  assert.deepEqual(
    rows.map((r) => [r.meter, r.day, r.kwh === null ? null : Number(r.kwh)]),
    [
      ['M1', '2024-05-01', 12.5],
      ['M1', '2024-05-02', null],
      ['M2', '2024-05-01', 7],
    ],
  );
  const rejects = await platform.warehouse.query(`SELECT "row", field, reason FROM rejects WHERE run_id = $1 ORDER BY "row"`, [first.run_id]);
  assert.deepEqual(
    rejects.map((r) => [Number(r.row), r.field, r.reason]),
    [
      [3, 'kwh', 'not a number'],
      [4, 'meter', 'missing meter'],
      [5, 'day', 'not a day YYYY-MM-DD'],
    ],
  );
  // The same file again: already seen, nothing written.
  const again = await executeRun(platform, meters, { inputs: [csv], trigger: 'cli' });
  assert.equal(again.files_skipped, 1);

  // The manifest, as the server shows it.
  const listed = (await app.inject({ method: 'GET', url: '/pipelines' })).json<{
    items: { name: string; uploads: string[]; datasets: { table: string }[]; env: { name: string; sets: string; secret: boolean; set: boolean }[] }[];
  }>();
  const item = listed.items.find((p) => p.name === 'meters');
  assert.deepEqual(item?.uploads, ['csv']);
  assert.deepEqual(
    item?.env.map((e) => [e.name, e.sets, e.secret, e.set]),
    [['ECLUSE_METERS_MAX_KWH', 'pipelines.meters.max_kwh', false, false]],
  );
  assert.deepEqual(
    item?.datasets.map((d) => d.table),
    ['meter_readings'],
  );

  // An upload through the generic route: a new day loads, another type is refused.
  const boundary = '----doc-example';
  const body = (name: string, content: string) =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/csv\r\n\r\n${content}\r\n--${boundary}--\r\n`,
    );
  const headers = { 'content-type': `multipart/form-data; boundary=${boundary}`, authorization: `Bearer ${TOKEN}` };
  const up = await app.inject({ method: 'POST', url: '/pipelines/meters/files', payload: body('may.csv', 'meter,day,kwh\nM3,2024-05-03,1\n'), headers });
  assert.equal(up.statusCode, 200, up.body);
  assert.equal(up.json<{ rows_written: number }>().rows_written, 1);
  const refused = await app.inject({ method: 'POST', url: '/pipelines/meters/files', payload: body('may.json', '{}'), headers });
  assert.equal(refused.statusCode, 415, refused.body);
  const none = await app.inject({ method: 'POST', url: '/pipelines/nothing/files', payload: body('may.csv', 'x'), headers });
  assert.equal(none.statusCode, 404, none.body);

  // The dashboard counts its table; a rebuild empties it and loads the raw zone's files again.
  const overview = (await app.inject({ method: 'GET', url: '/dashboard/overview' })).json<{
    pipelines: { name: string; datasets: { name: string; rows: number | null }[] }[];
  }>();
  assert.deepEqual(overview.pipelines.find((p) => p.name === 'meters')?.datasets, [{ name: 'meter_readings', rows: 4 }]);
  const before = await platform.warehouse.query(`SELECT meter, CAST(day AS VARCHAR) AS day, kwh FROM meter_readings ORDER BY meter, day`);
  const rebuilt = await rebuildPipeline(platform, meters);
  assert.equal(rebuilt.status, 'succeeded', rebuilt.error ?? '');
  assert.equal(rebuilt.rows_written, 4);
  assert.deepEqual(await platform.warehouse.query(`SELECT meter, CAST(day AS VARCHAR) AS day, kwh FROM meter_readings ORDER BY meter, day`), before);
  // A run without files has nothing to read, and says so.
  const empty = await executeRun(platform, meters, { trigger: 'cli' });
  assert.equal(empty.status, 'failed');
  assert.match(empty.error ?? '', /nothing to read/);
});

test('docs/adding-a-pipeline.md: the example’s section pipelines.meters, its variable, and a section its schema refuses', async () => {
  const registry = [...PIPELINES.values(), meters];
  const file = join(home, 'ecluse.config.json');
  const csv = join(home, 'big.csv');
  await writeFile(csv, 'meter,day,kwh\nM9,2024-06-01,40\n');
  try {
    await writeFile(file, JSON.stringify({ pipelines: { meters: { max_kwh: 10 } } }));
    const config = loadConfig({ ECLUSE_HOME: home }, home);
    validatePipelineConfigs(config, registry);
    const run = await executeRun({ ...platform, config }, meters, { inputs: [csv], trigger: 'cli' });
    assert.equal(run.values_rejected, 1, 'kwh 40 is above max_kwh 10');
    const [reject] = await platform.warehouse.query(`SELECT field, reason FROM rejects WHERE run_id = $1`, [run.run_id]);
    assert.deepEqual([reject?.field, reject?.reason], ['kwh', 'above max_kwh (10)']);

    // The variable wins over the file, as a number although the environment holds strings.
    const fromEnv = loadConfig({ ECLUSE_HOME: home, ECLUSE_METERS_MAX_KWH: '50' }, home);
    validatePipelineConfigs(fromEnv, registry);
    assert.deepEqual(meters.config?.settings(fromEnv), { maxKwh: 50 });

    await writeFile(file, JSON.stringify({ pipelines: { meters: { max_kwh: -1 } } }));
    assert.throws(
      () => validatePipelineConfigs(loadConfig({ ECLUSE_HOME: home }, home), registry),
      (err: Error) => err instanceof ConfigError && err.message.startsWith(`${file}: invalid configuration: pipelines.meters.max_kwh: `),
    );
  } finally {
    await rm(file, { force: true });
  }
});
