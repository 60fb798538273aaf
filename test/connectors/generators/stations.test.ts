import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WU_STATIONS } from '../../../src/connectors/wunderground/stations.js';
import { generateStations, compassWord, stationList } from '../../../src/connectors/generators/stations.js';
import { INFOCLIMAT_PARAMS } from '../../../src/connectors/infoclimat/format.js';
import { Rng, hashSeed } from '../../../src/connectors/generators/random.js';
import { createRegion, dewPointFrom, diurnalShape, relativeHumidity, sunPosition, weatherSeries } from '../../../src/connectors/generators/weather.js';
import { INFOCLIMAT_FIELD_NAMES, readInfoclimatResponse } from '../../../src/pipelines/stations/infoclimat.js';
import { readWundergroundWorkbook, WUNDERGROUND_FIELD_NAMES } from '../../../src/pipelines/stations/wunderground.js';
import { wundergroundFileName } from '../../../src/connectors/wunderground/workbookWriter.js';
import { ReportBatch } from '../../../src/pipelines/stations/reportBatch.js';

type Row = Record<string, unknown>;
interface Day {
  status: unknown;
  errors: unknown;
  data: unknown;
  stations: Array<Record<string, unknown>>;
  metadata: Record<string, unknown>;
  hourly: Record<string, unknown>;
}

const STATIONS = 30; // indices 3 and 28 are synop: 07015 and 07005
const DAYS = 4;
const STATIC_FIELDS = [
  'id_station',
  'dh_utc',
  'temperature',
  'pression',
  'humidite',
  'point_de_rosee',
  'vent_moyen',
  'vent_rafales',
  'vent_direction',
  'pluie_3h',
  'pluie_1h',
];
const SYNOP_FIELDS = [
  'id_station',
  'dh_utc',
  'temperature',
  'pression',
  'humidite',
  'point_de_rosee',
  'visibilite',
  'vent_moyen',
  'vent_rafales',
  'vent_direction',
  'pluie_3h',
  'pluie_1h',
  'neige_au_sol',
  'nebulosite',
  'temps_omm',
];

let root: string;
let outA: string;
let resultA: Awaited<ReturnType<typeof generateStations>>;
let progress: Array<[number, number]>;
const days: Array<{ name: string; doc: Day; text: string }> = [];

function num(v: unknown): number | null {
  if (v === null || v === '') return null;
  assert.equal(typeof v, 'string');
  const n = Number(v);
  assert.ok(Number.isFinite(n), `not a number: ${JSON.stringify(v)}`);
  return n;
}

