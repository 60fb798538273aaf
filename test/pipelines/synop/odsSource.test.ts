import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Orchestrator } from '../../../src/orchestrator/orchestrator.js';
import { executeRun } from '../../../src/orchestrator/runner.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { defaultPartition } from '../../../src/time/days.js';
import { listRawFiles } from '../../../src/lake/raw.js';
import { PIPELINES } from '../../../src/pipelines/index.js';
import { synopPipeline } from '../../../src/pipelines/synop/pipeline.js';
import { SYNOP_DATASET, synopWindow } from '../../../src/pipelines/synop/odsSource.js';
import { startOdsServer, synopRecords, type OdsStandIn } from '../../helpers/odsServer.js';
import { tempHome, withPlatform as withHomePlatform } from '../../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';
import { ecluseAsync as ecluse } from '../../helpers/cli.js';

// 3 stations every 3 hours from 2024-01-10 00:00 UTC for 10 days: 24 records per UTC day.
const RECORDS = synopRecords(240, '2024-01-10T00:00:00Z');

/** Records of a Europe/Paris day (UTC+1 in January): from 23:00 UTC the day before. */
function recordsOfParisDay(day: string) {
  const from = Date.parse(`${day}T00:00:00+01:00`);
  const to = from + 86_400_000;
  return RECORDS.filter((r) => {
    const at = Date.parse(String(r.date));
    return at >= from && at < to;
  });
}

const latestOf = (day: string) =>
  recordsOfParisDay(day)
    .map((r) => String(r.date))
    .sort((a, b) => Date.parse(a) - Date.parse(b))
    .at(-1);

describe('synop window', () => {
  test('a day is its Europe/Paris bounds; a scheduled run with a lagging cursor starts after it', () => {
    const w = synopWindow({ partition: '2024-01-15', trigger: 'cli' }, null);
    assert.equal(w.where, "date >= date'2024-01-14T23:00:00.000Z' AND date < date'2024-01-15T23:00:00.000Z'");
    assert.equal(w.fromCursor, false);
    const s = synopWindow({ partition: '2024-01-15', trigger: 'schedule' }, '2024-01-12T21:00:00+00:00');
    assert.equal(s.where, "date > date'2024-01-12T21:00:00+00:00' AND date < date'2024-01-15T23:00:00.000Z'");
    assert.equal(s.fromCursor, true);
    // A backfill of an older day is its own day, whatever the cursor says.
    assert.equal(synopWindow({ partition: '2024-01-11', trigger: 'backfill' }, '2024-01-12T21:00:00+00:00').fromCursor, false);
    assert.throws(() => synopWindow({ partition: 'adhoc-3', trigger: 'cli' }, null), /not a day/);
  });
});

