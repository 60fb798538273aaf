import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSynop } from '../../../src/connectors/generators/synop.js';
import { DuckSession, literal } from '../../../src/engine/duckdb.js';
import { datasetPrefix } from '../../../src/lake/layout.js';
import { withLocalFiles } from '../../../src/lake/localFiles.js';
import { executeRun } from '../../../src/orchestrator/runner.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { DAILY_STATS_COLUMNS, dailyStatsSql } from '../../../src/pipelines/synop/dailyStats.js';
import { synopPipeline } from '../../../src/pipelines/synop/pipeline.js';
import { PIPELINES } from '../../../src/pipelines/index.js';
import { tempHome, withPlatform as withHomePlatform } from '../../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';
import { ecluse } from '../../helpers/cli.js';
import { resetPipeline } from '../../../src/pipelines/kit/reset.js';

/** Generated JSONL lines, each with its parsed record. */
interface Line {
  text: string;
  rec: { numer_sta: string; date: string; t: number | null; tc: number | null };
}

async function generated(dir: string, from: string, to: string): Promise<Line[]> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `gen-${from}-${to}.jsonl`);
  await writeSynop(path, 'jsonl', { stations: 3, from, to, seed: 7 });
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => ({ text: l, rec: JSON.parse(l) as Line['rec'] }));
}

async function writeLines(path: string, lines: readonly string[]): Promise<string> {
  await writeFile(path, lines.join('\n') + '\n');
  return path;
}

const keyOf = (r: Line['rec']) => `${r.numer_sta}|${new Date(r.date).toISOString().slice(0, 19)}Z`;

/** Plain, comparable stats rows: the day as `YYYY-MM-DD`, numbers rounded past float noise (PostgreSQL vs DuckDB sums). */
function normalise(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((r) =>
    Object.fromEntries(
      DAILY_STATS_COLUMNS.map((c) => {
        const v = r[c];
        if (c === 'day') return [c, String(v).slice(0, 10)];
        if (typeof v === 'number' || typeof v === 'bigint') return [c, Math.round(Number(v) * 1e9) / 1e9];
        return [c, v ?? null];
      }),
    ),
  );
}

