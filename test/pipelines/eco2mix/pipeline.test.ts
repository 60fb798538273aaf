import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckSession, literal } from '../../../src/engine/duckdb.js';
import { datasetPrefix } from '../../../src/lake/layout.js';
import { withLocalFiles } from '../../../src/lake/localFiles.js';
import { executeRun } from '../../../src/orchestrator/runner.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { resetPipeline } from '../../../src/pipelines/kit/reset.js';
import { eco2mixPipeline } from '../../../src/pipelines/eco2mix/pipeline.js';
import { PIPELINES } from '../../../src/pipelines/index.js';
import { tempHome, withPlatform as withHomePlatform } from '../../helpers/platform.js';
import { SETUPS, setupEnv, skipSetup } from '../../helpers/setups.js';

const TR = 'Données temps réel';
const CONS = 'Données consolidées';

/** Raw values as the portal writes them: numbers, numbers as strings, `""`, `"-"`, `"ND"`. */
type Raw = number | string | null;
interface Values {
  consommation?: Raw;
  nucleaire?: Raw;
  eolien?: Raw;
  solaire?: Raw;
  ech_physiques?: Raw;
  stockage_batterie?: Raw;
}

const NAMES: Record<string, string> = { '11': 'Île-de-France', '53': 'Bretagne' };

/** One record of an eco2mix JSONL export (field names, the trailing empty column included). */
function jsonRecord(region: string, nature: string, dateHeure: string, v: Values): string {
  return JSON.stringify({
    code_insee_region: region,
    libelle_region: NAMES[region],
    nature,
    date: dateHeure.slice(0, 10),
    heure: dateHeure.slice(11, 16),
    date_heure: dateHeure,
    consommation: v.consommation ?? null,
    thermique: null,
    nucleaire: v.nucleaire ?? null,
    eolien: v.eolien ?? null,
    solaire: v.solaire ?? null,
    hydraulique: null,
    pompage: null,
    bioenergies: null,
    ech_physiques: v.ech_physiques ?? null,
    stockage_batterie: v.stockage_batterie ?? null,
    destockage_batterie: null,
    eolien_terrestre: null,
    eolien_offshore: null,
    column_30: null,
  });
}

const LABELS = [
  'Code INSEE région',
  'Région',
  'Nature',
  'Date',
  'Heure',
  'Date - Heure',
  'Consommation (MW)',
  'Thermique (MW)',
  'Nucléaire (MW)',
  'Eolien (MW)',
  'Solaire (MW)',
  'Hydraulique (MW)',
  'Pompage (MW)',
  'Bioénergies (MW)',
  'Ech. physiques (MW)',
  'Stockage batterie',
  'Déstockage batterie',
  'Eolien terrestre',
  'Eolien offshore',
  'Column 30',
];

/** One line of a labels CSV export (`;`, values as text, the trailing always-empty column). */
function csvLine(region: string, nature: string, dateHeure: string, v: Values): string {
  const s = (x: Raw | undefined) => (x === undefined || x === null ? '' : String(x));
  return [
    region,
    NAMES[region],
    nature,
    dateHeure.slice(0, 10),
    dateHeure.slice(11, 16),
    dateHeure,
    s(v.consommation),
    '',
    s(v.nucleaire),
    s(v.eolien),
    s(v.solaire),
    '',
    '',
    '',
    s(v.ech_physiques),
    s(v.stockage_batterie),
    '',
    '',
    '',
    '',
  ].join(';');
}

/**
 * The real-time file: 2 regions × 5 instants of the spring DST night (2024-03-31, 02:00 → 03:00 Paris), its
 * repeated instants (03:00+02:00 written again as 02:00+01:00, a later value: the first one must be kept),
 * and a slot published ahead with no value.
 */
const TR_SLOTS = [
  '2024-03-31T01:00:00+01:00',
  '2024-03-31T01:15:00+01:00',
  '2024-03-31T01:30:00+01:00',
  '2024-03-31T01:45:00+01:00',
  '2024-03-31T03:00:00+02:00',
];
const UTC = ['2024-03-31T00:00:00Z', '2024-03-31T00:15:00Z', '2024-03-31T00:30:00Z', '2024-03-31T00:45:00Z', '2024-03-31T01:00:00Z'];

