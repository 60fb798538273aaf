import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeEco2mix } from '../../../src/connectors/generators/eco2mix.js';
import { OdsSourceError } from '../../../src/connectors/opendatasoft/window.js';
import { listRawFiles } from '../../../src/lake/raw.js';
import { Orchestrator } from '../../../src/orchestrator/orchestrator.js';
import { executeRun, isRetryable } from '../../../src/orchestrator/runner.js';
import { effectiveSchedules } from '../../../src/orchestrator/scheduler.js';
import { eco2mixPipeline } from '../../../src/pipelines/eco2mix/pipeline.js';
import { ECO2MIX_FEEDS, eco2mixWindow, fetchEco2mixWindow, maintenanceHint } from '../../../src/pipelines/eco2mix/source.js';
import { PIPELINES } from '../../../src/pipelines/index.js';
import { feedNamed } from '../../../src/pipelines/kit/feeds.js';
import type { Platform, RunContext } from '../../../src/pipelines/kit/pipeline.js';
import { startOdsServer, type OdsFixtureRecord, type OdsStandIn } from '../../helpers/odsServer.js';
import { tempHome, withPlatform as withHomePlatform } from '../../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';
import { ecluse, ecluseAsync } from '../../helpers/cli.js';

const [TR, CONS_DEF] = ECO2MIX_FEEDS as [(typeof ECO2MIX_FEEDS)[number], (typeof ECO2MIX_FEEDS)[number]];
const TR_DATASET = 'eco2mix-regional-tr';
const CONS_DEF_DATASET = 'eco2mix-regional-cons-def';

/** Records as the portal serves them: the generator's JSONL, one object per line. */
async function generated(dir: string, opts: Parameters<typeof writeEco2mix>[2]): Promise<OdsFixtureRecord[]> {
  const path = join(dir, `${opts.dataset}-${opts.from}-${opts.to}.jsonl`);
  await writeEco2mix(path, 'jsonl', opts);
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as OdsFixtureRecord);
}

const MW_FIELDS = ['consommation', 'thermique', 'nucleaire', 'eolien', 'solaire', 'hydraulique', 'pompage', 'bioenergies', 'ech_physiques'];
const hasValue = (r: OdsFixtureRecord) => MW_FIELDS.some((f) => r[f] !== null && r[f] !== '' && r[f] !== '-' && r[f] !== 'ND');

describe('eco2mix feeds and windows', () => {
  test('real time by Paris day, consolidated by Paris month; a name the pipeline does not know is a usage error', () => {
    assert.equal(TR.partitionAt(new Date('2024-03-31T22:30:00Z')), '2024-04-01');
    assert.equal(CONS_DEF.partitionAt(new Date('2024-03-31T22:30:00Z')), 'cons-def:2024-04');
    assert.deepEqual(CONS_DEF.partitionsBetween('2023-11-15', '2024-02-01'), ['cons-def:2023-11', 'cons-def:2023-12', 'cons-def:2024-01', 'cons-def:2024-02']);
    assert.deepEqual(TR.partitionsBetween('2024-02-28', '2024-03-01'), ['2024-02-28', '2024-02-29', '2024-03-01']);
    assert.equal(CONS_DEF.owns('cons-def:2024-13'), false);
    assert.equal(TR.owns('cons-def:2024-03'), false);
    assert.equal(feedNamed(eco2mixPipeline, undefined)?.name, 'tr');
    assert.equal(feedNamed(eco2mixPipeline, 'cons-def')?.name, 'cons-def');
    assert.throws(() => feedNamed(eco2mixPipeline, 'def'), /--dataset must be one of tr, cons-def/);
    assert.throws(() => feedNamed(PIPELINES.get('synop')!, 'tr'), /synop fetches one dataset/);
  });

  test('a month is its Paris bounds (DST included); a scheduled run with a cursor starts after it; a backfill fetches its whole partition', () => {
    const month = eco2mixWindow({ partition: 'cons-def:2024-03', trigger: 'backfill' }, () => '2024-03-20T10:00:00+00:00');
    assert.equal(month.where, "date_heure >= date'2024-02-29T23:00:00.000Z' AND date_heure < date'2024-03-31T22:00:00.000Z'");
    const day = eco2mixWindow({ partition: '2024-10-27', trigger: 'cli' }, () => null);
    assert.equal(day.where, "date_heure >= date'2024-10-26T22:00:00.000Z' AND date_heure < date'2024-10-27T23:00:00.000Z'");
    const tick = eco2mixWindow({ partition: '2024-10-27', trigger: 'schedule' }, (f) => (f.name === 'tr' ? '2024-10-27T08:45:00+00:00' : null));
    assert.equal(tick.where, "date_heure > date'2024-10-27T08:45:00+00:00' AND date_heure < date'2024-10-27T23:00:00.000Z'");
    assert.equal(tick.fromCursor, true);
    // A run asked for without a partition fetches today's real-time slots.
    assert.equal(eco2mixWindow({ trigger: 'api' }, () => null, new Date('2024-06-01T12:00:00Z')).partition, '2024-06-01');
    assert.throws(() => eco2mixWindow({ partition: 'adhoc-4', trigger: 'cli' }, () => null), /neither a day/);
  });

  test('two schedules, each overridable by name; the first also by the pipeline’s name', () => {
    const schedules = (config: Record<string, { cron?: string; timezone: string; enabled: boolean }>) =>
      effectiveSchedules(eco2mixPipeline, { schedules: config } as unknown as Parameters<typeof effectiveSchedules>[1]).map((s) => [s.feed, s.cron, s.enabled]);
    assert.deepEqual(schedules({}), [
      ['tr', '*/15 * * * *', true],
      ['cons-def', '30 5 * * *', true],
    ]);
    assert.deepEqual(
      schedules({ eco2mix: { timezone: 'Europe/Paris', enabled: false }, 'eco2mix:cons-def': { cron: '0 7 * * *', timezone: 'UTC', enabled: true } }),
      [
        ['tr', '*/15 * * * *', false],
        ['cons-def', '0 7 * * *', true],
      ],
    );
  });

  test('the nightly maintenance is named in a failure around it', () => {
    assert.match(maintenanceHint(new Date('2024-06-01T22:20:00Z')) ?? '', /maintenance around 00:00–01:00/);
    assert.equal(maintenanceHint(new Date('2024-06-01T10:00:00Z')), undefined);
  });
});

