// Property tests of the synop readers through the entry point a run uses: `stageFiles`, which reads each
// file with DuckDB's SQL path when it is a large JSONL/CSV (or when asked, `sql`) and otherwise, or as its
// fallback, with the TypeScript reader. Hostile inputs: every truncation of small valid files (API
// `results`, export array, JSONL, CSV with field names and with French labels), random bytes, wrong
// encodings, NUL bytes, duplicate keys, deep nesting, a 50 MB line. The outcome is always rows plus rejects
// naming the file, in bounded time; never an exception. A failing property prints its seed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DuckSession } from '../../../src/engine/duckdb.js';
import type { PendingFile } from '../../../src/pipelines/kit/rawInputs.js';
import type { RunContext } from '../../../src/pipelines/kit/pipeline.js';
import { SynopBatch } from '../../../src/pipelines/synop/batch.js';
import { RUN_OBS } from '../../../src/pipelines/synop/load.js';
import { readSynopFile } from '../../../src/pipelines/synop/readers.js';
import { stageFiles, type ReadPath } from '../../../src/pipelines/synop/stage.js';
import type { StagedFiles } from '../../../src/pipelines/kit/fileBatch.js';
import {
  assertClearRejects,
  deepArray,
  deepObject,
  FORMULA_LOOKING,
  peakRssMb,
  SMALL_FILE_MS,
  withinTime,
  wrongEncodings,
} from '../../helpers/readerProperties.js';

