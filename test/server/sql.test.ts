import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { executeRun } from '../../src/orchestrator/runner.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { stationsPipeline } from '../../src/pipelines/stations/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import type { SqlAnswer, SqlLimits } from '../../src/warehouse/readOnlySql.js';
import { dayResponse } from '../fixtures/infoclimat.js';
import { openPlatform, tempHome, writeInputs } from '../helpers/platform.js';
import { dropSchemas, PG_BASE, schemaFor, skipUnless, warehouseFor, type WarehouseKind } from '../helpers/warehouses.js';

const TOKEN = 'test-token-sql-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

/** Known attacks on a read-only SQL endpoint and their kin, each of which must be refused (400) without its effect. */
const REFUSED_EVERYWHERE = [
  'DROP TABLE reports',
  'DELETE FROM reports',
  'UPDATE reports SET temperature_c = 99',
  'CREATE TABLE evil (a INT)',
  'select 1; drop table reports',
  'select 1 as x; select 2 as y',
  "SET memory_limit = '1MB'",
  'SET statement_timeout = 1',
  'VACUUM',
];

const REFUSED_ON_DUCKDB = [
  "select * from read_text('/etc/passwd')",
  "select content from read_blob('/etc/passwd')",
  "from '/etc/passwd'",
  "select * from '/etc/passwd'",
  "select * from read_csv('/etc/passwd')",
  "select * from read_json_auto('/etc/passwd')",
  "select * from read_parquet('/etc/*.parquet')",
  "select * from glob('/etc/*')",
  "select * from query('select * from read_text(''/etc/passwd'')')",
  "select * from query_table('reports')",
  'select * from duckdb_secrets()',
  'select * from duckdb_settings()',
  "select getenv('HOME')",
  "select current_setting('memory_limit')",
  "select current_setting('s3_secret_access_key')",
  "select getvariable('x')",
  "select nextval('runs_seq')",
  "describe '/etc/passwd'",
  // A CTE named like a file is in scope inside its query only: outside, the name is a file again.
  `select * from (with "/etc/passwd" as (select 1 as a) select * from "/etc/passwd"), '/etc/passwd'`,
  'select * from system.main.duckdb_tables()',
  'select * from memory.main.x',
  'select * from temp.main.reports',
  'select * from information_schema.tables',
  "copy (select 1) to '/tmp/ecluse-sql-test.csv'",
  "attach '/tmp/ecluse-sql-test.duckdb' as x",
  'pragma database_list',
  'call duckdb_settings()',
  'install httpfs',
  'load httpfs',
  'checkpoint',
  "select * from reports, read_text('/etc/passwd')",
  "select (select content from read_text('/etc/passwd'))",
  "select * from reports where station_id in (select content from read_text('/etc/passwd'))",
  "select main.current_setting('threads')",
  "select json_serialize_plan('select * from read_json(''/etc/passwd'')')",
  // A type DuckDB does not have built in would be downloaded and installed as an extension.
  "select '1.1.1.1'::INET",
  "select {'a': '1.1.1.1'}::STRUCT(a INET)",
  "select 'a'::main.mytype",
];

const REFUSED_ON_POSTGRES = [
  "select pg_read_file('/etc/passwd')",
  "select * from pg_ls_dir('.')",
  "select lo_import('/etc/passwd')",
  "copy (select 1) to '/tmp/ecluse-sql-test.csv'",
  "select set_config('role', 'postgres', true), * from reports",
  'reset role',
  "select set_config('transaction_read_only', 'off', true)",
  "select current_setting('data_directory')",
  'select * from pg_authid',
  'with d as (delete from reports returning 1) select count(*) from d',
  "select nextval('runs_seq')",
];