for (const setup of SETUPS) {
  describe(`eco2mix from the portal on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    let ods: OdsStandIn;
    let trRecords: OdsFixtureRecord[];
    let consRecords: OdsFixtureRecord[];
    /** What the stand-in serves of the real-time dataset: the morning first, the rest pushed later. */
    const trServed: OdsFixtureRecord[] = [];
    // Today is 2024-06-12 in Paris, 14:10: the real-time slots after 14:00 are published empty.
    const now = Date.parse('2024-06-12T12:10:00Z');
    before(async () => {
      const dir = await tempHome();
      trRecords = await generated(dir, { regions: 'all', from: '2024-06-12', to: '2024-06-12', dataset: 'tr', now });
      trServed.push(...trRecords.filter((r) => Date.parse(String(r.date_heure)) < Date.parse('2024-06-12T08:00:00Z')));
      consRecords = await generated(dir, { regions: 'all', from: '2024-03-01', to: '2024-04-30', dataset: 'cons-def', now });
      ods = await startOdsServer({
        // The portal publishes the morning first; the afternoon comes later in the test.
        [TR_DATASET]: { records: trServed, dateField: 'date_heure' },
        [CONS_DEF_DATASET]: { records: consRecords, dateField: 'date_heure' },
      });
    });
    after(async () => ods.close());

    const withPlatform = async <T>(home: string, fn: (p: Platform) => Promise<T>) =>
      withHomePlatform(home, fn, { ...(await envOf(home)), ECLUSE_ECO2MIX_URL: ods.url });
    const cursors = (home: string) =>
      withPlatform(home, async (p) =>
        Object.fromEntries(
          (await p.warehouse.query(`SELECT source, cursor FROM cursors WHERE pipeline = 'eco2mix' ORDER BY source`)).map((r) => [r.source, r.cursor]),
        ),
      );
    const count = (home: string, sql: string) => withPlatform(home, async (p) => Number((await p.warehouse.query(sql))[0]?.n));

    test('real time: a day fetched with its empty future slots skipped; the next tick fetches after the cursor only; a rerun writes nothing', async () => {
      const home = await tempHome();
      const morning = [...trServed];
      const first = await withPlatform(home, (p) => executeRun(p, eco2mixPipeline, { partition: '2024-06-12', trigger: 'cli' }));
      assert.equal(first.status, 'succeeded', first.error ?? '');
      assert.equal(first.rows_written, morning.filter(hasValue).length);
      const latest = morning
        .filter(hasValue)
        .reduce((a, r) => (Date.parse(String(r.date_heure)) > Date.parse(a) ? String(r.date_heure) : a), '1970-01-01T00:00:00Z');
      assert.equal((await cursors(home))[TR_DATASET], latest);
      const raw = await withPlatform(home, (p) => listRawFiles(p.lake, 'eco2mix'));
      assert.deepEqual(
        raw.map((f) => f.originalName),
        ['eco2mix-tr-2024-06-12.jsonl'],
      );

      // The portal publishes the rest of the day (values up to 14:00 Paris, empty slots after).
      trServed.push(...trRecords.filter((r) => Date.parse(String(r.date_heure)) >= Date.parse('2024-06-12T08:00:00Z')));
      const before = ods.requests.length;
      const tick = await withPlatform(home, (p) => executeRun(p, eco2mixPipeline, { partition: '2024-06-12', trigger: 'schedule' }));
      assert.equal(tick.status, 'succeeded', tick.error ?? '');
      const asked = ods.requests.slice(before).map((u) => u.searchParams.get('where') ?? '');
      assert.ok(
        asked.every((w) => w.startsWith(`date_heure > date'${latest}'`)),
        asked.join(' | '),
      );
      const withValues = trRecords.filter(hasValue);
      assert.ok(withValues.length < trRecords.length, 'the fixture has empty future slots');
      assert.equal(await count(home, `SELECT count(*) AS n FROM regional_observations`), withValues.length);
      const dayLatest = withValues.map((r) => String(r.date_heure)).sort((a, b) => Date.parse(a) - Date.parse(b));
      assert.equal(Date.parse(String((await cursors(home))[TR_DATASET])), Date.parse(dayLatest.at(-1)!));

      const again = await withPlatform(home, (p) => executeRun(p, eco2mixPipeline, { partition: '2024-06-12', trigger: 'cli' }));
      assert.equal(again.status, 'succeeded', again.error ?? '');
      assert.equal(again.rows_written, 0);
    });

    test('consolidated: a backfill runs a partition a month (exports past the records ceiling), each fetched whole', async () => {
      const home = await tempHome();
      const before = ods.requests.length;
      const summary = await withPlatform(home, (p) =>
        new Orchestrator(p, PIPELINES, { maxAttempts: 1 }).backfill(eco2mixPipeline, '2024-03-10', '2024-04-02', { feed: CONS_DEF }),
      );
      assert.deepEqual(
        summary.results.map((r) => [r.partition, r.status]),
        [
          ['cons-def:2024-03', 'succeeded'],
          ['cons-def:2024-04', 'succeeded'],
        ],
        JSON.stringify(summary.results),
      );
      const paths = ods.requests.slice(before).map((u) => u.pathname.split('/').slice(-2).join('/'));
      assert.ok(paths.includes('exports/jsonl'), paths.join(', '));
      // A row per key: the spring DST day's repeated instants are counted once.
      const keys = new Set(consRecords.map((r) => `${r.code_insee_region} ${Date.parse(String(r.date_heure))}`));
      assert.ok(keys.size < consRecords.length, 'the fixture repeats keys on the spring DST day');
      assert.equal(await count(home, `SELECT count(*) AS n FROM regional_observations`), keys.size);
      assert.equal(await count(home, `SELECT count(DISTINCT period) AS n FROM regional_energy_stats WHERE grain = 'day'`), 61);
      assert.equal(Date.parse(String((await cursors(home))[CONS_DEF_DATASET])), Math.max(...consRecords.map((r) => Date.parse(String(r.date_heure)))));
      // Resumed: the months that succeeded are skipped.
      const again = await withPlatform(home, (p) =>
        new Orchestrator(p, PIPELINES, { maxAttempts: 1 }).backfill(eco2mixPipeline, '2024-03-01', '2024-04-30', { feed: CONS_DEF }),
      );
      assert.equal(again.skipped, 2);
    });

    test('a portal down (5xx after the client’s retries) fails retryably, with the portal’s answer; a 4xx is not retried', async () => {
      const home = await tempHome();
      await withPlatform(home, async (p) => {
        await eco2mixPipeline.createTables(p.warehouse);
        const ctx = { ...p, runId: 1, progress: () => {}, signal: new AbortController().signal } as unknown as RunContext;
        ods.failNext(2, { status: 503 });
        const down = await fetchEco2mixWindow(ctx, { partition: '2024-06-12', trigger: 'schedule' }, join(home, 'fetch'), { attempts: 2, backoffMs: 1 }).catch(
          (e: unknown) => e,
        );
        assert.ok(down instanceof OdsSourceError, String(down));
        assert.equal(isRetryable(down), true);
        assert.match(down.message, /eco2mix: OpenDataSoft eco2mix-regional-tr at .* answered 503/);
        ods.failNext(1, { status: 400, errorCode: 'ODSQLError', message: 'Invalid query' });
        const bad = await fetchEco2mixWindow(ctx, { partition: '2024-06-12', trigger: 'cli' }, join(home, 'fetch'), { attempts: 2, backoffMs: 1 }).catch(
          (e: unknown) => e,
        );
        assert.ok(bad instanceof OdsSourceError);
        assert.equal(isRetryable(bad), false);
      });
    });
  });
}

describe('ecluse run / generate / pipelines eco2mix', () => {
  test('generate writes both datasets in the formats asked; run --dataset cons-def --from/--to backfills by month; pipelines lists both schedules', async () => {
    const home = await tempHome();
    const out = join(home, 'gen', 'march.csv');
    const gen = ecluse(home, [
      'generate',
      'eco2mix',
      '--regions',
      '3',
      '--from',
      '2024-03-30',
      '--to',
      '2024-04-01',
      '--format',
      'csv-labels',
      '--layout',
      '2020',
      '--out',
      out,
    ]);
    assert.equal(gen.status, 0, gen.stderr);
    assert.match(gen.stdout, /wrote \d+ records \(cons-def, 3 regions, 2024-03-30 to 2024-04-01, csv-labels, 2020 layout\)/);
    const header = (await readFile(out, 'utf8')).split('\n')[0] ?? '';
    assert.match(header, /^\uFEFFCode INSEE région;Région;Nature;/);
    assert.match(header, /Import /, 'the 2020 layout');
    for (const args of [
      ['--from', '2024-03-30', '--to', '2024-03-01'],
      ['--from', '2024-03-30', '--to', '2024-04-01', '--regions', '13'],
      ['--from', '2024-03-30', '--to', '2024-04-01', '--dataset', 'def'],
    ]) {
      const r = ecluse(home, ['generate', 'eco2mix', ...args, '--out', join(home, 'x.jsonl')]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    }

    const dir = await tempHome();
    const records = await generated(dir, { regions: 2, from: '2024-03-30', to: '2024-04-01', dataset: 'cons-def' });
    const ods = await startOdsServer({ [CONS_DEF_DATASET]: { records, dateField: 'date_heure' }, [TR_DATASET]: { records: [], dateField: 'date_heure' } });
    try {
      const env = { ECLUSE_ECO2MIX_URL: ods.url };
      const r = await ecluseAsync(home, ['run', 'eco2mix', '--dataset', 'cons-def', '--from', '2024-03-30', '--to', '2024-04-01', '--json'], env);
      assert.equal(r.status, 0, r.stderr);
      const summary = JSON.parse(r.stdout) as { results: { partition: string; status: string }[] };
      assert.deepEqual(
        summary.results.map((x) => [x.partition, x.status]),
        [
          ['cons-def:2024-03', 'succeeded'],
          ['cons-def:2024-04', 'succeeded'],
        ],
      );
      const bad = await ecluseAsync(home, ['run', 'eco2mix', '--dataset', 'consolidated'], env);
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--dataset must be one of tr, cons-def/);
      const withInput = await ecluseAsync(home, ['run', 'eco2mix', '--dataset', 'tr', '--input', out], env);
      assert.equal(withInput.status, 2);
      // Today's real-time partition, with nothing published: a run that loads nothing.
      const today = await ecluseAsync(home, ['run', 'eco2mix', '--json'], env);
      assert.equal(today.status, 0, today.stderr);
      assert.match(JSON.parse(today.stdout).partition as string, /^\d{4}-\d{2}-\d{2}$/);
    } finally {
      await ods.close();
    }

    const listed = ecluse(home, ['pipelines', '--json']);
    assert.equal(listed.status, 0, listed.stderr);
    const eco2mix = (JSON.parse(listed.stdout) as { items: { name: string; schedules: { feed: string; cron: string }[] }[] }).items.find(
      (p) => p.name === 'eco2mix',
    );
    assert.deepEqual(
      eco2mix?.schedules.map((s) => [s.feed, s.cron]),
      [
        ['tr', '*/15 * * * *'],
        ['cons-def', '30 5 * * *'],
      ],
    );
    const table = ecluse(home, ['pipelines']);
    assert.match(table.stdout, /tr: \*\/15 \* \* \* \* \(Europe\/Paris\); cons-def: 30 5 \* \* \* \(Europe\/Paris\)/);
  });
});