function trLines(): string[] {
  const lines: string[] = [];
  for (const region of ['11', '53']) {
    TR_SLOTS.forEach((t, k) => {
      // Île-de-France has no nuclear: "ND" or empty, never 0.
      const nuclear = region === '11' ? (k % 2 === 0 ? 'ND' : '') : 100 + k;
      lines.push(
        jsonRecord(region, TR, t, {
          consommation: String(1000 * Number(region) + k),
          nucleaire: nuclear,
          eolien: k === 1 ? '-' : 10 + k,
          ech_physiques: -5 - k,
        }),
      );
    });
  }
  lines.push(jsonRecord('11', TR, '2024-03-31T02:00:00+01:00', { consommation: 1, ech_physiques: 1 }));
  lines.push(jsonRecord('53', TR, '2024-03-31T02:00:00+01:00', { consommation: 2, ech_physiques: 2 }));
  lines.push(jsonRecord('11', TR, '2024-03-31T23:45:00+02:00', { consommation: '', nucleaire: 'ND', eolien: '-', ech_physiques: '' }));
  return lines;
}

/** The consolidated export (labels CSV with BOM): Île-de-France at 00:00Z and 00:30Z, revised values. */
function consCsv(): string {
  const rows = [
    csvLine('11', CONS, '2024-03-31T01:00:00+01:00', { consommation: '11500', nucleaire: 'ND', eolien: 12, ech_physiques: -7 }),
    csvLine('11', CONS, '2024-03-31T01:30:00+01:00', { consommation: '11502', nucleaire: '', eolien: '14', ech_physiques: '-9' }),
  ];
  return '\ufeff' + [LABELS.join(';'), ...rows].join('\r\n') + '\r\n';
}

const COLS = `region_code, region_name, nature, consumption, nuclear, wind, exchanges, battery_charge, raw_file`;