let dir: string;
let session: DuckSession;
let fileNo = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecluse-synop-props-'));
  session = await DuckSession.open();
});
after(async () => {
  session.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * What `stageFiles` uses of a run: its engine, its memory setting and its progress callback. The rest of a
 * RunContext (warehouse, lake, run record) plays no part in reading files.
 */
function readingContext(): RunContext {
  return { engine: session, config: { duckdbMemoryLimit: undefined }, progress: () => {} } as unknown as RunContext;
}

interface Staged extends StagedFiles {
  observations: number;
}

/** Reads one file as a run's stage step does, checking the outcome every property shares. */
async function stage(name: string, bytes: Uint8Array | string, path: ReadPath = 'auto', limitMs = SMALL_FILE_MS): Promise<Staged> {
  const local = join(dir, `${fileNo++}.bin`);
  await writeFile(local, bytes);
  const scratch = await mkdtemp(join(dir, 'scratch-'));
  try {
    const pending = [{ path: local, raw: { originalName: name } } as PendingFile];
    const r = await withinTime(`reading ${name}`, limitMs, () => stageFiles(readingContext(), pending, scratch, path));
    assertClearRejects(r.rejects, name);
    const observations = Number(await session.scalar<bigint>(`SELECT count(*) FROM ${RUN_OBS}`));
    assert.ok(observations <= r.rowsRead - r.recordsRejected, `${name}: more observations than records read`);
    return { ...r, rejects: r.rejects, observations };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Small valid files in the real formats (docs/pipelines/synop.md)

const RECORDS = [
  {
    numer_sta: '07015',
    date: '2024-07-01T00:00:00+00:00',
    pmer: 101720,
    t: 291.45,
    u: 81,
    rr3: -0.1,
    nom: 'LILLE-LESQUIN',
    coordonnees: { lon: 3.0975, lat: 50.57 },
  },
  {
    numer_sta: '07015',
    date: '2024-07-01T03:00:00+00:00',
    pmer: 101750,
    t: 290.05,
    u: 90,
    rr3: 1.2,
    nom: 'LILLE-LESQUIN',
    coordonnees: { lon: 3.0975, lat: 50.57 },
  },
];
const API_JSON = JSON.stringify({ total_count: 2, results: RECORDS });
const EXPORT_JSON = JSON.stringify(RECORDS, null, 1);
const JSONL = RECORDS.map((r) => JSON.stringify(r)).join('\n') + '\n';
const NAMES_CSV =
  '\uFEFFnumer_sta;date;pmer;t;u;rr3;nom;coordonnees\r\n07015;2024-07-01T02:00:00+02:00;101720;291.45;81;-0.1;LILLE-LESQUIN;50.57, 3.0975\r\n07015;2024-07-01T05:00:00+02:00;101750;290.05;90;1.2;LILLE-LESQUIN;50.57, 3.0975\r\n';
const LABELS_CSV =
  '\uFEFFID OMM station;Date;Pression au niveau mer;Température;Humidité;Précipitations dans les 3 dernières heures;Nom;Coordonnees\r\n' +
  '07015;2024-07-01T02:00:00+02:00;101720;291.45;81;-0.1;LILLE-LESQUIN;50.57, 3.0975\r\n07015;2024-07-01T05:00:00+02:00;101750;290.05;90;1.2;LILLE-LESQUIN;50.57, 3.0975\r\n';

const VALID: [string, string][] = [
  ['api.json', API_JSON],
  ['export.json', EXPORT_JSON],
  ['synop.jsonl', JSONL],
  ['names.csv', NAMES_CSV],
  ['labels.csv', LABELS_CSV],
];

test('synop: the small valid files read whole, by both paths where both apply', async () => {
  for (const [name, text] of VALID) {
    const paths: ReadPath[] = /\.(jsonl|csv)$/.test(name) ? ['typescript', 'sql'] : ['typescript'];
    for (const path of paths) {
      const r = await stage(name, text, path);
      assert.equal(r.observations, 2, `${name} (${path})`);
      assert.deepEqual(r.rejects, [], `${name} (${path})`);
    }
  }
});

/**
 * Records wholly inside the first `k` characters of a JSONL or CSV text (a line is whole once its last
 * character is in; the CSV header is no record).
 */
function wholeRecords(text: string, k: number): number {
  const lines = text.split('\n');
  let end = 0;
  let whole = 0;
  for (const [i, line] of lines.entries()) {
    end += line.replace(/\r$/, '').length;
    if (line.trim() !== '' && end <= k) whole++;
    end += line.length - line.replace(/\r$/, '').length + 1;
    if (i === 0 && text.includes(';')) whole = 0;
  }
  return whole;
}

test('synop: every file cut at every byte is rows and rejects naming the file (and the line where it ends)', async () => {
  // Small files take the TypeScript reader in a run (stageFiles' 'auto'): called directly here, it makes
  // every byte affordable; stageFiles itself runs on sampled cuts below.
  for (const [name, text] of VALID) {
    const bytes = Buffer.from(text);
    for (let k = 0; k < bytes.length; k++) {
      const batch = new SynopBatch();
      readSynopFile(name, bytes.subarray(0, k), batch);
      assertClearRejects(batch.rejects, name);
      if (name.endsWith('.json')) {
        assert.equal(batch.filesRejected, 1, `${name} cut at ${k}`);
        assert.match(batch.rejects[0]?.reason ?? '', /^(truncated JSON \(ends unexpectedly at line \d+\)|empty file)$/, `${name} cut at ${k}`);
      } else {
        const whole = wholeRecords(bytes.subarray(0, k).toString(), k);
        if (batch.observations.length < whole || batch.rejects.length > 0) {
          assert.ok(batch.rejects.length >= 1, `${name} cut at ${k}: records lost without a reject`);
          assert.ok(
            batch.rejects.every((r) => r.row !== null || /empty file|column/.test(r.reason)),
            `${name} cut at ${k}: ${JSON.stringify(batch.rejects)}`,
          );
        }
      }
    }
  }
});

test('synop: the SQL read path on cut JSONL/CSV files falls back or agrees, never throws', async () => {
  // The empty cut, always: the SQL path took an empty JSONL for a file without records.
  for (const name of ['empty.jsonl', 'empty.csv']) {
    assert.deepEqual((await stage(name, '', 'sql')).rejects, (await stage(name, '', 'typescript')).rejects, name);
  }
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...VALID.filter(([n]) => !n.endsWith('.json'))), fc.nat(), async ([name, text], at) => {
      const k = at % text.length;
      const sql = await stage(name, text.slice(0, k), 'sql');
      const ts = await stage(name, text.slice(0, k), 'typescript');
      assert.equal(sql.observations, ts.observations, `${name} cut at ${k}`);
      assert.deepEqual(sql.rejects, ts.rejects, `${name} cut at ${k}`);
    }),
    { numRuns: 40 },
  );
});

test('synop: random bytes under any supported name are rows and rejects, never an exception', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('x.json', 'x.jsonl', 'x.csv'), fc.uint8Array({ maxLength: 3000 }), async (name, bytes) => {
      await stage(name, bytes);
    }),
    { numRuns: 60 },
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...VALID),
      fc.nat(),
      fc.constantFrom('\u0000', '\uFEFF', '\\u0000', '\\ud800', '\r', '\n', '"', ';', '\\', '\u2028'),
      async ([name, text], at, token) => {
        const k = at % text.length;
        await stage(name, text.slice(0, k) + token + text.slice(k));
      },
    ),
    { numRuns: 60 },
  );
});

test('synop: a file in the wrong encoding is one reject saying so, with its line', async () => {
  for (const [name, text] of VALID.filter(([n]) => n.endsWith('.csv') || n === 'export.json')) {
    for (const { encoding, bytes, expect } of wrongEncodings(text.replace(/^\uFEFF/, '').replace('LILLE-LESQUIN', "LILLE-LESQUIN l'été"))) {
      const r = await stage(name, bytes);
      assert.equal(r.observations, 0, `${name} in ${encoding}`);
      assert.equal(r.filesRejected, 1, `${name} in ${encoding}: ${JSON.stringify(r.rejects)}`);
      assert.match(r.rejects[0]?.reason ?? '', expect, `${name} in ${encoding}`);
    }
  }
});

