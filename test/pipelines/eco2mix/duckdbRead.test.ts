import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECO2MIX_FIELDS, ECO2MIX_SOURCES } from '../../../src/connectors/opendatasoft/eco2mix/fields.js';
import { DuckSession } from '../../../src/engine/duckdb.js';
import { Eco2mixBatch } from '../../../src/pipelines/eco2mix/batch.js';
import { readEco2mixJsonlSql, type BulkSink } from '../../../src/pipelines/eco2mix/duckdbRead.js';
import { BATCH, createRunTables, dropRunTables } from '../../../src/pipelines/eco2mix/load.js';
import { readEco2mixFile } from '../../../src/pipelines/eco2mix/readers.js';
import { writeEco2mix } from '../../../src/connectors/generators/eco2mix.js';
import { executeRun } from '../../../src/orchestrator/runner.js';
import { eco2mixPipeline } from '../../../src/pipelines/eco2mix/pipeline.js';
import { readFile } from 'node:fs/promises';
import { SQL_READ_MIN_BYTES } from '../../../src/pipelines/eco2mix/duckdbRead.js';
import { tempHome, withPlatform } from '../../helpers/platform.js';

/** A record with every field of the current layout written (null where not given), as exports write it. */
function line(over: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const base: Record<string, unknown> = Object.fromEntries(ECO2MIX_FIELDS.map((f) => [f.name, null]));
  Object.assign(base, {
    code_insee_region: '11',
    libelle_region: 'Île-de-France',
    nature: 'Données consolidées',
    date: '2024-01-15',
    heure: '10:00',
    date_heure: '2024-01-15T10:00:00+01:00',
    consommation: 8000,
    nucleaire: null,
    eolien: 12.5,
    ech_physiques: -300,
  });
  return JSON.stringify({ ...base, ...over, ...extra, column_68: null });
}

/** Every oddity the readers meet, in records that all have the same keys (the typed pass). */
function uniformLines(): string[] {
  const at = (h: number) => `2024-01-15T${String(h).padStart(2, '0')}:00:00+01:00`;
  return [
    line({}),
    line({ date_heure: at(1), consommation: '8100', eolien: ' 13 ', solaire: '', hydraulique: '-', pompage: 'ND', bioenergies: 'nd' }),
    line({ date_heure: at(2), consommation: 'abc', thermique: 200000, solaire: true, hydraulique: { a: 1 } }),
    line({ date_heure: at(3), ...Object.fromEntries(['consommation', 'eolien', 'ech_physiques'].map((k) => [k, null])) }),
    line({ date_heure: at(4), code_insee_region: '99' }),
    line({ date_heure: at(5), code_insee_region: 11 }),
    line({ date_heure: at(6), code_insee_region: '94' }),
    line({ date_heure: '2024-01-15T07:00:00' }),
    line({ date_heure: '2024-02-30T07:00:00+01:00' }),
    line({ date_heure: '2024-01-15 08:00:00+0100' }),
    line({ date_heure: '2024-01-15T09:00:00Z', nature: 'Données provisoires' }),
    line({ date_heure: at(10), nature: 'données CONSOLIDÉES' }),
    line({ date_heure: at(11), nature: 'Données temps réel', consommation: '1e3', eolien: '.5', thermique: -0 }),
    line({ date_heure: at(12), code_insee_region: null }),
    line({ date_heure: at(13), consommation: '1e999', eolien: 1e-7 }),
    line({ date_heure: at(14), libelle_region: 'Île\n"quoted"\t' }),
    line({ date_heure: at(15), consommation: 7000.25, eolien: '-12.5e1' }),
    line({ date_heure: 20240115 }),
    line({ date_heure: at(16), ech_physiques: 100001 }),
    line({ date_heure: at(17), ech_physiques: -100000 }),
    line({ date_heure: at(18), nature: '', consommation: 1 }),
    line({ date_heure: at(19), nature: 'ND', consommation: 2 }),
    line({ date_heure: '2024-01-15T20:00:00-03:30' }),
    line({ date_heure: '2024-01-15T21:00:00+19:00' }),
    // The same key again (the spring DST day's repeats): both kept as records, in line order.
    line({}),
  ];
}

const DIR = { path: '' };
let s: DuckSession;
before(async () => {
  DIR.path = await mkdtemp(join(tmpdir(), 'ecluse-eco2mix-sqlread-'));
  s = await DuckSession.open(':memory:');
});
after(async () => {
  s.close();
  await rm(DIR.path, { recursive: true, force: true });
});

