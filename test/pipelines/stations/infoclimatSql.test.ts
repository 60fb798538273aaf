import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { DuckSession } from '../../../src/engine/duckdb.js';
import { createRunTables, loadBatchFiles } from '../../../src/pipelines/stations/load.js';
import { readInfoclimatDocs, stageInfoclimatDocs, infoclimatStations } from '../../../src/pipelines/stations/infoclimatSql.js';
import { stageFile } from '../../../src/pipelines/stations/stage.js';
import { DEFAULT_WU_STATIONS } from '../../../src/connectors/wunderground/stations.js';
import { MEASURES } from '../../../src/pipelines/stations/schema.js';
import { dayResponse, response, staticRow, synopRow } from '../../fixtures/infoclimat.js';
import { tempHome, writeInputs } from '../../helpers/platform.js';

/** A response with every case the readers must agree on. */
function tricky(): Record<string, unknown> {
  return response({
    '07015': [
      synopRow('2024-10-05 00:00:00', 'abc'),
      synopRow('2024-10-05 01:00:00', '75.2', { humidite: '130', temps_omm: '61.5' }),
      synopRow('2024-02-30 00:00:00', '5'),
      synopRow('2024-10-05 03:00:00', ' ', { pression: '', vent_moyen: '0', humidite: null }),
      { ...synopRow('2024-10-05 04:00:00', '6'), temperature: 6.5, humidite: 88 } as unknown as Record<string, string>,
      synopRow('2024-10-05T05:00:00', '6.1'),
      synopRow('2024-10-05 06:00:00', '6.1', { id_station: '07016' }),
      null as unknown as Record<string, string>,
      synopRow('2024-10-05 07:00:00', '-61', { pluie_1h: '-0.2', visibilite: '1e3' }),
      // Texts both engines read as special numbers, with different spellings: JavaScript's Number takes
      // only "Infinity" and overflow as infinite, DuckDB also "inf" in any case.
      synopRow('2024-10-05 08:00:00', 'NaN', { humidite: 'nan' }),
      synopRow('2024-10-05 09:00:00', 'inf', { humidite: 'INF' }),
      synopRow('2024-10-05 10:00:00', 'Infinity', { humidite: '-Infinity' }),
      synopRow('2024-10-05 11:00:00', '1e999', { vent_moyen: 'infinity' }),
    ],
    ZZZ999: [staticRow('2024-10-05 00:00:00', '5', { id_station: 'ZZZ999' })],
    IICHTE19: [staticRow('2024-10-05 00:00:00', '9', { id_station: 'IICHTE19' })],
  });
}

interface Staged {
  reports: unknown[][];
  rejects: unknown[][];
  counts: number[];
}

async function viaTypeScript(dir: string, names: string[]): Promise<Staged> {
  const s = await DuckSession.open();
  try {
    await createRunTables(s);
    const results = [];
    for (const [i, name] of names.entries()) {
      results.push(
        await stageFile({ fileIndex: i, path: join(dir, name), file: name, rawKey: name, batchPath: join(dir, `b${i}.csv`), stations: DEFAULT_WU_STATIONS }),
      );
    }
    await loadBatchFiles(
      s,
      results.filter((r) => r.reports > 0).map((r) => join(dir, `b${r.fileIndex}.csv`)),
    );
    return {
      reports: (await s.rows(`SELECT file_seq, station_id, observed_ms, ${MEASURES.join(', ')} FROM batch ORDER BY file_seq, seq`)).map((r) =>
        Object.values(r),
      ),
      rejects: results.flatMap((r) => r.rejects.map((x) => [x.file, x.sheet, x.row, x.field, x.reason, x.whole_record])),
      counts: [results.reduce((n, r) => n + r.rowsRead, 0), results.reduce((n, r) => n + r.rowsRejected, 0), results.reduce((n, r) => n + r.valuesRejected, 0)],
    };
  } finally {
    s.close();
  }
}

async function viaDuckDB(dir: string, names: string[]): Promise<Staged & { fast: Set<number> }> {
  const s = await DuckSession.open();
  try {
    await createRunTables(s);
    const files = names.map((name, fileSeq) => ({ fileSeq, path: join(dir, name), name }));
    const fast = await readInfoclimatDocs(s, files);
    const c = await stageInfoclimatDocs(
      s,
      1,
      new Map(files.map((f) => [f.fileSeq, f.name])),
      DEFAULT_WU_STATIONS.map((x) => x.id),
    );
    return {
      fast,
      reports: (await s.rows(`SELECT file_seq, station_id, observed_ms, ${MEASURES.join(', ')} FROM ic_batch ORDER BY file_seq, seq`)).map((r) =>
        Object.values(r),
      ),
      rejects: (await s.rows(`SELECT file, sheet, "row", field, reason, whole_record FROM run_rejects ORDER BY rowid`)).map((r) =>
        Object.values(r).map((v) => (typeof v === 'bigint' ? Number(v) : v)),
      ),
      counts: [c.rowsRead, c.rowsRejected, c.valuesRejected],
    };
  } finally {
    s.close();
  }
}