function stationRows(doc: Day): Array<[string, Row[]]> {
  return Object.entries(doc.hourly).filter(([k]) => k !== '_params') as Array<[string, Row[]]>;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ecluse-gen-'));
  outA = join(root, 'a');
  progress = [];
  resultA = await generateStations({
    stations: STATIONS,
    days: DAYS,
    out: outA,
    start: '2024-10-01',
    seed: 7,
    onProgress: (done, total) => progress.push([done, total]),
  });
  for (let d = 1; d <= DAYS; d++) {
    const name = `infoclimat-2024-10-0${d}.json`;
    const text = await readFile(join(outA, name), 'utf8');
    days.push({ name, doc: JSON.parse(text) as Day, text });
  }
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('one InfoClimat file per UTC day plus one workbook per WU station, progress per file', async () => {
  const expected = [...days.map((d) => d.name), ...DEFAULT_WU_STATIONS.map((s) => wundergroundFileName(s))].sort();
  assert.deepEqual((await readdir(outA)).sort(), expected);
  assert.deepEqual(resultA.files.map((f) => f.slice(outA.length + 1)).sort(), expected);
  assert.equal(resultA.stations, STATIONS + DEFAULT_WU_STATIONS.length);
  const total = DAYS + DEFAULT_WU_STATIONS.length;
  assert.equal(progress.length, total);
  assert.deepEqual(progress.at(-1), [total, total]);
  assert.ok(progress.every(([, t], i) => t === total && progress[i]?.[0] === i + 1));
  for (const s of DEFAULT_WU_STATIONS) {
    const path = join(outA, wundergroundFileName(s));
    assert.ok(existsSync(path), path);
    assert.ok((await stat(path)).size > 10_000);
  }
});

test('top level is a daily API response: status, errors, data, stations, metadata, hourly with _params', () => {
  for (const { doc } of days) {
    assert.deepEqual(Object.keys(doc), ['status', 'errors', 'data', 'stations', 'metadata', 'hourly']);
    assert.equal(doc.status, 'OK');
    assert.deepEqual(doc.errors, []);
    assert.deepEqual(doc.data, []);
    assert.equal(doc.stations.length, STATIONS);
    assert.deepEqual(
      doc.stations.slice(0, 4).map((s) => [s.id, s.name, s.type]),
      [
        ['00052', 'Armentières', 'static'],
        ['000R5', 'Bergues', 'static'],
        ['STATIC0010', 'Hazebrouck', 'static'],
        ['07015', 'Lille-Lesquin', 'synop'],
      ],
    );
    for (const s of doc.stations) {
      assert.deepEqual(Object.keys(s), ['id', 'name', 'latitude', 'longitude', 'elevation', 'type', 'license']);
      assert.equal(typeof s.latitude, 'number');
      assert.ok((s.latitude as number) >= 49.9 && (s.latitude as number) <= 51.1);
      assert.ok((s.longitude as number) >= 1.6 && (s.longitude as number) <= 4.2);
      assert.equal(typeof (s.license as Record<string, unknown>).license, 'string');
    }
    assert.equal(doc.metadata.temperature, 'temperature,degC');
    assert.equal(doc.metadata.pression, 'mean sea level pressure,hPa');
    const params = doc.hourly._params;
    assert.ok(Array.isArray(params));
    assert.deepEqual(params, [...INFOCLIMAT_PARAMS]);
    assert.deepEqual(
      Object.keys(doc.hourly).filter((k) => k !== '_params'),
      doc.stations.map((s) => s.id),
    );
  }
});

test('about 1 in 25 stations is synop; ids unique', () => {
  const list = stationList(100);
  assert.equal(new Set(list.map((s) => s.id)).size, 100);
  const synop = list.filter((s) => s.type === 'synop').map((s) => s.id);
  assert.deepEqual(synop, ['07015', '07005', '07901', '07902']);
  assert.ok(list.slice(4).every((s) => s.type === 'synop' || /^STATIC\d{4}$/.test(s.id)));
  assert.deepEqual(
    stationList(2).map((s) => s.id),
    ['00052', '000R5'],
  );
});

test('every value in hourly rows is a string or null; times are the UTC day on the station grid', () => {
  for (const { doc, name } of days) {
    const date = name.slice('infoclimat-'.length, -'.json'.length);
    for (const [id, rows] of stationRows(doc)) {
      const synop = doc.stations.find((s) => s.id === id)?.type === 'synop';
      const grid = synop ? 60 : 10;
      let previous = '';
      for (const r of rows) {
        for (const [k, v] of Object.entries(r)) assert.ok(v === null || typeof v === 'string', `${id} ${k}=${JSON.stringify(v)}`);
        assert.equal(r.id_station, id);
        const dh = r.dh_utc as string;
        assert.match(dh, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:00$/);
        assert.equal(dh.slice(0, 10), date);
        assert.equal(Number(dh.slice(14, 16)) % grid, 0);
        assert.ok(dh > previous, `${id}: ${dh} after ${previous}`);
        previous = dh;
      }
    }
  }
});

test('static stations: every 10 minutes (144 a day), without the synop-only fields', () => {
  let stationDays = 0;
  let full = 0;
  for (const { doc } of days) {
    for (const [id, rows] of stationRows(doc)) {
      if (doc.stations.find((s) => s.id === id)?.type !== 'static') continue;
      stationDays++;
      assert.ok(rows.length <= 144 && rows.length >= 100, `${id}: ${rows.length} rows`);
      if (rows.length === 144) full++;
      for (const r of rows) assert.deepEqual(Object.keys(r), STATIC_FIELDS);
    }
  }
  assert.equal(stationDays, DAYS * (STATIONS - 2));
  assert.ok(full / stationDays > 0.6, `${full}/${stationDays} complete static days`);
});

test('synop stations: hourly (24 a day) with visibilite, neige_au_sol, nebulosite, temps_omm', () => {
  let full = 0;
  for (const { doc } of days) {
    for (const id of ['07015', '07005']) {
      const rows = doc.hourly[id] as Row[];
      assert.ok(rows.length <= 24 && rows.length >= 18, `${id}: ${rows.length} rows`);
      if (rows.length === 24) full++;
      for (const r of rows) assert.deepEqual(Object.keys(r), SYNOP_FIELDS);
      // Visibility is reported and numeric; 3-hour rain only at synoptic hours.
      assert.ok(rows.some((r) => num(r.visibilite) !== null));
      for (const r of rows) {
        if (Number((r.dh_utc as string).slice(11, 13)) % 3 !== 0) assert.equal(r.pluie_3h, null);
      }
    }
  }
  assert.ok(full >= DAYS);
});

test('values are physical: ranges, dew point ≤ temperature, humidity from Magnus, gust ≥ speed', () => {
  let checked = 0;
  for (const { doc } of days) {
    for (const [id, rows] of stationRows(doc)) {
      for (const r of rows) {
        const t = num(r.temperature);
        const td = num(r.point_de_rosee);
        const rh = num(r.humidite);
        const p = num(r.pression);
        const w = num(r.vent_moyen);
        const g = num(r.vent_rafales);
        const dir = num(r.vent_direction);
        if (t !== null) assert.ok(t >= -60 && t <= 60, `${id} t=${t}`);
        if (td !== null) assert.ok(td >= -60 && td <= 60, `${id} td=${td}`);
        if (rh !== null) assert.ok(rh >= 0 && rh <= 100 && Number.isInteger(rh), `${id} rh=${rh}`);
        if (p !== null) assert.ok(p >= 850 && p <= 1100, `${id} p=${p}`);
        if (w !== null) assert.ok(w >= 0 && w < 150, `${id} w=${w}`);
        if (g !== null) assert.ok(w === null || g >= w, `${id} gust ${g} < ${w}`);
        if (dir !== null) assert.ok(dir >= 0 && dir <= 360 && Number.isInteger(dir), `${id} dir=${dir}`);
        for (const f of ['pluie_1h', 'pluie_3h']) {
          const v = num(r[f]);
          if (v !== null) assert.ok(v >= 0 && v < 100, `${id} ${f}=${v}`);
        }
        if (t !== null && td !== null) {
          assert.ok(td <= t, `${id} ${r.dh_utc as string}: dew point ${td} > ${t}`);
          if (rh !== null) assert.ok(Math.abs(relativeHumidity(t, td) - rh) <= 1, `${id}: rh ${rh} for ${t}/${td}`);
          checked++;
        }
        // Temperatures and pressure with one decimal, as the API writes them.
        if (typeof r.temperature === 'string' && r.temperature !== '') assert.match(r.temperature, /^-?\d+\.\d$/);
        if (typeof r.pression === 'string' && r.pression !== '') assert.match(r.pression, /^\d+\.\d$/);
      }
    }
  }
  assert.ok(checked > 10_000);
});

test('the InfoClimat reader takes every generated report without a single reject', () => {
  for (const { doc, name } of days) {
    const batch = new ReportBatch();
    const sink = batch.forFile({ file: name, rawKey: `raw/${name}`, source: 'infoclimat', fieldNames: INFOCLIMAT_FIELD_NAMES });
    readInfoclimatResponse(doc, name, sink, new Set());
    const rows = stationRows(doc).reduce((n, [, r]) => n + r.length, 0);
    assert.equal(batch.rowsRead, rows);
    assert.deepEqual(batch.rejects, []);
    assert.equal(batch.stations.size, STATIONS);
  }
});

test('diurnal cycle: afternoon warmer than before dawn, day after day', () => {
  let warmerDays = 0;
  let afternoonAll = 0;
  let predawnAll = 0;
  for (const { doc } of days) {
    let aft = 0;
    let na = 0;
    let pre = 0;
    let np = 0;
    for (const [, rows] of stationRows(doc)) {
      for (const r of rows) {
        const t = num(r.temperature);
        if (t === null) continue;
        const hour = Number((r.dh_utc as string).slice(11, 13));
        if (hour >= 12 && hour < 15) {
          aft += t;
          na++;
        } else if (hour >= 3 && hour < 6) {
          pre += t;
          np++;
        }
      }
    }
    if (aft / na > pre / np) warmerDays++;
    afternoonAll += aft / na;
    predawnAll += pre / np;
  }
  assert.ok(warmerDays >= DAYS - 1, `${warmerDays}/${DAYS} days warmer in the afternoon`);
  assert.ok(afternoonAll / DAYS - predawnAll / DAYS > 1.5, `mean afternoon ${afternoonAll / DAYS} vs pre-dawn ${predawnAll / DAYS}`);
});

test('missing values like the real API: null and "", gaps, no gust when calm', () => {
  let nulls = 0;
  let empties = 0;
  let calm = 0;
  let zeros = 0;
  let shortDays = 0;
  for (const { doc } of days) {
    for (const [id, rows] of stationRows(doc)) {
      const synop = id === '07015' || id === '07005';
      if (rows.length < (synop ? 24 : 144)) shortDays++;
      for (const r of rows) {
        for (const v of Object.values(r)) {
          if (v === null) nulls++;
          else if (v === '') empties++;
        }
        if (r.vent_moyen === '0') {
          calm++;
          assert.equal(r.vent_rafales, null);
        }
        if (r.pluie_1h === '0') zeros++;
      }
    }
  }
  assert.ok(nulls > 100, `nulls ${nulls}`);
  assert.ok(empties > 10, `empties ${empties}`);
  assert.ok(shortDays > 0, 'some station-days have gaps');
  assert.ok(calm > 0, 'some calm reports');
  assert.ok(zeros > 1000, '"0" is used for a real zero');
});

test('deterministic: same seed gives identical bytes, another seed different data', async () => {
  const again = join(root, 'again');
  const other = join(root, 'other');
  await generateStations({ stations: STATIONS, days: DAYS, out: again, seed: 7, wunderground: false });
  await generateStations({ stations: STATIONS, days: DAYS, out: other, seed: 8, wunderground: false });
  assert.deepEqual(
    (await readdir(again)).sort(),
    days.map((d) => d.name),
  );
  for (const { name, text } of days) {
    assert.equal(await readFile(join(again, name), 'utf8'), text, `${name} differs for the same seed`);
    assert.notEqual(await readFile(join(other, name), 'utf8'), text, `${name} identical for another seed`);
  }
  // Same stations whatever the seed.
  const otherDoc = JSON.parse(await readFile(join(other, days[0]?.name ?? ''), 'utf8')) as Day;
  assert.deepEqual(otherDoc.stations, days[0]?.doc.stations);
});

test('WU workbooks read back: local days across the autumn clock change, no rejects, daily total resets', async () => {
  const out = join(root, 'dst');
  const result = await generateStations({ stations: 4, days: 2, out, start: '2024-10-26', seed: 10 }); // a seed where it rains on the 26th
  const infoclimatRows = (
    await Promise.all(
      ['infoclimat-2024-10-26.json', 'infoclimat-2024-10-27.json'].map(async (f) =>
        stationRows(JSON.parse(await readFile(join(out, f), 'utf8')) as Day).reduce((n, [, r]) => n + r.length, 0),
      ),
    )
  ).reduce((a, b) => a + b, 0);
  let wuRows = 0;
  let resets = 0;
  for (const station of DEFAULT_WU_STATIONS) {
    const file = wundergroundFileName(station);
    const batch = new ReportBatch();
    const ctx = { file, rawKey: `raw/${file}`, source: 'wunderground', fieldNames: WUNDERGROUND_FIELD_NAMES };
    const times: number[] = [];
    const accum: Array<number | null> = [];
    const sink = batch.forFile(ctx);
    await readWundergroundWorkbook(
      join(out, file),
      { ...ctx, station },
      {
        ...sink,
        report: (loc, id, t, values) => {
          times.push(t);
          accum.push(values.precip_accum_mm ?? null);
          sink.report(loc, id, t, values);
        },
      },
    );
    assert.deepEqual(batch.rejects, [], `${station.id}: ${JSON.stringify(batch.rejects.slice(0, 2))}`);
    // 2 local days, the second one 25 hours long: 49 h of 5-minute rows, a few missing.
    assert.ok(times.length <= 49 * 12 && times.length > 49 * 12 - 30, `${station.id}: ${times.length} rows`);
    for (let i = 1; i < times.length; i++) assert.ok((times[i] ?? 0) > (times[i - 1] ?? 0), 'UTC instants strictly increase');
    const first = new Date(times[0] ?? 0);
    assert.equal(first.getUTCHours(), 22); // 00:0x local (UTC+2) on 26 October
    assert.ok(first.getUTCMinutes() >= 1 && first.getUTCMinutes() <= 5);
    assert.ok(accum.every((a) => a !== null && a >= 0));
    // The running total only goes down when it resets, once a day, always at the same wall-clock hour.
    const resetHours = new Set<number>();
    for (let i = 1; i < accum.length; i++) {
      const [a, b] = [accum[i - 1] ?? 0, accum[i] ?? 0];
      if (b < a) {
        assert.ok(b < 1, `${station.id}: reset to ${b} mm`);
        resetHours.add(new Date(times[i] ?? 0).getUTCHours());
        resets++;
      }
    }
    assert.ok(resetHours.size <= 1, `${station.id}: resets at ${[...resetHours].join(', ')} UTC`);
    wuRows += times.length;
  }
  assert.equal(result.reports, infoclimatRows + wuRows);
  assert.ok(resets > 0, 'it rained on one day and the total reset the next');
});

test('weather model: physical helpers and a continuous, correlated series', () => {
  assert.equal(relativeHumidity(10, 10), 100);
  assert.ok(Math.abs(relativeHumidity(20, dewPointFrom(20, 60)) - 60) < 1e-6);
  assert.ok(relativeHumidity(25, 5) < 30);
  assert.equal(diurnalShape(6, 6), -1);
  assert.equal(diurnalShape(14.5, 6), 1);
  const noon = sunPosition(Date.UTC(2024, 5, 21, 11, 50), 50.6, 3);
  const night = sunPosition(Date.UTC(2024, 5, 21, 0, 0), 50.6, 3);
  assert.ok(noon.cosZenith > 0.85 && night.cosZenith < 0);

  const start = Date.UTC(2024, 0, 1);
  const region = createRegion({ seed: 5, start, end: start + 20 * 86_400_000 });
  const opts = { start, stepMinutes: 30, count: 20 * 48 };
  const lille = weatherSeries(region, { latitude: 50.57, longitude: 3.1, elevation: 47 }, { ...opts, seed: 1 });
  const roubaix = weatherSeries(region, { latitude: 50.69, longitude: 3.18, elevation: 35 }, { ...opts, seed: 2 });
  let maxStep = 0;
  for (let i = 0; i < lille.length; i++) {
    const w = lille[i];
    assert.ok(w);
    assert.ok(w.dewPoint <= w.temperature && w.humidity <= 100 && w.humidity > 0);
    assert.ok(w.windGust >= w.windSpeed && w.windSpeed >= 0);
    assert.ok(w.pressure >= 850 && w.pressure <= 1100);
    assert.ok(w.solar >= 0 && w.uv >= 0 && w.precipRate >= 0);
    if (sunPosition(w.time, 50.57, 3.1).cosZenith <= 0) assert.equal(w.solar, 0);
    if (i > 0) maxStep = Math.max(maxStep, Math.abs(w.pressure - (lille[i - 1]?.pressure ?? 0)));
  }
  assert.ok(maxStep < 3, `pressure jumps ${maxStep} hPa in 30 minutes`);
  // Neighbours share the fronts: their pressures differ by little, and both see the troughs.
  const diffs = lille.map((w, i) => Math.abs(w.pressure - (roubaix[i]?.pressure ?? 0)));
  assert.ok(Math.max(...diffs) < 5);
  const range = Math.max(...lille.map((w) => w.pressure)) - Math.min(...lille.map((w) => w.pressure));
  assert.ok(range > 10, `pressure range ${range} hPa over 20 days`);
});

test('random: seeded, reproducible, well spread', () => {
  const a = new Rng(42, 'x');
  const b = new Rng(42, 'x');
  const c = new Rng(42, 'y');
  const sa = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    sa,
    Array.from({ length: 5 }, () => b.next()),
  );
  assert.notDeepEqual(
    sa,
    Array.from({ length: 5 }, () => c.next()),
  );
  assert.notEqual(hashSeed(1, 'a'), hashSeed(1, 'b'));
  const r = new Rng(1);
  let sum = 0;
  let sq = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    sum += z;
    sq += z * z;
  }
  assert.ok(Math.abs(sum / n) < 0.05 && Math.abs(sq / n - 1) < 0.05);
  for (let i = 0; i < 1000; i++) {
    const k = r.int(2, 4);
    assert.ok(k >= 2 && k <= 4 && Number.isInteger(k));
  }
  assert.ok(['a', 'b'].includes(r.pick(['a', 'b'])));
  assert.throws(() => r.pick([]));
});

test('compass words and argument checks', async () => {
  assert.equal(compassWord(0), 'North');
  assert.equal(compassWord(22.5), 'NNE');
  assert.equal(compassWord(90), 'East');
  assert.equal(compassWord(247), 'WSW');
  assert.equal(compassWord(350), 'North');
  await assert.rejects(generateStations({ stations: 1, days: 1, out: join(root, 'bad'), start: '2024-02-30' }), /YYYY-MM-DD/);
  await assert.rejects(generateStations({ stations: 0, days: 1, out: join(root, 'bad') }), /stations/);
});