class Bulk extends Eco2mixBatch implements BulkSink {
  seqOverride: number | null = null;
  bulk = 0;
  readonly seqs: number[] = [];
  countBulk(observations: number, emptySlots: number): void {
    this.rowsRead += observations + emptySlots;
    this.emptySlots += emptySlots;
    this.bulk += observations;
  }
  override observation(obs: Parameters<Eco2mixBatch['observation']>[0]): void {
    super.observation(obs);
    this.seqs.push(this.seqOverride ?? -1);
  }
}

interface Row {
  row: number;
  region: string;
  at: string;
  nature: string | null;
  values: (number | null)[];
}

function counters(b: Eco2mixBatch) {
  return { rowsRead: b.rowsRead, rowsRejected: b.rowsRejected, valuesRejected: b.valuesRejected, filesRejected: b.filesRejected, emptySlots: b.emptySlots };
}

/** The TypeScript reader's and the SQL path's results on the same file, in comparable shapes. */
async function both(name: string, text: string) {
  const path = join(DIR.path, name);
  await writeFile(path, text);
  const ts = new Eco2mixBatch();
  readEco2mixFile(name, Buffer.from(text), ts);
  const tsRows: Row[] = ts.observations.map((o) => ({
    row: o.loc.row as number,
    region: o.regionCode,
    at: new Date(o.observedAt).toISOString(),
    nature: o.nature,
    values: ECO2MIX_SOURCES.map((k) => o.values[k]),
  }));
  await createRunTables(s);
  const sql = new Bulk();
  try {
    const outcome = await readEco2mixJsonlSql(s, BATCH, name, path, 0, 'raw/key', sql);
    const table = await s.rows<Record<string, unknown>>(`SELECT * FROM ${BATCH} ORDER BY seq`);
    const sqlRows: Row[] = [
      ...table.map((r) => ({
        row: Number(r.seq),
        region: r.region_code as string,
        at: (r.observed_at as Date).toISOString(),
        nature: r.nature as string | null,
        values: ECO2MIX_SOURCES.map((k) => r[k] as number | null),
      })),
      ...sql.observations.map((o, i) => {
        assert.equal(sql.seqs[i], o.loc.row, 'a handed-back observation takes its line as its order');
        return {
          row: o.loc.row as number,
          region: o.regionCode,
          at: new Date(o.observedAt).toISOString(),
          nature: o.nature,
          values: ECO2MIX_SOURCES.map((k) => o.values[k]),
        };
      }),
    ].sort((a, b) => a.row - b.row);
    return { outcome, ts, tsRows, sql, sqlRows };
  } finally {
    await dropRunTables(s);
  }
}

test('the SQL path gives the TypeScript reader’s rows, rejects and counters on records with every oddity (typed pass)', async () => {
  const { outcome, ts, tsRows, sql, sqlRows } = await both('uniform.jsonl', uniformLines().join('\n') + '\n');
  assert.equal(outcome.read, true, JSON.stringify(outcome));
  assert.ok(outcome.read && outcome.pass === 'typed' && outcome.handedBack > 0 && outcome.observations > 0, 'some records typed in SQL, some handed back');
  assert.deepEqual(sqlRows, tsRows);
  assert.deepEqual(sql.rejects, ts.rejects);
  assert.deepEqual(counters(sql), counters(ts));
  assert.ok(ts.rejects.length > 10 && ts.emptySlots === 1, 'the fixture has rejects of every kind and an empty slot');
});