test('the DuckDB path reads InfoClimat exactly like the TypeScript reader', async () => {
  const dir = await writeInputs(join(await tempHome(), 'in'), { 'a.json': dayResponse('2024-10-05'), 'b.json': tricky(), 'c.json': dayResponse('2024-10-06') });
  const names = ['a.json', 'b.json', 'c.json'];
  const ts = await viaTypeScript(dir, names);
  const db = await viaDuckDB(dir, names);
  assert.deepEqual([...db.fast].sort(), [0, 1, 2], 'every file should take the fast path');
  assert.ok(ts.reports.length > 10 && ts.rejects.length >= 8, 'the fixture should exercise the readers');
  assert.deepEqual(db.counts, ts.counts);
  assert.deepEqual(db.reports, ts.reports);
  // Value rejects come out grouped per kind in SQL: compare as sets, whole-record rejects in order.
  const sort = (xs: unknown[][]) => [...xs].map((x) => JSON.stringify(x)).sort();
  assert.deepEqual(sort(db.rejects), sort(ts.rejects));
});

test('files DuckDB cannot read are left to the TypeScript reader, the others keep the fast path', async () => {
  const dir = await writeInputs(join(await tempHome(), 'in'), {
    'good.json': dayResponse('2024-10-05'),
    'truncated.json': JSON.stringify(dayResponse('2024-10-06')).slice(0, 300),
    'airbyte.json': { _airbyte_ab_id: 'x', _airbyte_emitted_at: 1, _airbyte_data: dayResponse('2024-10-07') },
    'status.json': { status: 'KO', errors: ['quota'], hourly: {} },
  });
  const names = ['good.json', 'truncated.json', 'airbyte.json', 'status.json'];
  const s = await DuckSession.open();
  try {
    const fast = await readInfoclimatDocs(
      s,
      names.map((name, fileSeq) => ({ fileSeq, path: join(dir, name), name })),
    );
    assert.deepEqual([...fast], [0]);
    const stations = await infoclimatStations(s);
    assert.deepEqual(
      stations.map((x) => (x.station as { id: string }).id),
      ['00052', '07015'],
    );
  } finally {
    s.close();
  }
  assert.ok((await readFile(join(dir, 'good.json'))).length > 0);
});

test('where stations and keys sit in the response does not change what the DuckDB path reads', async () => {
  const day = dayResponse('2024-10-05');
  const hourly = day.hourly as Record<string, unknown[]>;
  const { _params: params, ...keys } = hourly;
  const dir = await writeInputs(join(await tempHome(), 'in'), {
    // `_params` first: the response's stations ride on the first station key's first report.
    'params-first.json': { ...day, hourly: { _params: params, ...keys } },
    // The first station key has no report: the file is left to the TypeScript reader.
    'first-empty.json': response({ '07015': [], '00052': [staticRow('2024-10-06 00:00:00', '7')] }),
    // No `stations` at all: only configured stations are known.
    'no-stations.json': {
      status: 'OK',
      hourly: { IICHTE19: [staticRow('2024-10-07 00:00:00', '9', { id_station: 'IICHTE19' })], '07015': [synopRow('2024-10-07 00:00:00', '3')] },
    },
  });
  const names = ['params-first.json', 'first-empty.json', 'no-stations.json'];
  const ts = await viaTypeScript(dir, names);
  const db = await viaDuckDB(dir, names);
  assert.deepEqual([...db.fast].sort(), [0, 2]);
  // The file left out is staged by the TypeScript reader in a run: compare the others, file by file.
  const only = (xs: unknown[][], seqs: number[]) => xs.filter((r) => seqs.includes(r[0] as number));
  assert.deepEqual(db.reports, only(ts.reports, [0, 2]));
  assert.equal(db.reports.length, 7);
  const sort = (xs: unknown[][]) => [...xs].map((x) => JSON.stringify(x)).sort();
  assert.deepEqual(sort(db.rejects), sort(ts.rejects.filter((r) => r[0] !== 'first-empty.json')));
  assert.deepEqual(db.rejects, [
    ['no-stations.json', 'hourly.07015', 1, 'id_station', 'unknown station "07015": not in the file\'s stations nor in ecluse.config.json', true],
  ]);
  const s = await DuckSession.open();
  try {
    await readInfoclimatDocs(
      s,
      names.map((name, fileSeq) => ({ fileSeq, path: join(dir, name), name })),
    );
    const stations = await infoclimatStations(s);
    assert.deepEqual(
      stations.map((x) => [x.fileSeq, (x.station as { id: string }).id]),
      [
        [0, '00052'],
        [0, '07015'],
      ],
    );
  } finally {
    s.close();
  }
});
