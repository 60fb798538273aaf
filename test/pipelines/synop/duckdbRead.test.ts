// The SQL read path against the TypeScript readers (the reference) on the same files: identical batch rows
// (in the same order), identical rejects with the same row numbers, identical counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckSession } from '../../../src/engine/duckdb.js';
import { headerNames } from '../../../src/connectors/opendatasoft/synop/fields.js';
import { writeSynop } from '../../../src/connectors/generators/synop.js';
import { createRunTables, loadBatchFile, SYNOP_BATCH, SynopCsvSink } from '../../../src/pipelines/synop/load.js';
import { readSynopFile } from '../../../src/pipelines/synop/readers.js';
import { readSynopFileSql, sqlReadKind, type SqlReadOutcome } from '../../../src/pipelines/synop/duckdbRead.js';
import { extensionOf } from '../../../src/lake/raw.js';

const GEN = { stations: 3, from: '2024-03-30', to: '2024-04-01', seed: 7 };

interface Side {
  sink: SynopCsvSink;
  rows: string;
}

/** Reads `path` one way into a fresh synop_batch and returns the sink and the rows in batch order, as JSON. */
async function readWith(s: DuckSession, dir: string, path: string, way: 'sql' | 'ts'): Promise<Side & { outcome?: SqlReadOutcome }> {
  await createRunTables(s);
  const name = path.split('/').pop() as string;
  const sink = new SynopCsvSink(join(dir, `${way}.csv`));
  let outcome: SqlReadOutcome | undefined;
  try {
    if (way === 'sql') {
      outcome = await readSynopFileSql(s, name, path, sqlReadKind(extensionOf(name)) as 'jsonl' | 'csv', 0, sink);
    } else {
      sink.startFile(0);
      readSynopFile(name, await readFile(path), sink);
    }
  } finally {
    sink.close();
  }
  if (sink.csvRows > 0) await loadBatchFile(s, sink.path);
  // seq differs between the paths (line vs counter); its order must not.
  const rows = await s.rows(`SELECT * EXCLUDE (seq, file_seq, dirty) FROM ${SYNOP_BATCH} ORDER BY file_seq, seq`);
  return { sink, outcome, rows: JSON.stringify(rows, (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) };
}

function counters(k: SynopCsvSink) {
  return { rowsRead: k.rowsRead, rowsRejected: k.rowsRejected, valuesRejected: k.valuesRejected, filesRejected: k.filesRejected, obs: k.observations };
}

async function compare(path: string): Promise<SqlReadOutcome> {
  const dir = await mkdtemp(join(tmpdir(), 'synop-sqlread-'));
  const s = await DuckSession.open();
  try {
    const sql = await readWith(s, dir, path, 'sql');
    const ts = await readWith(s, dir, path, 'ts');
    const outcome = sql.outcome as SqlReadOutcome;
    if (outcome.read) {
      assert.deepEqual(sql.sink.rejects, ts.sink.rejects);
      assert.deepEqual(counters(sql.sink), counters(ts.sink));
      assert.equal(sql.rows, ts.rows);
    } else {
      // A fallback adds nothing: the caller reads the file with the TypeScript reader.
      assert.equal(sql.sink.rejects.length, 0);
      assert.equal(sql.rows, '[]');
    }
    return outcome;
  } finally {
    s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function generated(dir: string, format: 'jsonl' | 'csv' | 'csv-labels', name: string): Promise<{ path: string; lines: string[] }> {
  const path = join(dir, name);
  await writeSynop(path, format, GEN);
  return { path, lines: (await readFile(path, 'utf8')).split('\n') };
}

/** Edits line k of `lines` in place (a regex replace), failing when the pattern did not match. */
function editor(lines: string[]): (k: number, from: RegExp, to: string) => void {
  return (k, from, to) => {
    const before = lines[k] as string;
    lines[k] = before.replace(from, to);
    assert.notEqual(lines[k], before, `line ${k + 1} edited`);
  };
}

test('JSONL: clean, traces, gaps, bad values, unknown and absent keys, odd spellings: SQL = TypeScript', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synop-fixture-'));
  try {
    const { path, lines } = await generated(dir, 'jsonl', 'year.jsonl');
    const edit = editor(lines);
    edit(2, /"t":[^,]+/, '"t":"abc"');
    edit(4, /"rr3":[^,]+/, '"rr3":-0.1');
    edit(5, /"rr1":[^,]+/, '"rr1":-0.1');
    edit(6, /"rr3":[^,]+/, '"rr3":-0.5');
    edit(8, /"pmer":[^,]+/, '"pmer":50000');
    edit(10, /}$/, ',"extra_key":1,"autre":"x"}');
    edit(12, /"numer_sta":"0(\d+)"/, '"numer_sta":$1');
    edit(14, /"date":"([^"]+)\+00:00"/, '"date":"$1"');
    edit(16, /"t":[^,]+/, '"t":null');
    edit(18, /\+00:00"/, '+02:00"');
    edit(20, /"nom":"[^"]*",/, '');
    edit(22, /"nom":"([^"]*)"/, '"nom":"\\u00c9$1"');
    edit(24, /"date":"[^"]+"/, '"date":"2024-02-30T00:00:00Z"');
    edit(26, /"ff":[^,]+/, '"ff":"4.5"');
    edit(28, /"tc":[^,]+/, '"tc":1e1');
    edit(30, /"u":[^,]+/, '"u":92.5');
    edit(32, /"coordonnees":\{[^}]*\}/, '"coordonnees":"50.1, 1.8"');
    edit(34, /"numer_sta":"[^"]*"/, '"numer_sta":"07/05"');
    // A record delivered twice: the first one must win in both paths.
    lines.splice(40, 0, lines[36] as string);
    await writeFile(path, lines.join('\n'));
    const outcome = await compare(path);
    assert.equal(outcome.read, true, JSON.stringify(outcome));
    assert.ok(outcome.read && outcome.handedBack === 14 && outcome.observations === 59, JSON.stringify(outcome));
    // Strings for numbers, unknown keys, escapes: not the typed shape.
    assert.ok(outcome.read && outcome.pass === 'text', JSON.stringify(outcome));

    // A truncated line, blank lines: the whole file goes to the TypeScript reader.
    assert.equal(lines[lines.length - 1], '');
    await writeFile(path, lines.join('\n') + '{"numer_sta":"07005","da');
    assert.deepEqual(await compare(path), { read: false, reason: `line ${lines.length} is not one JSON object` });
    await writeFile(path, lines.slice(0, 5).join('\n') + '\n\n' + lines.slice(5).join('\n'));
    assert.equal((await compare(path)).read, false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("JSONL in the dataset's shape: the typed pass hands back the same lines and gives the same rows as TypeScript", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synop-fixture-'));
  try {
    const { path, lines } = await generated(dir, 'jsonl', 'typed.jsonl');
    const edit = editor(lines);
    // Each edit keeps every value of its field's JSON kind and the keys in the dataset's order.
    edit(2, /"rr3":[^,]+/, '"rr3":-0.1');
    edit(3, /"rr1":[^,]+/, '"rr1":-0.1');
    edit(5, /"rr3":[^,]+/, '"rr3":-0.5');
    edit(7, /"pmer":[^,]+/, '"pmer":50000');
    edit(9, /"t":[^,]+/, '"t":null');
    edit(11, /"date":"([^"]+)\+00:00"/, '"date":"$1"');
    edit(13, /\+00:00"/, '+02:00"');
    edit(15, /"nom":"[^"]*",/, '');
    edit(17, /"date":"[^"]+"/, '"date":"2024-02-30T00:00:00Z"');
    edit(19, /"tc":[^,]+/, '"tc":1e1');
    edit(21, /"u":[^,]+/, '"u":92.5');
    edit(23, /"numer_sta":"[^"]*"/, '"numer_sta":"07/05"');
    edit(25, /"numer_sta":"0(\d+)"/, '"numer_sta":"$1"');
    edit(27, /"coordonnees":\{[^}]*\},/, '');
    edit(29, /"libgeo":"[^"]*"/, '"libgeo":""');
    edit(31, /"dd":[^,]+/, '"dd":-0');
    lines.splice(40, 0, lines[36] as string);
    await writeFile(path, lines.join('\n'));
    const outcome = await compare(path);
    assert.ok(outcome.read && outcome.pass === 'typed', JSON.stringify(outcome));
    assert.ok(outcome.read && outcome.handedBack === 7 && outcome.observations === 66, JSON.stringify(outcome));

    // A number read_json cannot hold, a key out of the dataset's order: the text pass, still the same result.
    const huge = [...lines];
    huge[4] = (huge[4] as string).replace(/"ff":[^,]+/, '"ff":1e999');
    await writeFile(path, huge.join('\n'));
    assert.ok((await compare(path)).read);
    const swapped = [...lines];
    swapped[6] = (swapped[6] as string).replace(/^\{("numer_sta":"[^"]*"),("date":"[^"]*")/, '{$2,$1');
    assert.notEqual(swapped[6], lines[6]);
    await writeFile(path, swapped.join('\n'));
    const text = await compare(path);
    // The text pass also hands back the lines DuckDB spells differently from the file (1e1, -0, "7015").
    assert.ok(text.read && text.pass === 'text' && text.handedBack === 10, JSON.stringify(text));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('CSV (labels and field names): bad values, traces, spaces, quoted cells, unknown column: SQL = TypeScript', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synop-fixture-'));
  try {
    for (const format of ['csv-labels', 'csv'] as const) {
      const { path, lines } = await generated(dir, format, `${format}.csv`);
      const names = headerNames((lines[0] as string).replace(/^\uFEFF/, '').split(';'));
      const set = (k: number, field: string, value: string) => {
        const cells = (lines[k] as string).split(';');
        cells[names.indexOf(field)] = value;
        lines[k] = cells.join(';');
      };
      set(3, 't', 'abc');
      set(5, 'rr3', '-0.1');
      set(7, 'rr3', '-0.4');
      set(9, 'ff', ' 4.5 ');
      set(11, 'nom', '"ABBE;VILLE"');
      set(13, 'pmer', '200000');
      set(15, 'u', '92.0');
      set(17, 'date', '2024-03-31T02:30:00+01:00');
      set(19, 'numer_sta', '7005');
      set(21, 'coordonnees', '50.10, 1.8');
      set(23, 't', '');
      // An unknown column, last.
      const withExtra = lines.map((l, k) => (l === '' ? l : `${l};${k === 0 ? 'Colonne inconnue' : 'x'}`));
      await writeFile(path, withExtra.join('\n'));
      const outcome = await compare(path);
      assert.equal(outcome.read, true, `${format}: ${JSON.stringify(outcome)}`);
      assert.ok(outcome.read && outcome.handedBack === 6, JSON.stringify(outcome));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