test('records with other keys, spaces, repeated keys or lenient JSON: the exact pass, or the TypeScript reader, gives the same', async () => {
  const lines = uniformLines();
  lines.splice(3, 0, line({ date_heure: '2024-01-15T22:00:00+01:00' }, { unknown_b: 1, unknown_a: 'x' }));
  lines.splice(5, 0, line({ date_heure: '2024-01-15T23:00:00+01:00' }).replace(',"column_68":null}', ',"column_68":null,"consommation":5}'));
  lines.push(line({ date_heure: '2024-01-16T00:00:00+01:00' }).replace(',"column_68":null}', ',"column_68":null,}'));
  lines.push(line({ date_heure: '2024-01-16T01:00:00+01:00' }).replace('"eolien":12.5', '"eolien":NaN'));
  lines.push(JSON.stringify({ code_insee_region: '24', date_heure: '2024-01-16T02:00:00+01:00', nature: 'Données consolidées', consommation: 5, other: 1 }));
  lines.push('[1,2]');
  lines.push(line({ date_heure: '2024-01-16T03:00:00+01:00' }).replaceAll('":', '": '));
  for (const [name, text] of [
    ['varied.jsonl', lines.join('\n') + '\n'],
    ['no-final-newline.jsonl', lines.join('\n')],
    ['blank-lines.jsonl', lines.join('\n\n') + '\n'],
    ['crlf.jsonl', lines.join('\r\n') + '\r\n'],
    ['broken.jsonl', [...lines, '{"code_insee_region":'].join('\n') + '\n'],
  ] as const) {
    const { outcome, ts, tsRows, sql, sqlRows } = await both(name, text);
    if (!outcome.read) {
      // The caller reads the file with the TypeScript reader: nothing may have been added.
      assert.deepEqual(sqlRows, [], name);
      assert.deepEqual(sql.rejects, [], name);
      continue;
    }
    assert.deepEqual(sqlRows, tsRows, name);
    assert.deepEqual(sql.rejects, ts.rejects, name);
    assert.deepEqual(counters(sql), counters(ts), name);
  }
  const varied = await both('varied-again.jsonl', lines.join('\n') + '\n');
  assert.ok(varied.outcome.read && varied.outcome.pass === 'exact', `the exact pass reads a file whose keys vary: ${JSON.stringify(varied.outcome)}`);
});

test('a run on a large JSONL (the SQL path) stages what the TypeScript reader reads: rows, first of repeated keys, rejects, counters', async () => {
  const home = await tempHome('ecluse-eco2mix-sqlrun-');
  try {
    const path = join(home, 'spring.jsonl');
    // Twelve regions over the spring DST change (repeated instants), every quirk of the generator, and the odd records above.
    await writeEco2mix(path, 'jsonl', { regions: 'all', from: '2024-03-24', to: '2024-04-06', dataset: 'cons-def', seed: 3, now: Date.UTC(2026, 0, 1) });
    const text = (await readFile(path, 'utf8')) + uniformLines().join('\n') + '\n';
    await writeFile(path, text);
    assert.ok(Buffer.byteLength(text) >= SQL_READ_MIN_BYTES, 'large enough for the SQL path');
    const ts = new Eco2mixBatch();
    readEco2mixFile('spring.jsonl', Buffer.from(text), ts);
    // The first record of each key wins (same nature throughout).
    const expected = new Map<string, string>();
    for (const o of ts.observations) {
      const key = `${o.regionCode}|${new Date(o.observedAt).toISOString()}`;
      if (!expected.has(key)) expected.set(key, JSON.stringify([o.nature, ...ECO2MIX_SOURCES.map((k) => o.values[k])]));
    }
    const summary = await withPlatform(home, (p) => executeRun(p, eco2mixPipeline, { inputs: [path], trigger: 'cli' }));
    assert.equal(summary.status, 'succeeded', summary.error ?? '');
    assert.equal(summary.rows_read, ts.rowsRead);
    assert.equal(summary.rows_rejected, ts.rowsRejected);
    assert.equal(summary.values_rejected, ts.valuesRejected);
    assert.equal(summary.rows_written, expected.size);
    const rows = await withPlatform(home, (p) =>
      p.warehouse.query(`SELECT region_code, observed_at, nature, ${ECO2MIX_SOURCES.join(', ')} FROM regional_observations`),
    );
    const got = new Map(
      rows.map((r) => [
        `${String(r.region_code)}|${String(r.observed_at).replace('Z', '.000Z')}`,
        JSON.stringify([r.nature, ...ECO2MIX_SOURCES.map((k) => r[k])]),
      ]),
    );
    assert.deepEqual(got, expected);
    const rejects = await withPlatform(home, (p) => p.warehouse.query(`SELECT count(*) AS n FROM rejects WHERE run_id = $1`, [summary.run_id]));
    assert.equal(Number(rejects[0]?.n), ts.rejects.length);
    const logs = await withPlatform(home, (p) => p.warehouse.query(`SELECT msg FROM run_logs WHERE run_id = $1`, [summary.run_id]));
    assert.doesNotMatch(logs.map((l) => String(l.msg)).join('\n'), /read by the TypeScript reader/, 'the SQL path read the file');
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