for (const setup of SETUPS) {
  describe(`synop pipeline on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    const withPlatform = async <T>(home: string, fn: (p: Platform) => Promise<T>) => withHomePlatform(home, fn, await envOf(home));
    const run = (home: string, inputs: string[]) => withPlatform(home, (p) => executeRun(p, synopPipeline, { inputs, trigger: 'cli' }));

    const observationsOf = (home: string) =>
      withPlatform(home, (p) =>
        p.warehouse.query(`SELECT numer_sta, observed_at, date, t, temperature_c, pmer, pressure_sea_hpa, rr3, precip_3h_mm, precip_3h_trace, nom, coordonnees
          FROM observations ORDER BY numer_sta, observed_at`),
      );
    const statsOf = async (home: string) =>
      normalise(
        await withPlatform(home, (p) =>
          p.warehouse.query(
            // The day as text: PostgreSQL's driver would give a DATE as a local-midnight Date.
            `SELECT ${DAILY_STATS_COLUMNS.map((c) => (c === 'day' ? 'CAST(day AS VARCHAR) AS day' : c)).join(', ')} FROM daily_city_stats ORDER BY numer_sta, day`,
          ),
        ),
      );

    /** Runs `sql` (with `{src}` for the files) over every Parquet file under a lake prefix. */
    const overLake = (home: string, prefix: string, sql: (src: string) => string) =>
      withPlatform(home, async (p) => {
        const keys = (await p.lake.list(prefix)).map((o) => o.key).sort();
        const engine = await DuckSession.open();
        try {
          return await withLocalFiles(p.lake, keys, (paths) =>
            engine.plainRows(sql(`read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false)`)),
          );
        } finally {
          engine.close();
        }
      });
    /** The independent computation: dailyStatsSql straight over every staging row of the lake. */
    const statsFromLake = async (home: string) =>
      normalise(
        await overLake(
          home,
          datasetPrefix('staging', 'observations'),
          (src) => `SELECT * FROM (${dailyStatsSql(`(SELECT * FROM ${src})`)}) ORDER BY numer_sta, day`,
        ),
      );

    test('is registered under its name with its default schedule (0 1 * * *, Europe/Paris)', () => {
      assert.equal(PIPELINES.get('synop'), synopPipeline);
      assert.deepEqual(synopPipeline.schedule, { cron: '0 1 * * *', timezone: 'Europe/Paris' });
    });

    test('a generated file loads into observations, the lake and daily stats; the same file again writes nothing', async () => {
      const home = await tempHome('ecluse-synop-');
      const lines = await generated(join(home, 'in'), '2024-03-25', '2024-04-03');
      const input = join(home, 'in', 'gen-2024-03-25-2024-04-03.jsonl');
      const first = await run(home, [input]);
      assert.equal(first.status, 'succeeded', first.error ?? '');
      assert.equal(first.files, 1);
      assert.equal(first.rows_read, lines.length);
      assert.equal(first.rows_written, lines.length);
      assert.equal(first.rows_rejected, 0);
      assert.equal(first.partition, `adhoc-${first.run_id}`);

      const obs = await observationsOf(home);
      assert.equal(obs.length, lines.length);
      const one = lines.find((l) => l.rec.t !== null)?.rec;
      assert.ok(one);
      const row = obs.find((o) => o.numer_sta === one.numer_sta && o.observed_at === keyOf(one).split('|')[1]);
      assert.ok(row, 'the first generated record is in observations');
      assert.equal(row.t, one.t);
      assert.equal(row.temperature_c, Math.round(((one.t as number) - 273.15) * 100) / 100);
      assert.equal(row.date, row.observed_at);
      assert.match(String(row.coordonnees), /^\d+\.\d+, \d+\.\d+$/);

      // Lake: one partition per UTC month, holding every row, sorted by station then time.
      const prefix = datasetPrefix('staging', 'observations');
      const keys = await withPlatform(home, async (p) => (await p.lake.list(prefix)).map((o) => o.key).sort());
      assert.deepEqual(keys, [`${prefix}month=2024-03/data.parquet`, `${prefix}month=2024-04/data.parquet`]);
      const counted = await overLake(home, prefix, (src) => `SELECT count(*) AS n FROM ${src}`);
      assert.equal(counted[0]?.n, lines.length);
      // One station's month read straight from its Parquet file gives the warehouse's rows, in order.
      const station = lines[0]?.rec.numer_sta as string;
      const fromFile = await withPlatform(home, (p) =>
        withLocalFiles(p.lake, [`${prefix}month=2024-03/data.parquet`], async ([path]) => {
          const engine = await DuckSession.open();
          try {
            return await engine.plainRows(
              `SELECT numer_sta, strftime(observed_at, '%Y-%m-%dT%H:%M:%SZ') AS at, t FROM read_parquet(${literal(path as string)}) WHERE numer_sta = ${literal(station)}`,
            );
          } finally {
            engine.close();
          }
        }),
      );
      const fromWarehouse = obs
        .filter((o) => o.numer_sta === station && String(o.observed_at).startsWith('2024-03'))
        .map((o) => ({ numer_sta: o.numer_sta, at: o.observed_at, t: o.t }));
      assert.ok(fromWarehouse.length > 0);
      assert.deepEqual(fromFile, fromWarehouse);

      // Curated: 10 Paris days × 3 stations, equal to the same SQL run independently over the staging rows.
      const stats = await statsOf(home);
      assert.equal(stats.length, 30);
      assert.deepEqual(stats, await statsFromLake(home));
      // 2024-03-31 is 23 hours long in Paris: still 8 three-hourly slots inside it.
      const dst = stats.filter((s) => s.day === '2024-03-31');
      const dstObs = (sta: string) => lines.filter((l) => l.rec.numer_sta === sta && l.rec.date.startsWith('2024-03-31')).length;
      for (const s of dst) assert.equal(s.completeness, dstObs(String(s.numer_sta)) / 8);
      // The curated partitions hold the same rows.
      const curated = normalise(await overLake(home, datasetPrefix('curated', 'daily_city_stats'), (src) => `SELECT * FROM ${src} ORDER BY numer_sta, day`));
      assert.deepEqual(curated, stats);

      const again = await run(home, [input]);
      assert.equal(again.status, 'succeeded', again.error ?? '');
      assert.equal(again.files, 0);
      assert.equal(again.files_skipped, 1);
      assert.equal(again.rows_written, 0);
      assert.deepEqual(await statsOf(home), stats);
    });

    test('under a configured memory_limit (run batch on disk, load steps one after the other) the same file gives the same tables and lake', async () => {
      const plain = await tempHome('ecluse-synop-plain-');
      const bounded = await tempHome('ecluse-synop-bounded-');
      await generated(join(plain, 'in'), '2024-03-25', '2024-04-03');
      const input = join(plain, 'in', 'gen-2024-03-25-2024-04-03.jsonl');
      const first = await run(plain, [input]);
      assert.equal(first.status, 'succeeded', first.error ?? '');
      const limited = { ...(await envOf(bounded)), ECLUSE_DUCKDB_MEMORY_LIMIT: '200MB' };
      const second = await withHomePlatform(
        bounded,
        async (p) => {
          const summary = await executeRun(p, synopPipeline, { inputs: [input], trigger: 'cli' });
          // The run's attached database is gone with the run (a server's engine lives on).
          const attached = await p.warehouse.query(`SELECT count(*) AS n FROM duckdb_databases() WHERE database_name = 'ecluse_synop_run'`).catch(() => null);
          if (attached) assert.equal(Number(attached[0]?.n), 0);
          return summary;
        },
        limited,
      );
      assert.equal(second.status, 'succeeded', second.error ?? '');
      assert.equal(second.rows_written, first.rows_written);
      assert.deepEqual(await observationsOf(bounded), await observationsOf(plain));
      assert.deepEqual(await statsOf(bounded), await statsOf(plain));
      const prefix = datasetPrefix('staging', 'observations');
      assert.deepEqual(
        await overLake(bounded, prefix, (src) => `SELECT count(*) AS n FROM ${src}`),
        await overLake(plain, prefix, (src) => `SELECT count(*) AS n FROM ${src}`),
      );
    });

    test('an overlapping file adds only new keys, first value wins, and the touched days are recomputed', async () => {
      const home = await tempHome('ecluse-synop-');
      const lines = await generated(join(home, 'gen'), '2024-03-25', '2024-04-03');
      const sta = lines[0]?.rec.numer_sta as string;
      // File A lacks two observations of one station on 2024-03-28 and the whole last day.
      const held = (l: Line) => (l.rec.numer_sta === sta && /^2024-03-28T(12|15)/.test(l.rec.date)) || l.rec.date.startsWith('2024-04-03');
      const a = lines.filter((l) => !held(l));
      const missing = lines.filter(held);
      assert.equal(missing.filter((l) => l.rec.date.startsWith('2024-03-28')).length, 2, 'the generator kept those two slots');
      // File B: the missing observations, plus a re-delivery of a known key with another temperature.
      const known = a.find((l) => l.rec.t !== null) as Line;
      const changed = JSON.stringify({ ...JSON.parse(known.text), t: 300.15 });
      await mkdir(join(home, 'in'), { recursive: true });
      const fileA = await writeLines(
        join(home, 'in', 'a.jsonl'),
        a.map((l) => l.text),
      );
      const fileB = await writeLines(join(home, 'in', 'b.jsonl'), [changed, ...missing.map((l) => l.text)]);

      const first = await run(home, [fileA]);
      assert.equal(first.rows_written, a.length, first.error ?? '');
      const before = await statsOf(home);
      const dayBefore = before.find((s) => s.numer_sta === sta && s.day === '2024-03-28');
      assert.equal(dayBefore?.observations, 6);
      assert.equal(before.filter((s) => s.day === '2024-04-03').length, 0);

      const second = await run(home, [fileB]);
      assert.equal(second.status, 'succeeded', second.error ?? '');
      assert.equal(second.rows_read, missing.length + 1);
      assert.equal(second.rows_written, missing.length);
      const obs = await observationsOf(home);
      assert.equal(obs.length, lines.length);
      const kept = obs.find((o) => `${String(o.numer_sta)}|${String(o.observed_at)}` === keyOf(known.rec));
      assert.equal(kept?.t, known.rec.t, 'the first delivered value stays');

      const after = await statsOf(home);
      const dayAfter = after.find((s) => s.numer_sta === sta && s.day === '2024-03-28');
      assert.equal(dayAfter?.observations, 8);
      assert.equal(dayAfter?.completeness, 1);
      assert.equal(after.filter((s) => s.day === '2024-04-03').length, 3);
      // Replaced, never appended: one row per key, equal to the independent computation over staging.
      assert.equal(after.length, 30);
      assert.deepEqual(after, await statsFromLake(home));
      // Days the second file did not touch are as they were.
      const untouched = (rows: typeof after) => rows.filter((s) => s.day === '2024-03-26');
      assert.deepEqual(untouched(after), untouched(before));
    });

    test('runs in one process reuse the engine session: a run with duplicate keys, then one without', async () => {
      const home = await tempHome('ecluse-synop-');
      const lines = await generated(join(home, 'gen'), '2024-10-05', '2024-10-06');
      await mkdir(join(home, 'in'), { recursive: true });
      const dup = await writeLines(
        join(home, 'in', 'dup.jsonl'),
        [...lines.slice(0, 10), ...lines.slice(5, 10)].map((l) => l.text),
      );
      const rest = await writeLines(
        join(home, 'in', 'rest.jsonl'),
        lines.slice(10).map((l) => l.text),
      );
      const [a, b] = await withPlatform(home, async (p) => [
        await executeRun(p, synopPipeline, { inputs: [dup], trigger: 'cli' }),
        await executeRun(p, synopPipeline, { inputs: [rest], trigger: 'cli' }),
      ]);
      assert.equal(a?.status, 'succeeded', a?.error ?? '');
      assert.equal(a?.rows_read, 15);
      assert.equal(a?.rows_written, 10);
      assert.equal(b?.status, 'succeeded', b?.error ?? '');
      assert.equal(b?.rows_written, lines.length - 10);
      assert.equal((await observationsOf(home)).length, lines.length);
    });

    test('bad input is explained and the rest is loaded', async () => {
      const home = await tempHome('ecluse-synop-');
      const lines = await generated(join(home, 'gen'), '2024-10-05', '2024-10-05');
      const bad = JSON.stringify({ ...JSON.parse(lines[0]?.text as string), t: 'warm' });
      const truncated = (lines[1]?.text as string).slice(0, 80);
      await mkdir(join(home, 'in'), { recursive: true });
      const jsonl = await writeLines(join(home, 'in', 'mixed.jsonl'), [bad, truncated, ...lines.slice(2).map((l) => l.text)]);
      const commas = await writeLines(join(home, 'in', 'commas.csv'), ['numer_sta,date,t', '07005,2024-10-05T00:00:00Z,280']);
      const s = await run(home, [jsonl, commas]);
      assert.equal(s.status, 'succeeded', s.error ?? '');
      assert.equal(s.files, 2);
      assert.equal(s.rows_written, lines.length - 1); // all but the truncated line; the bad t is nulled
      assert.equal(s.values_rejected, 1);
      assert.equal(s.rows_rejected, 2); // the truncated line, the unreadable file
      const rejects = await withPlatform(home, (p) => p.warehouse.listRejects({ runId: s.run_id }));
      assert.ok(rejects.items.some((r) => r.file === 'mixed.jsonl' && r.row === 1 && r.field === 't' && r.value === 'warm' && !r.whole_record));
      assert.ok(rejects.items.some((r) => r.file === 'mixed.jsonl' && r.row === 2 && r.reason === 'truncated JSON line' && r.whole_record));
      assert.ok(rejects.items.some((r) => r.file === 'commas.csv' && /expected ';'/.test(r.reason)));
      const first = lines[0]?.rec as Line['rec'];
      const obs = await observationsOf(home);
      const nulled = obs.find((o) => `${String(o.numer_sta)}|${String(o.observed_at)}` === keyOf(first));
      assert.ok(nulled);
      assert.equal(nulled.t, null);
      // tc still gives the temperature: the conversion falls back on it.
      assert.equal(nulled.temperature_c, first.tc === null ? null : Math.round(first.tc * 100) / 100);
    });

    test('rebuild from the raw zone alone gives the same tables', async () => {
      const home = await tempHome('ecluse-synop-');
      const lines = await generated(join(home, 'gen'), '2024-03-29', '2024-04-02');
      await mkdir(join(home, 'in'), { recursive: true });
      const fileA = await writeLines(
        join(home, 'in', 'a.jsonl'),
        lines.slice(0, 60).map((l) => l.text),
      );
      const reDelivered = JSON.stringify({ ...JSON.parse(lines[0]?.text as string), t: 250 });
      const fileB = await writeLines(join(home, 'in', 'b.jsonl'), [reDelivered, ...lines.slice(50).map((l) => l.text)]);
      await run(home, [fileA]);
      await run(home, [fileB]);
      const obsBefore = await observationsOf(home);
      const statsBefore = await statsOf(home);
      assert.equal(obsBefore.length, lines.length);
      const summary = await withPlatform(home, async (p) => {
        await resetPipeline(p, synopPipeline);
        assert.equal((await p.warehouse.query('SELECT count(*) AS n FROM observations'))[0]?.n, 0);
        assert.equal((await p.warehouse.query('SELECT count(*) AS n FROM daily_city_stats'))[0]?.n, 0);
        assert.equal((await p.lake.list(datasetPrefix('staging', 'observations'))).length, 0);
        return executeRun(p, synopPipeline, { trigger: 'rebuild', partition: 'rebuild' });
      });
      assert.equal(summary.status, 'succeeded', summary.error ?? '');
      assert.equal(summary.files, 2);
      assert.deepEqual(await observationsOf(home), obsBefore);
      assert.deepEqual(await statsOf(home), statsBefore);
    });

    // Without --input a run reads OpenDataSoft (test/pipelines/synop/odsSource.test.ts); a partition that is not a day fails before any request.
    test('without --input a partition that is not a day fails saying so', async () => {
      const home = await tempHome('ecluse-synop-');
      const s = await withPlatform(home, (p) => executeRun(p, synopPipeline, { partition: 'someday', trigger: 'cli' }));
      assert.equal(s.status, 'failed');
      assert.match(s.error ?? '', /partition "someday" is not a day/);
    });
  });
}

describe('ecluse generate synop', () => {
  test('writes a labels CSV with Paris offsets that the pipeline reads back whole; bad options exit 2', async () => {
    const home = await tempHome('ecluse-synop-cli-');
    const out = join(home, 'drop', 'week.csv');
    const gen = ecluse(home, [
      'generate',
      'synop',
      '--stations',
      '2',
      '--from',
      '2024-10-26',
      '--to',
      '2024-10-28',
      '--format',
      'csv-labels',
      '--timezone',
      'Europe/Paris',
      '--out',
      out,
    ]);
    assert.equal(gen.status, 0, gen.stderr);
    const m = /wrote (\d+) observations \(2 stations, 2024-10-26 to 2024-10-28, csv-labels\)/.exec(gen.stdout);
    assert.ok(m, gen.stdout);
    const text = await readFile(out, 'utf8');
    assert.ok(text.startsWith('\uFEFFID OMM station;Date;'), 'a labels header');
    assert.match(text, /2024-10-26T02:00:00\+02:00/);
    const s = await withHomePlatform(home, (p) => executeRun(p, synopPipeline, { inputs: [out], trigger: 'cli' }));
    assert.equal(s.status, 'succeeded', s.error ?? '');
    assert.equal(s.rows_written, Number(m[1]));
    assert.equal(s.rows_rejected, 0);
    const first = await withHomePlatform(home, (p) => p.warehouse.query(`SELECT observed_at FROM observations ORDER BY observed_at LIMIT 1`));
    assert.equal(first[0]?.observed_at, '2024-10-26T00:00:00Z');

    for (const args of [
      ['--from', '2024-10-28', '--to', '2024-10-26'],
      ['--from', '2024-10-26', '--to', '2024-10-28', '--format', 'xml'],
      ['--from', '2024-10-26', '--to', '2024-10-28', '--stations', '64'],
      ['--to', '2024-10-28'],
    ]) {
      const r = ecluse(home, ['generate', 'synop', ...args, '--out', join(home, 'x.jsonl')]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /--(to|format|stations|from)/);
    }
  });
});