for (const setup of SETUPS) {
  describe(`synop from OpenDataSoft on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    let ods: OdsStandIn;
    before(async () => {
      ods = await startOdsServer({ [SYNOP_DATASET]: { records: RECORDS } });
    });
    after(async () => ods.close());

    const withPlatform = async <T>(home: string, fn: (p: Platform) => Promise<T>) =>
      withHomePlatform(home, fn, { ...(await envOf(home)), ECLUSE_ODS_URL: ods.url });
    const cursorOf = (home: string) =>
      withPlatform(home, async (p) => (await p.warehouse.query(`SELECT cursor, run_id FROM cursors WHERE pipeline = 'synop'`))[0] ?? null);
    const count = (home: string, table: string) =>
      withPlatform(home, async (p) => Number((await p.warehouse.query(`SELECT count(*) AS n FROM ${table}`))[0]?.n));

    test('a partition run fetches its day, stores it raw, stages and curates; the cursor commits with the data; a rerun writes nothing', async () => {
      const home = await tempHome();
      const day = '2024-01-15';
      const expected = recordsOfParisDay(day);
      assert.equal(expected.length, 24);

      const first = await withPlatform(home, (p) => executeRun(p, synopPipeline, { partition: day, trigger: 'cli' }));
      assert.equal(first.status, 'succeeded', first.error ?? '');
      assert.equal(first.partition, day);
      assert.equal(first.rows_written, 24);
      assert.equal(await count(home, 'observations'), 24);
      // 3 stations × the Paris day (their UTC records all fall on it).
      assert.equal(await count(home, `daily_city_stats WHERE day = '${day}'`), 3);
      const cursor = await cursorOf(home);
      assert.equal(cursor?.cursor, latestOf(day));
      assert.equal(Number(cursor?.run_id), first.run_id);
      const raw = await withPlatform(home, (p) => listRawFiles(p.lake, 'synop'));
      assert.deepEqual(
        raw.map((f) => [f.source, f.originalName]),
        [['opendatasoft', 'synop-2024-01-15.jsonl']],
      );

      const again = await withPlatform(home, (p) => executeRun(p, synopPipeline, { partition: day, trigger: 'cli' }));
      assert.equal(again.status, 'succeeded', again.error ?? '');
      assert.equal(again.rows_written, 0);
      assert.equal(again.files_skipped, 1);
      assert.equal(await count(home, 'observations'), 24);

      // A run that dies before its commit leaves neither data nor cursor behind.
      const stop = new AbortController();
      const dead = await withPlatform(home, (p) =>
        executeRun(
          p,
          synopPipeline,
          { partition: '2024-01-16', trigger: 'cli' },
          (e) => {
            if (e.step === 'load') stop.abort(new Error('simulated crash before the commit'));
          },
          { signal: stop.signal },
        ),
      );
      assert.equal(dead.status, 'failed');
      assert.equal(await count(home, 'observations'), 24);
      assert.equal((await cursorOf(home))?.cursor, latestOf(day));

      // The scheduled tick of the 18th catches up from the cursor: the 16th, 17th and 18th in one window.
      const scheduled = await withPlatform(home, (p) => executeRun(p, synopPipeline, { partition: '2024-01-18', trigger: 'schedule' }));
      assert.equal(scheduled.status, 'succeeded', scheduled.error ?? '');
      assert.equal(scheduled.rows_written, 72);
      assert.equal((await cursorOf(home))?.cursor, latestOf('2024-01-18'));
      const last = ods.requests.at(-1)!;
      assert.match(last.searchParams.get('where') ?? '', /^date > date'/);
      assert.equal(last.searchParams.get('timezone'), 'UTC');

      // A backfill of an earlier day loads it and leaves the later cursor where it is.
      const older = await withPlatform(home, (p) => executeRun(p, synopPipeline, { partition: '2024-01-12', trigger: 'backfill' }));
      assert.equal(older.rows_written, 24);
      assert.equal((await cursorOf(home))?.cursor, latestOf('2024-01-18'));

      // A day with nothing published yet: a succeeded run with no file, the cursor unmoved.
      const empty = await withPlatform(home, (p) => executeRun(p, synopPipeline, { partition: '2030-01-01', trigger: 'cli' }));
      assert.equal(empty.status, 'succeeded', empty.error ?? '');
      assert.deepEqual([empty.files, empty.rows_written, empty.rows_rejected], [0, 0, 0]);
      assert.equal((await cursorOf(home))?.cursor, latestOf('2024-01-18'));
    });

    test('a 4xx answer fails the run with the portal’s error, once (not retried)', async () => {
      const home = await tempHome();
      ods.failNext(1, { status: 400, errorCode: 'ODSQLError', message: 'Invalid query: unknown field date' });
      const before = ods.requests.length;
      const summary = await withPlatform(home, (p) =>
        new Orchestrator(p, PIPELINES, { maxAttempts: 3, backoffMs: 1 }).runPartition(synopPipeline, '2024-01-15', 'schedule'),
      );
      assert.equal(summary.status, 'failed');
      assert.match(summary.error ?? '', /400: ODSQLError: Invalid query: unknown field date/);
      assert.equal(ods.requests.length - before, 1, 'one request: a 4xx is neither retried by the client nor by the orchestrator');
      const runs = await withPlatform(home, (p) => p.warehouse.listRuns({ pipeline: 'synop', limit: 10, offset: 0 }));
      assert.equal(runs.total, 1);
      assert.equal(await cursorOf(home), null);
    });
  });
}

describe('ecluse run synop --from/--to', () => {
  let ods: OdsStandIn;
  before(async () => {
    ods = await startOdsServer({ [SYNOP_DATASET]: { records: RECORDS } });
  });
  after(async () => ods.close());

  test('backfills one partition a day; rerunning skips them', async () => {
    const home = await tempHome();
    const env = { ECLUSE_ODS_URL: ods.url };
    const r = await ecluse(home, ['run', 'synop', '--from', '2024-01-12', '--to', '2024-01-14', '--json'], env);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { partitions: number; succeeded: number; results: { partition: string; status: string }[] };
    assert.equal(summary.partitions, 3);
    assert.equal(summary.succeeded, 3);
    assert.deepEqual(
      summary.results.map((x) => x.partition),
      ['2024-01-12', '2024-01-13', '2024-01-14'],
    );
    const n = await withHomePlatform(home, async (p) => Number((await p.warehouse.query(`SELECT count(*) AS n FROM observations`))[0]?.n));
    assert.equal(n, 72);
    const again = JSON.parse((await ecluse(home, ['run', 'synop', '--from', '2024-01-12', '--to', '2024-01-14', '--json'], env)).stdout) as { skipped: number };
    assert.equal(again.skipped, 3);
  });

  test('without --input or days: the partition of yesterday (Europe/Paris)', async () => {
    const home = await tempHome();
    const r = await ecluse(home, ['run', 'synop', '--json'], { ECLUSE_ODS_URL: ods.url });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { partition: string; status: string; trigger: string };
    assert.deepEqual([summary.partition, summary.status], [defaultPartition(), 'succeeded']);
  });

  test('--from/--to with --input, another pipeline or one bound only: usage errors', async () => {
    const home = await tempHome();
    const withInput = await ecluse(home, ['run', 'synop', '--from', '2024-01-12', '--to', '2024-01-14', '--input', 'x.jsonl']);
    assert.equal(withInput.status, 2);
    assert.match(withInput.stderr, /--input/);
    const stations = await ecluse(home, ['run', 'stations', '--from', '2024-01-12', '--to', '2024-01-14']);
    assert.equal(stations.status, 2);
    assert.match(stations.stderr, /stations has no source to fetch days from/);
    const half = await ecluse(home, ['run', 'synop', '--from', '2024-01-12']);
    assert.equal(half.status, 2);
    assert.match(half.stderr, /--from and --to go together/);
    const secret = await ecluse(home, ['run', 'synop', '--staging', 'postgres://u:hunter2@h/db']);
    assert.equal(secret.status, 2);
    assert.doesNotMatch(secret.stderr, /hunter2/);
  });
});
