import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { writeSynop } from '../../../src/connectors/generators/synop.js';
import { executeRun } from '../../../src/orchestrator/runner.js';
import type { Platform } from '../../../src/pipelines/kit/pipeline.js';
import { synopPipeline } from '../../../src/pipelines/synop/pipeline.js';
import { cityViewName, MYSQL_TABLE } from '../../../src/pipelines/synop/mysqlStaging.js';
import { redactUrl } from '../../../src/observability/redact.js';
import { buildApp } from '../../../src/server/app.js';
import { openPlatform, tempHome, withPlatform } from '../../helpers/platform.js';
import { MYSQL_BASE, skipUnlessMysql } from '../../helpers/warehouses.js';

/** A database of this file's own: the table name is fixed, other suites must not see it. */
const DB = `ecluse_t_mysqlstaging_${process.pid}`;

function urlOf(db: string): string {
  const u = new URL(MYSQL_BASE);
  u.pathname = `/${db}`;
  return u.toString();
}

describe('synop MySQL staging on MariaDB', { skip: await skipUnlessMysql() }, () => {
  let admin: mysql.Connection;
  let dbs: string[] = [];
  before(async () => {
    admin = await mysql.createConnection({ uri: MYSQL_BASE });
  });
  after(async () => {
    for (const db of dbs) await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await admin.end();
  });
  const freshDb = async (suffix: string) => {
    const db = `${DB}_${suffix}`;
    await admin.query(`DROP DATABASE IF EXISTS \`${db}\``);
    await admin.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`);
    dbs = [...dbs, db];
    return db;
  };
  const mysqlCount = async (db: string, from = MYSQL_TABLE) => {
    const [rows] = await admin.query(`SELECT count(*) AS n, count(DISTINCT numer_sta, observed_at) AS k FROM \`${db}\`.\`${from}\``);
    const r = (rows as { n: number; k: number }[])[0]!;
    return { n: Number(r.n), keys: Number(r.k) };
  };
  const whCount = (home: string, where = 'true') =>
    withPlatform(home, async (p: Platform) => Number((await p.warehouse.query(`SELECT count(*) AS n FROM observations WHERE ${where}`))[0]?.n));

  const input = async (home: string) => {
    const dir = join(home, 'in');
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'synop.jsonl');
    await writeSynop(path, 'jsonl', { stations: 3, from: '2024-03-01', to: '2024-03-04', seed: 11 });
    return path;
  };

  test('the run writes the table and one view per city; equal to the warehouse; a rerun adds nothing', async () => {
    const home = await tempHome();
    const db = await freshDb('a');
    const file = await input(home);
    const run = await withPlatform(home, (p) => executeRun(p, synopPipeline, { inputs: [file], staging: urlOf(db), trigger: 'cli' }));
    assert.equal(run.status, 'succeeded', run.error ?? '');
    assert.ok(run.rows_written > 50);
    const total = await whCount(home);
    assert.deepEqual(await mysqlCount(db), { n: total, keys: total });

    // One view per city, named by the slug of `nom`, holding that station's rows.
    const stations = await withPlatform(home, (p) =>
      p.warehouse.query(`SELECT numer_sta, min(nom) AS nom, count(*) AS n FROM observations GROUP BY numer_sta ORDER BY numer_sta`),
    );
    const [views] = await admin.query(`SELECT table_name AS name FROM information_schema.views WHERE table_schema = ? ORDER BY 1`, [db]);
    assert.deepEqual(
      (views as { name: string }[]).map((v) => v.name),
      stations.map((s) => cityViewName(String(s.nom))).sort(),
    );
    for (const s of stations) assert.equal((await mysqlCount(db, cityViewName(String(s.nom)))).n, Number(s.n));

    // Values, not just counts: missing stays NULL, conversions and traces are carried over.
    const [agg] = await admin.query(
      `SELECT round(sum(temperature_c), 6) AS t, sum(pmer IS NULL) AS no_pmer, sum(precip_3h_trace) AS traces FROM \`${db}\`.${MYSQL_TABLE}`,
    );
    const wh = (
      await withPlatform(home, (p) =>
        p.warehouse.query(
          `SELECT round(sum(temperature_c), 6) AS t, sum(CASE WHEN pmer IS NULL THEN 1 ELSE 0 END) AS no_pmer, sum(CASE WHEN precip_3h_trace THEN 1 ELSE 0 END) AS traces FROM observations`,
        ),
      )
    )[0]!;
    const my = (agg as Record<string, unknown>[])[0]!;
    assert.equal(Number(my.t), Number(wh.t));
    assert.equal(Number(my.no_pmer), Number(wh.no_pmer));
    assert.equal(Number(my.traces), Number(wh.traces));

    // The same records in another file (other bytes, so staged again): first value kept, nothing added.
    const lines = (await readFile(file, 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .reverse();
    const again = join(home, 'in', 'again.jsonl');
    await writeFile(again, lines.join('\n') + '\n');
    const rerun = await withPlatform(home, (p) => executeRun(p, synopPipeline, { inputs: [again], staging: urlOf(db), trigger: 'cli' }));
    assert.equal(rerun.status, 'succeeded', rerun.error ?? '');
    assert.equal(rerun.rows_written, 0);
    assert.deepEqual(await mysqlCount(db), { n: total, keys: total });
  });

  test('a server that refuses LOAD DATA LOCAL gets multi-row inserts: the same rows, values and views; a rerun adds nothing', async () => {
    const home = await tempHome();
    const db = await freshDb('noinfile');
    const file = await input(home);
    const [[setting]] = (await admin.query(`SELECT @@GLOBAL.local_infile AS v`)) as unknown as [[{ v: number }]];
    await admin.query(`SET GLOBAL local_infile = 0`);
    try {
      const run = await withPlatform(home, (p) => executeRun(p, synopPipeline, { inputs: [file], staging: urlOf(db), trigger: 'cli' }));
      assert.equal(run.status, 'succeeded', run.error ?? '');
      const total = await whCount(home);
      assert.ok(total > 50);
      assert.deepEqual(await mysqlCount(db), { n: total, keys: total });
      const [agg] = await admin.query(
        `SELECT round(sum(temperature_c), 6) AS t, sum(pmer IS NULL) AS no_pmer, sum(precip_3h_trace) AS traces, min(observed_at) AS first FROM \`${db}\`.${MYSQL_TABLE}`,
      );
      const wh = (
        await withPlatform(home, (p) =>
          p.warehouse.query(
            `SELECT round(sum(temperature_c), 6) AS t, sum(CASE WHEN pmer IS NULL THEN 1 ELSE 0 END) AS no_pmer, sum(CASE WHEN precip_3h_trace THEN 1 ELSE 0 END) AS traces, strftime(min(observed_at), '%Y-%m-%d %H:%M:%S') AS first FROM observations`,
          ),
        )
      )[0]!;
      const my = (agg as Record<string, unknown>[])[0]!;
      assert.equal(Number(my.t), Number(wh.t));
      assert.equal(Number(my.no_pmer), Number(wh.no_pmer));
      assert.equal(Number(my.traces), Number(wh.traces));
      const [[firstText]] = (await admin.query(`SELECT DATE_FORMAT(min(observed_at), '%Y-%m-%d %H:%i:%s') AS f FROM \`${db}\`.${MYSQL_TABLE}`)) as unknown as [
        [{ f: string }],
      ];
      assert.equal(firstText.f, wh.first, 'instants carried without a time-zone shift');
      // The run's log says which way the rows went.
      const logs = await withPlatform(home, (p) => p.warehouse.query(`SELECT msg FROM run_logs WHERE run_id = $1 AND msg LIKE 'MySQL staging%'`, [run.run_id]));
      assert.match(String(logs[0]?.msg), /multi-row inserts/);
      const [views] = await admin.query(`SELECT count(*) AS n FROM information_schema.views WHERE table_schema = ?`, [db]);
      assert.equal(Number((views as { n: number }[])[0]?.n), 3);

      const lines = (await readFile(file, 'utf8'))
        .split('\n')
        .filter((l) => l.trim() !== '')
        .reverse();
      const again = join(home, 'in', 'again.jsonl');
      await writeFile(again, lines.join('\n') + '\n');
      const rerun = await withPlatform(home, (p) => executeRun(p, synopPipeline, { inputs: [again], staging: urlOf(db), trigger: 'cli' }));
      assert.equal(rerun.status, 'succeeded', rerun.error ?? '');
      assert.deepEqual(await mysqlCount(db), { n: total, keys: total });
    } finally {
      await admin.query(`SET GLOBAL local_infile = ?`, [Number(setting.v)]);
    }
  });

  test('ECLUSE_SYNOP_MYSQL configures it; a crash before the warehouse commit, then a rerun: no duplicates, nothing lost', async () => {
    const home = await tempHome();
    const db = await freshDb('b');
    const file = await input(home);
    const env = { ECLUSE_SYNOP_MYSQL: urlOf(db) };
    const stop = new AbortController();
    const crashed = await withPlatform(
      home,
      (p) =>
        executeRun(
          p,
          synopPipeline,
          { inputs: [file], trigger: 'cli' },
          (e) => {
            if (e.step === 'load') stop.abort(new Error('simulated crash before the warehouse commit'));
          },
          { signal: stop.signal },
        ),
      env,
    );
    assert.equal(crashed.status, 'failed');
    assert.equal(await whCount(home), 0);
    const early = await mysqlCount(db);
    assert.ok(early.n > 0, 'MySQL got the rows before the warehouse commit');

    const rerun = await withPlatform(home, (p) => executeRun(p, synopPipeline, { inputs: [file], trigger: 'cli' }), env);
    assert.equal(rerun.status, 'succeeded', rerun.error ?? '');
    const total = await whCount(home);
    assert.equal(total, early.n);
    assert.deepEqual(await mysqlCount(db), { n: total, keys: total });
  });

  test('a wrong password fails the run without printing it', async () => {
    const home = await tempHome();
    const file = await input(home);
    const u = new URL(urlOf('test'));
    u.password = 'hunter2';
    const run = await withPlatform(home, (p) => executeRun(p, synopPipeline, { inputs: [file], staging: u.toString(), trigger: 'cli' }));
    assert.equal(run.status, 'failed');
    assert.doesNotMatch(run.error ?? '', /hunter2/);
    assert.match(run.error ?? '', /synop MySQL staging/);
    assert.equal(redactUrl(u.toString()).includes('hunter2'), false);
    assert.equal(await whCount(home).catch(() => 0), 0);
  });

  test('GET /health reports mysql when configured, 503 without a password in the error when it does not answer', async () => {
    for (const [url, ok] of [
      [urlOf('test'), true],
      ['mysql://root:hunter2@127.0.0.1:9/test', false],
    ] as const) {
      const platform = await openPlatform(await tempHome(), { ECLUSE_SYNOP_MYSQL: url });
      const app = await buildApp({ platform, logger: false });
      try {
        const r = await app.inject('/health');
        assert.equal(r.statusCode, ok ? 200 : 503);
        const body = r.json();
        assert.deepEqual([body.mysql.kind, body.mysql.ok], ['mysql', ok]);
        assert.doesNotMatch(r.body, /hunter2/);
      } finally {
        await app.close();
        await platform.warehouse.close();
      }
    }
    const plain = await openPlatform(await tempHome());
    const app = await buildApp({ platform: plain, logger: false });
    try {
      assert.equal((await app.inject('/health')).json().mysql, undefined);
    } finally {
      await app.close();
      await plain.warehouse.close();
    }
  });
});