for (const kind of ['duckdb', 'postgres'] as WarehouseKind[])
  describe(`POST /sql on ${kind}: a read endpoint`, { skip: await skipUnless(kind) }, () => {
    let home: string;
    let platform: Platform;
    let app: FastifyInstance;
    let reportCount: number;

    const sql = (body: string, url = '/sql'): Promise<LightMyRequestResponse> => app.inject({ method: 'POST', url, payload: { sql: body }, headers: auth });

    /** An app over the same warehouse with other limits. */
    async function withLimits<T>(limits: Partial<SqlLimits>, fn: (a: FastifyInstance) => Promise<T>): Promise<T> {
      const config = { ...platform.config, sqlLimits: { ...platform.config.sqlLimits, ...limits } };
      const other = await buildApp({ platform: { ...platform, config }, logger: false, localToken: TOKEN });
      try {
        return await fn(other);
      } finally {
        await other.close();
      }
    }

    before(async () => {
      home = await tempHome('ecluse-sqlro-');
      const env: Record<string, string> = {};
      const wh = warehouseFor(kind, home);
      if (wh) env.ECLUSE_WAREHOUSE = wh;
      platform = await openPlatform(home, env);
      const input = await writeInputs(join(home, 'in'), { 'a.json': dayResponse('2024-10-05') });
      const summary = await executeRun(platform, stationsPipeline, { inputs: [input], trigger: 'cli' });
      assert.equal(summary.status, 'succeeded');
      reportCount = Number((await platform.warehouse.query('SELECT count(*) AS n FROM reports'))[0]?.n);
      assert.ok(reportCount > 0);
      app = await buildApp({ platform, logger: false, localToken: TOKEN });
    });

    after(async () => {
      await app?.close();
      await platform?.warehouse.close();
      if (kind === 'postgres') await dropSchemas([home]);
    });

    test('a SELECT answers its columns and rows, with values as the contract says', async () => {
      const r = await sql(
        "select station_id, count(*) as n, max(observed_at) as last, DATE '2024-10-05' as day, 9007199254740993::BIGINT as big from reports group by station_id order by station_id",
      );
      assert.equal(r.statusCode, 200, r.body);
      const answer = r.json<SqlAnswer>();
      assert.deepEqual(answer.columns, ['station_id', 'n', 'last', 'day', 'big']);
      assert.equal(answer.truncated, false);
      assert.equal(answer.row_count, answer.rows.length);
      assert.deepEqual(answer.limit, { rows: 10_000, bytes: 16 * 1024 * 1024 });
      const first = answer.rows[0] as Record<string, unknown>;
      assert.match(String(first.last), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(first.day, '2024-10-05');
      assert.equal(first.big, '9007199254740993');
      assert.equal(typeof first.n, 'number');
    });

    test('what a reader needs still works: CTEs, joins, subqueries, window functions, set operations, table functions', async () => {
      for (const q of [
        'with s as (select station_id from reports), t as (select * from s) select count(*) as n from t',
        'with recursive c(n) as (select 1 union all select n + 1 from c where n < 3) select sum(n) as n from c',
        'select r.station_id, s.name from reports r join stations s on s.id = r.station_id limit 1',
        'select station_id, row_number() over (partition by station_id order by observed_at) as k from reports limit 3',
        'select count(*) as n from reports where station_id in (select id from stations)',
        'select 1 as n union all select 2',
        'select 1 as n;',
        'select * from generate_series(1, 3) as g(n)',
        "select lower('ABC') as a, coalesce(null, 2) as b, round(2.55, 1) as c, 'a' || 'b' as d, now() is not null as f",
        'select * from runs where run_id > 0',
        'select * from rejects limit 1',
      ]) {
        const r = await sql(q);
        assert.equal(r.statusCode, 200, `${q}: ${r.body}`);
      }
      if (kind === 'duckdb') {
        for (const q of [
          'describe reports',
          'show tables',
          'summarize select 1 as a',
          'from reports select station_id limit 1',
          'select * from range(3)',
          'select * from unnest([1, 2])',
          'select list_transform([1, 2], x -> x + 1) as l',
          'select [1, 2][1] as e',
          'table stations',
          "select '{}'::JSON as j, 1::DECIMAL(10, 2) as d, [1]::INT[] as l, 'a'::TEXT as t",
        ]) {
          const r = await sql(q);
          assert.equal(r.statusCode, 200, `${q}: ${r.body}`);
        }
      }
    });

    test("known attacks are refused, and leave the warehouse, the settings and the server's files as they were", async () => {
      const attacks = [...REFUSED_EVERYWHERE, ...(kind === 'duckdb' ? REFUSED_ON_DUCKDB : REFUSED_ON_POSTGRES)];
      for (const q of attacks) {
        const r = await sql(q);
        assert.equal(r.statusCode, 400, `${q}: ${r.statusCode} ${r.body}`);
        const body = r.json<{ error: string; message: string }>();
        assert.match(body.error, /^sql_(refused|error)$/, `${q}: ${r.body}`);
        assert.doesNotMatch(r.body, /root:/, `${q} read /etc/passwd`);
      }
      assert.equal(existsSync('/tmp/ecluse-sql-test.csv'), false, 'COPY TO wrote a file');
      assert.equal(existsSync('/tmp/ecluse-sql-test.duckdb'), false, 'ATTACH created a database');
      const [count] = await platform.warehouse.query('SELECT count(*) AS n FROM reports');
      assert.equal(Number(count?.n), reportCount, 'the reports are all still there');
      assert.equal(Number((await platform.warehouse.query('SELECT count(*) AS n FROM reports WHERE temperature_c = 99'))[0]?.n), 0);
      const served = await app.inject('/stations/07015/reports?date=2024-10-05');
      assert.ok(served.json<{ total: number }>().total > 0, 'the API still serves the reports');
      if (kind === 'duckdb') {
        const [setting] = await platform.warehouse.query("SELECT current_setting('memory_limit') AS m");
        assert.notEqual(setting?.m, '1.0 MB', 'SET memory_limit stuck');
        assert.notEqual(setting?.m, '976.5 KiB', 'SET memory_limit stuck');
      }
    });

    test('refusals say why', async () => {
      for (const payload of [{ query: 'select 1' }, { sql: 'select 1', params: [] }, { sql: '' }]) {
        const r = await app.inject({ method: 'POST', url: '/sql', payload, headers: auth });
        assert.equal(r.statusCode, 400, JSON.stringify(payload));
        assert.equal(r.json<{ error: string }>().error, 'bad_request');
      }
      assert.match((await sql('DROP TABLE reports')).json<{ message: string }>().message, /only one SELECT/i);
      assert.match((await sql('select 1; drop table reports')).json<{ message: string }>().message, /SELECT/);
      assert.equal((await sql('selec 1')).json<{ error: string }>().error, 'sql_error');
      assert.match((await sql('selec 1')).json<{ message: string }>().message, /syntax/i);
      if (kind === 'duckdb') {
        const files = (await sql("select * from '/etc/passwd'")).json<{ error: string; message: string }>();
        assert.equal(files.error, 'sql_refused');
        assert.match(files.message, /"\/etc\/passwd" \(at character 15\) is not a table or view of the warehouse/);
        assert.match((await sql("select * from read_text('/etc/passwd')")).json<{ message: string }>().message, /read_text\(\) is not allowed/);
        assert.match((await sql("select current_setting('threads')")).json<{ message: string }>().message, /current_setting\(\).*settings/);
      } else {
        const file = (await sql("select pg_read_file('/etc/passwd')")).json<{ error: string; message: string }>();
        assert.equal(file.error, 'sql_refused');
        assert.match(file.message, /permission denied/);
      }
    });

    test('an answer stops at the row limit and says so, whatever the statement would return', async () => {
      const big = kind === 'duckdb' ? 'select * from range(5000000)' : 'select * from generate_series(1, 5000000)';
      const started = Date.now();
      const r = await sql(big);
      assert.equal(r.statusCode, 200, r.body);
      const answer = r.json<SqlAnswer>();
      assert.equal(answer.row_count, 10_000);
      assert.equal(answer.rows.length, 10_000);
      assert.equal(answer.truncated, true);
      assert.ok(r.body.length < 1024 * 1024, `${r.body.length} bytes`);
      // Stopping at the limit means not computing the rest: far below the seconds 5M rows take.
      assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
      await withLimits({ maxRows: 3 }, async (small) => {
        const exact = (
          await small.inject({ method: 'POST', url: '/sql', payload: { sql: 'select * from generate_series(1, 3)' }, headers: auth })
        ).json<SqlAnswer>();
        assert.deepEqual([exact.row_count, exact.truncated], [3, false], 'exactly the limit is not a cut');
        const over = (
          await small.inject({ method: 'POST', url: '/sql', payload: { sql: 'select * from generate_series(1, 4)' }, headers: auth })
        ).json<SqlAnswer>();
        assert.deepEqual([over.row_count, over.truncated, over.limit?.rows], [3, true, 3]);
      });
    });

    test('an answer stops at the byte limit and says so', async () => {
      await withLimits({ maxBytes: 10_000 }, async (small) => {
        const r = await small.inject({
          method: 'POST',
          url: '/sql',
          payload: { sql: "select repeat('x', 1000) as s from generate_series(1, 100)" },
          headers: auth,
        });
        assert.equal(r.statusCode, 200, r.body);
        const answer = r.json<SqlAnswer>();
        assert.equal(answer.truncated, true);
        assert.ok(answer.row_count >= 8 && answer.row_count < 10, String(answer.row_count));
        assert.ok(JSON.stringify(answer.rows).length <= 10_000);
      });
    });

    test('a statement is stopped at the timeout, and the next one runs', async () => {
      const slow = kind === 'duckdb' ? 'select count(*) from range(1000000) a, range(1000000) b' : 'select pg_sleep(5)';
      await withLimits({ timeoutMs: 300 }, async (fast) => {
        const started = Date.now();
        const r = await fast.inject({ method: 'POST', url: '/sql', payload: { sql: slow }, headers: auth });
        assert.equal(r.statusCode, 400, r.body);
        assert.equal(r.json<{ error: string }>().error, 'sql_timeout');
        assert.match(r.json<{ message: string }>().message, /0\.3 s/);
        assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`);
      });
      assert.equal((await sql('select 1 as x')).json<SqlAnswer>().rows[0]?.x, 1);
    });

    test('POST /admin/sql writes, and cached answers follow', async () => {
      const url = '/stations/07015/reports?date=2024-10-05';
      await app.inject(url);
      assert.equal((await app.inject(url)).headers['x-cache'], 'hit');
      const r = await sql("UPDATE reports SET temperature_c = 42 WHERE station_id = '07015' AND observed_at = '2024-10-05 00:00:00'", '/admin/sql');
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json<SqlAnswer>().limit, null);
      const served = await app.inject(url);
      assert.equal(served.headers['x-cache'], 'miss');
      assert.equal(served.json<{ items: { temperature_c: number }[] }>().items[0]?.temperature_c, 42);
      const none = await app.inject({ method: 'POST', url: '/admin/sql', payload: { sql: 'select 1' } });
      assert.equal(none.statusCode, 401);
    });

    if (kind === 'postgres') {
      test('a reader login that cannot serve is refused: 503 saying why, never a fallback to a writing login', async () => {
        for (const [reader, why] of [
          [PG_BASE.replace('//postgres@', '//ecluse_no_such_reader@'), /role ecluse_no_such_reader does not exist/],
          [PG_BASE, /warehouse's own login, which can write/],
        ] as const) {
          const other = await openPlatform(home, { ECLUSE_WAREHOUSE: warehouseFor(kind, home) ?? '', ECLUSE_WAREHOUSE_READER: reader });
          const otherApp = await buildApp({ platform: other, logger: false, localToken: TOKEN });
          try {
            const r = await otherApp.inject({ method: 'POST', url: '/sql', payload: { sql: 'select 1 as x' }, headers: auth });
            assert.equal(r.statusCode, 503, r.body);
            assert.equal(r.json<{ error: string }>().error, 'sql_unavailable');
            assert.match(r.json<{ message: string }>().message, why);
            assert.match(r.json<{ message: string }>().message, /ECLUSE_WAREHOUSE_READER/);
          } finally {
            await otherApp.close();
            await other.warehouse.close();
          }
        }
      });

      test("the reader sees ecluse's schema only, and cannot become anyone else", async () => {
        const admin = new pg.Client({ connectionString: PG_BASE });
        await admin.connect();
        const other = `${schemaFor(home)}_other`;
        try {
          await admin.query(`CREATE SCHEMA IF NOT EXISTS ${other}; CREATE TABLE IF NOT EXISTS ${other}.secrets AS SELECT 'hunter2' AS s`);
          for (const q of [
            `select * from ${other}.secrets`,
            'select * from public.pg_stat_statements',
            "select set_config('role', 'postgres', false)",
            'set role postgres',
          ]) {
            const r = await sql(q);
            assert.equal(r.statusCode, 400, `${q}: ${r.body}`);
            assert.doesNotMatch(r.body, /hunter2/);
          }
          const who = (await sql('select current_user as u, session_user as s')).json<SqlAnswer>().rows[0];
          assert.match(String(who?.u), /_reader$/);
          assert.equal(who?.s, who?.u);
          // A session setting made by a statement does not outlive it.
          assert.equal((await sql("select set_config('search_path', 'pg_catalog', false) as p")).statusCode, 200);
          assert.equal((await sql('select count(*) as n from reports')).json<SqlAnswer>().rows[0]?.n, reportCount);
          // Nor a session lock: taking ecluse's DDL lock would otherwise block every later migration.
          assert.equal((await sql("select pg_advisory_lock(hashtext('ecluse-ddl')) as l")).statusCode, 200);
          // The server ends the reader's backend just after the connection closes: a moment may pass.
          let got = false;
          for (let i = 0; i < 40 && !got; i++) {
            got = (await admin.query<{ got: boolean }>(`SELECT pg_try_advisory_lock(hashtext('ecluse-ddl')) AS got`)).rows[0]?.got === true;
            if (!got) await new Promise((r) => setTimeout(r, 50));
          }
          assert.equal(got, true, 'the lock taken through /sql outlived the statement');
          await admin.query(`SELECT pg_advisory_unlock(hashtext('ecluse-ddl'))`);
        } finally {
          await admin.query(`DROP SCHEMA IF EXISTS ${other} CASCADE`);
          await admin.end();
        }
      });
    }
  });