for (const setup of SETUPS) {
  describe(`eco2mix pipeline on ${setup.name}`, { skip: await skipSetup(setup) }, () => {
    const envOf = setupEnv(setup);
    const withPlatform = async <T>(home: string, fn: (p: Platform) => Promise<T>) => withHomePlatform(home, fn, await envOf(home));
    const run = (home: string, inputs: string[]) => withPlatform(home, (p) => executeRun(p, eco2mixPipeline, { inputs, trigger: 'cli' }));
    const observationsOf = (home: string) =>
      withPlatform(home, (p) =>
        p.warehouse.query(`SELECT ${COLS}, observed_at, CAST(run_id AS INTEGER) AS run_id FROM regional_observations ORDER BY region_code, observed_at`),
      );
    const historyOf = (home: string) =>
      withPlatform(home, (p) =>
        p.warehouse.query(
          `SELECT ${COLS}, observed_at, nature_rank, CAST(run_id AS INTEGER) AS run_id, CAST(superseded_by_run AS INTEGER) AS superseded_by_run, superseded_at
           FROM regional_observations_history ORDER BY region_code, observed_at, nature_rank`,
        ),
      );
    /** The staging rows of the lake, read straight from its month files. */
    const lakeRows = (home: string) =>
      withPlatform(home, async (p) => {
        const prefix = datasetPrefix('staging', 'regional_observations');
        const keys = (await p.lake.list(prefix)).map((o) => o.key).sort();
        const engine = await DuckSession.open();
        try {
          const rows = await withLocalFiles(p.lake, keys, (paths) =>
            engine.plainRows(
              `SELECT ${COLS}, strftime(observed_at, '%Y-%m-%dT%H:%M:%SZ') AS observed_at, CAST(run_id AS INTEGER) AS run_id
               FROM read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false)`,
            ),
          );
          return { keys, rows };
        } finally {
          engine.close();
        }
      });

    async function inputs(home: string): Promise<{ tr: string; cons: string; lateTr: string; reTr: string }> {
      const dir = join(home, 'in');
      await mkdir(dir, { recursive: true });
      const tr = join(dir, 'eco2mix-regional-tr.jsonl');
      await writeFile(tr, trLines().join('\n') + '\n');
      const cons = join(dir, 'eco2mix-regional-cons-def.csv');
      await writeFile(cons, consCsv());
      // Real-time data arriving after the consolidated data for the same key.
      const lateTr = join(dir, 'late-tr.jsonl');
      await writeFile(lateTr, jsonRecord('11', TR, '2024-03-31T01:00:00+01:00', { consommation: 99999, ech_physiques: 0 }) + '\n');
      // The same nature again for a key in place (other bytes, other value): the first value is kept.
      const reTr = join(dir, 're-tr.jsonl');
      await writeFile(reTr, jsonRecord('53', TR, '2024-03-31T01:00:00+01:00', { consommation: 77777, ech_physiques: 0 }) + '\n');
      return { tr, cons, lateTr, reTr };
    }

    test('is registered, its first schedule the real-time feed’s (every 15 minutes, Paris)', () => {
      assert.equal(PIPELINES.get('eco2mix'), eco2mixPipeline);
      assert.deepEqual(eco2mixPipeline.schedule, { cron: '*/15 * * * *', timezone: 'Europe/Paris' });
      assert.deepEqual(
        eco2mixPipeline.feeds?.map((f) => f.name),
        ['tr', 'cons-def'],
      );
    });

    test('a real-time file loads one row per key: values typed, DST repeats de-duplicated (first kept), empty slots skipped; the lake holds the same rows; a rerun writes nothing', async () => {
      const home = await tempHome('ecluse-eco2mix-');
      const { tr } = await inputs(home);
      const first = await run(home, [tr]);
      assert.equal(first.status, 'succeeded', first.error ?? '');
      assert.equal(first.files, 1);
      // 10 observations, 2 repeated instants, 1 empty slot: all parsed.
      assert.equal(first.rows_read, 13);
      assert.equal(first.rows_written, 10);
      assert.equal(first.rows_rejected, 0);
      assert.equal(first.values_rejected, 0);

      const obs = await observationsOf(home);
      assert.equal(obs.length, 10);
      assert.deepEqual(
        obs.map((o) => `${String(o.region_code)} ${String(o.observed_at)}`),
        ['11', '53'].flatMap((r) => UTC.map((t) => `${r} ${t}`)),
      );
      const at = (region: string, t: string) => obs.find((o) => o.region_code === region && o.observed_at === t);
      const idf0 = at('11', UTC[0] as string);
      assert.equal(idf0?.region_name, 'Île-de-France');
      assert.equal(idf0?.nature, TR);
      assert.equal(idf0?.consumption, 11000);
      assert.equal(idf0?.nuclear, null, '"ND" is missing, never 0');
      assert.equal(idf0?.wind, 10);
      assert.equal(idf0?.exchanges, -5);
      assert.equal(idf0?.battery_charge, null);
      assert.equal(at('11', UTC[1] as string)?.wind, null, '"-" is missing');
      assert.equal(at('53', UTC[3] as string)?.nuclear, 103);
      // The repeated instant 01:00Z (03:00+02:00, then again as 02:00+01:00): the first delivered value.
      assert.equal(at('11', UTC[4] as string)?.consumption, 11004);
      assert.equal(at('53', UTC[4] as string)?.consumption, 53004);
      assert.match(String(idf0?.raw_file), /^raw\/eco2mix\/opendatasoft\/received=/);
      assert.equal(idf0?.run_id, first.run_id);
      assert.deepEqual(await historyOf(home), []);

      // The run's log says what was de-duplicated and skipped.
      const logs = await withPlatform(home, (p) => p.warehouse.query(`SELECT msg FROM run_logs WHERE run_id = $1`, [first.run_id]));
      const said = logs.map((l) => String(l.msg)).join('\n');
      assert.match(said, /2 records repeat a key/);
      assert.match(said, /1 empty time slots skipped/);

      const lake = await lakeRows(home);
      assert.deepEqual(lake.keys, [`${datasetPrefix('staging', 'regional_observations')}month=2024-03/data.parquet`]);
      assert.deepEqual(lake.rows, obs, 'the month file holds the warehouse rows, ordered by region then time');

      const again = await run(home, [tr]);
      assert.equal(again.status, 'succeeded', again.error ?? '');
      assert.equal(again.files, 0);
      assert.equal(again.files_skipped, 1);
      assert.equal(again.rows_written, 0);
      assert.deepEqual(await observationsOf(home), obs);
      assert.deepEqual((await lakeRows(home)).rows, obs);
    });

    test('consolidated data replaces real-time rows, which stay in the history; later real-time data, or the same nature again, changes nothing; rebuild gives the same tables', async () => {
      const home = await tempHome('ecluse-eco2mix-');
      const { tr, cons, lateTr, reTr } = await inputs(home);
      const one = await run(home, [tr]);
      assert.equal(one.status, 'succeeded', one.error ?? '');
      const before = await observationsOf(home);

      const two = await run(home, [cons]);
      assert.equal(two.status, 'succeeded', two.error ?? '');
      assert.equal(two.rows_read, 2);
      assert.equal(two.rows_written, 2);
      const obs = await observationsOf(home);
      assert.equal(obs.length, 10);
      const at = (rows: readonly Record<string, unknown>[], region: string, t: string) => rows.find((o) => o.region_code === region && o.observed_at === t);
      for (const [t, consumption, wind] of [
        [UTC[0], 11500, 12],
        [UTC[2], 11502, 14],
      ] as const) {
        const row = at(obs, '11', t as string);
        assert.equal(row?.nature, CONS);
        assert.equal(row?.consumption, consumption);
        assert.equal(row?.wind, wind);
        assert.equal(row?.run_id, two.run_id);
      }
      // Untouched keys keep their real-time rows.
      assert.deepEqual(at(obs, '11', UTC[1] as string), at(before, '11', UTC[1] as string));
      assert.deepEqual(at(obs, '53', UTC[0] as string), at(before, '53', UTC[0] as string));

      const history = await historyOf(home);
      assert.equal(history.length, 2);
      for (const [k, t] of [UTC[0], UTC[2]].entries()) {
        const h = history[k];
        const { run_id: _r, ...was } = at(before, '11', t as string) ?? {};
        void _r;
        assert.deepEqual(Object.fromEntries(Object.keys(was).map((c) => [c, h?.[c]])), was, 'the history holds the real-time row as it was');
        assert.equal(h?.run_id, one.run_id);
        assert.equal(h?.nature_rank, 1);
        assert.equal(h?.superseded_by_run, two.run_id);
        assert.match(String(h?.superseded_at), /^\d{4}-\d\d-\d\dT/);
      }
      assert.deepEqual((await lakeRows(home)).rows, obs, 'the lake month reflects the superseding rows');

      for (const late of [lateTr, reTr]) {
        const s = await run(home, [late]);
        assert.equal(s.status, 'succeeded', s.error ?? '');
        assert.equal(s.files, 1);
        assert.equal(s.rows_read, 1);
        assert.equal(s.rows_written, 0);
      }
      assert.deepEqual(await observationsOf(home), obs);
      assert.equal((await historyOf(home)).length, 2);
      assert.deepEqual((await lakeRows(home)).rows, obs);

      // Rebuild: the four files replayed from the raw zone as one run give the same rows and the same history.
      const strip = (rows: readonly Record<string, unknown>[]) =>
        rows.map((r) => Object.fromEntries(Object.entries(r).filter(([c]) => !['run_id', 'superseded_by_run', 'superseded_at'].includes(c))));
      const historyBefore = strip(await historyOf(home));
      const rebuilt = await withPlatform(home, async (p) => {
        await resetPipeline(p, eco2mixPipeline);
        assert.equal((await p.warehouse.query('SELECT count(*) AS n FROM regional_observations'))[0]?.n, 0);
        assert.equal((await p.warehouse.query('SELECT count(*) AS n FROM regional_observations_history'))[0]?.n, 0);
        return executeRun(p, eco2mixPipeline, { trigger: 'rebuild', partition: 'rebuild' });
      });
      assert.equal(rebuilt.status, 'succeeded', rebuilt.error ?? '');
      assert.equal(rebuilt.files, 4);
      assert.deepEqual(strip(await observationsOf(home)), strip(obs));
      assert.deepEqual(strip(await historyOf(home)), historyBefore);
      assert.deepEqual((await lakeRows(home)).rows, await observationsOf(home));
    });

    test('within one run, files apply in delivery order: real-time then consolidated leaves history; consolidated then real-time leaves none', async () => {
      const home = await tempHome('ecluse-eco2mix-');
      const { tr, cons } = await inputs(home);
      const upward = await run(home, [tr, cons]);
      assert.equal(upward.status, 'succeeded', upward.error ?? '');
      assert.equal(upward.rows_written, 10);
      const obs = await observationsOf(home);
      assert.deepEqual(
        obs.filter((o) => o.nature === CONS).map((o) => [o.region_code, o.observed_at, o.consumption]),
        [
          ['11', UTC[0], 11500],
          ['11', UTC[2], 11502],
        ],
      );
      const history = await historyOf(home);
      assert.deepEqual(
        history.map((h) => [h.region_code, h.observed_at, h.nature, h.consumption, h.superseded_by_run]),
        [
          ['11', UTC[0], TR, 11000, upward.run_id],
          ['11', UTC[2], TR, 11002, upward.run_id],
        ],
      );

      const other = await tempHome('ecluse-eco2mix-');
      const files = await inputs(other);
      const downward = await run(other, [files.cons, files.tr]);
      assert.equal(downward.status, 'succeeded', downward.error ?? '');
      assert.equal(downward.rows_written, 10);
      assert.deepEqual(await historyOf(other), [], 'real-time after consolidated is a duplicate, not a revision');
      assert.deepEqual(
        (await observationsOf(other)).map((o) => [o.region_code, o.observed_at, o.nature, o.consumption]),
        obs.map((o) => [o.region_code, o.observed_at, o.nature, o.consumption]),
      );
      const logs = await withPlatform(other, (p) => p.warehouse.query(`SELECT msg FROM run_logs WHERE run_id = $1`, [downward.run_id]));
      // The 2 repeated DST instants and the 2 real-time records of keys the consolidated file gave first.
      assert.match(logs.map((l) => String(l.msg)).join('\n'), /4 records repeat a key/);
    });
  });
}