test('synop: nesting 100k deep anywhere is a reject, never a stack overflow', async () => {
  const places: Array<(deep: string) => [string, string]> = [
    (d) => ['deep.json', d],
    (d) => ['deep.json', `{"results":[${d}]}`],
    (d) => ['deep.json', `{"error_code":${d},"message":${d}}`],
    (d) => ['deep.json', API_JSON.replace('"t":291.45', `"t":${d}`)],
    (d) => ['deep.json', API_JSON.replace('"numer_sta":"07015"', `"numer_sta":${d}`)],
    (d) => ['deep.json', API_JSON.replace('"date":"2024-07-01T00:00:00+00:00"', `"date":${d}`)],
    (d) => ['deep.jsonl', `${d}\n${JSONL}`],
    (d) => ['deep.jsonl', JSONL.replace('"u":81', `"u":${d}`)],
    (d) => ['deep.jsonl', JSONL.replace('"coordonnees":{"lon":3.0975,"lat":50.57}', `"coordonnees":${d}`)],
  ];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...places.keys()),
      fc.constantFrom(deepArray, deepObject),
      fc.integer({ min: 5_000, max: 100_000 }),
      async (p, shape, depth) => {
        const [name, text] = (places[p] as (d: string) => [string, string])(shape(depth));
        await stage(name, text);
        if (name.endsWith('.jsonl')) await stage(name, text, 'sql');
      },
    ),
    { numRuns: 15 },
  );
});

test('synop: duplicate keys: the last one counts, by both paths, and nothing else moves', async () => {
  const jsonl = JSONL.replace('"u":81', '"u":81,"u":"abc"');
  const ts = await stage('dup.jsonl', jsonl, 'typescript');
  const sql = await stage('dup.jsonl', jsonl, 'sql');
  assert.deepEqual(sql.rejects, ts.rejects);
  assert.equal(sql.observations, ts.observations);
  const csv = NAMES_CSV.replace('numer_sta;date;pmer', 'numer_sta;date;pmer;pmer')
    .replace(/;101720;/, ';101720;1;')
    .replace(/;101750;/, ';101750;2;');
  const c = await stage('dup.csv', csv);
  assert.equal(c.observations, 2);
  assert.ok(
    c.rejects.some((x) => x.field === 'pmer' && /unknown column/.test(x.reason)),
    'a repeated column is reported, not merged',
  );
});

test('synop: formula-looking cells are text: rejected where a number is due, kept as text where text is', async () => {
  const cell = (f: string) => (/[";]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f);
  const lines = FORMULA_LOOKING.map((f, i) => `07015;2024-07-0${i + 1}T00:00:00Z;${cell(f)};${cell(f)}`);
  for (const path of ['typescript', 'sql'] as const) {
    const r = await stage('formulas.csv', `numer_sta;date;t;nom\n${lines.join('\n')}\n`, path);
    assert.equal(r.observations, FORMULA_LOOKING.length);
    const t = r.rejects.filter((x) => x.field === 't' && x.reason === 'not a number').map((x) => x.value);
    assert.deepEqual(
      t,
      FORMULA_LOOKING.filter((f) => Number.isNaN(Number(f))),
      'formula-looking numbers are rejected with their text',
    );
    const names = await session.rows<{ nom: string }>(`SELECT nom FROM ${RUN_OBS} ORDER BY observed_at`);
    assert.deepEqual(
      names.map((n) => n.nom),
      FORMULA_LOOKING,
      'text fields keep the formula-looking text as it was',
    );
  }
});

test('synop: a 50 MB line without a newline is one reject, in bounded time and memory', async () => {
  const big = 'x'.repeat(50 << 20);
  const cases: [string, string][] = [
    ['huge.jsonl', `{"numer_sta":"07015","date":"${big}`],
    ['huge-closed.jsonl', `{"numer_sta":"07015","date":"${big}"}`],
    ['huge.csv', `numer_sta;date\n07015;${big}`],
    ['huge-header.csv', big],
    ['huge.json', `[{"numer_sta":"07015","date":"${big}"}]`],
  ];
  for (const [name, text] of cases) {
    const rss = peakRssMb();
    const t0 = performance.now();
    // Linear in the line's length (csv-parse reads ~10–50 MB/s here): generous for a loaded machine.
    const r = await stage(name, text, 'auto', 30_000);
    const grew = peakRssMb() - rss;
    console.log(
      `# ${name}: ${Math.round(performance.now() - t0)} ms, peak RSS +${Math.round(grew)} MB, ${r.rejects.length} reject(s): ${r.rejects[0]?.reason.slice(0, 80)}`,
    );
    assert.ok(r.rejects.length >= 1, `${name}: a 50 MB line read without a reject`);
    assert.ok(grew < 800, `${name}: peak memory grew by ${Math.round(grew)} MB`);
  }
});
