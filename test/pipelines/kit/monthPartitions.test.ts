import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckSession, literal } from '../../../src/engine/duckdb.js';
import { FolderStore } from '../../../src/lake/folderStore.js';
import { monthPartitionKey } from '../../../src/lake/layout.js';
import {
  assertLakeLayout,
  formerLayoutKey,
  LakeLayoutError,
  rewriteMonthPartitions,
  ROW_GROUP_ROWS,
  type MonthDataset,
} from '../../../src/pipelines/kit/monthPartitions.js';

const READINGS: MonthDataset = { prefix: 'staging/readings/', order: ['meter', 'taken_at'], month: `strftime(taken_at, '%Y-%m')` };

async function withLake(fn: (s: DuckSession, lake: FolderStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ecluse-months-'));
  const s = await DuckSession.open();
  try {
    await fn(s, new FolderStore(join(dir, 'lake')), dir);
  } finally {
    s.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The rows of one month's file, as the lake holds them (in file order). */
async function monthRows(s: DuckSession, lake: FolderStore, month: string): Promise<{ meter: string; at: string; v: number }[]> {
  const path = join(lake.root, monthPartitionKey(READINGS.prefix, month));
  return (await s.plainRows(`SELECT meter, strftime(taken_at, '%Y-%m-%d %H:%M') AS at, v FROM read_parquet(${literal(path)})`)) as {
    meter: string;
    at: string;
    v: number;
  }[];
}

test('month partitions: one file per month, existing rows win over the run, untouched months stay as they are', async () => {
  await withLake(async (s, lake, dir) => {
    await s.run(`CREATE TABLE run1 AS SELECT * FROM (VALUES ('b', TIMESTAMP '2024-01-31 23:00', 1.0), ('a', TIMESTAMP '2024-02-01 00:00', 2.0),
      ('a', TIMESTAMP '2024-01-15 12:00', 3.0)) t(meter, taken_at, v)`);
    const first = await rewriteMonthPartitions(s, lake, READINGS, { rows: 'run1', existing: { firstWins: ['meter', 'taken_at'] }, scratch: join(dir, 's1') });
    assert.deepEqual(first.months, ['2024-01', '2024-02']);
    assert.deepEqual([...first.fresh].sort(), ['2024-01', '2024-02']);
    assert.equal(first.written, 2);
    assert.deepEqual(
      (await lake.list(READINGS.prefix)).map((o) => o.key),
      ['staging/readings/month=2024-01/data.parquet', 'staging/readings/month=2024-02/data.parquet'],
    );
    // Sorted by meter then time, whatever the run's order.
    assert.deepEqual(await monthRows(s, lake, '2024-01'), [
      { meter: 'a', at: '2024-01-15 12:00', v: 3 },
      { meter: 'b', at: '2024-01-31 23:00', v: 1 },
    ]);
    const february = await lake.getBytes(monthPartitionKey(READINGS.prefix, '2024-02'));

    // The same key again with another value, and a new row: the first value stays, February is not rewritten.
    await s.run(
      `CREATE TABLE run2 AS SELECT * FROM (VALUES ('b', TIMESTAMP '2024-01-31 23:00', 9.0), ('a', TIMESTAMP '2024-01-01 00:00', 4.0)) t(meter, taken_at, v)`,
    );
    const second = await rewriteMonthPartitions(s, lake, READINGS, { rows: 'run2', existing: { firstWins: ['meter', 'taken_at'] }, scratch: join(dir, 's2') });
    assert.deepEqual(second.months, ['2024-01']);
    assert.equal(second.fresh.size, 0);
    assert.deepEqual(await monthRows(s, lake, '2024-01'), [
      { meter: 'a', at: '2024-01-01 00:00', v: 4 },
      { meter: 'a', at: '2024-01-15 12:00', v: 3 },
      { meter: 'b', at: '2024-01-31 23:00', v: 1 },
    ]);
    assert.deepEqual(await lake.getBytes(monthPartitionKey(READINGS.prefix, '2024-02')), february);
  });
});

test('month partitions: replaced rows go, and a month asked for that is left without rows is deleted', async () => {
  await withLake(async (s, lake, dir) => {
    await s.run(
      `CREATE TABLE run1 AS SELECT * FROM (VALUES ('a', TIMESTAMP '2024-03-02 00:00', 1.0), ('b', TIMESTAMP '2024-04-02 00:00', 2.0)) t(meter, taken_at, v)`,
    );
    await rewriteMonthPartitions(s, lake, READINGS, { rows: 'run1', existing: { firstWins: ['meter', 'taken_at'] }, scratch: join(dir, 's1') });
    // Recomputed: meter a's rows move out of March; April's meter b is replaced.
    await s.run(`CREATE TABLE run2 AS SELECT * FROM (VALUES ('b', TIMESTAMP '2024-04-03 00:00', 5.0)) t(meter, taken_at, v)`);
    const done = await rewriteMonthPartitions(s, lake, READINGS, {
      rows: 'run2',
      existing: { replaceWhere: `e.meter IN ('a', 'b')` },
      months: ['2024-03'],
      scratch: join(dir, 's2'),
    });
    assert.deepEqual(done.months, ['2024-03', '2024-04']);
    assert.equal(done.written, 1);
    assert.equal(await lake.exists(monthPartitionKey(READINGS.prefix, '2024-03')), false, 'March held only replaced rows');
    assert.deepEqual(await monthRows(s, lake, '2024-04'), [{ meter: 'b', at: '2024-04-03 00:00', v: 5 }]);
  });
});

test('month partitions: row groups follow the sort, so a reader of one meter prunes the others by their statistics', async () => {
  await withLake(async (s, lake, dir) => {
    // 20 meters × 700 readings in one month, in no particular order.
    await s.run(`CREATE TABLE run1 AS SELECT printf('m%02d', i % 20) AS meter, TIMESTAMP '2024-05-01' + INTERVAL (i // 20) MINUTE AS taken_at, random() AS v
      FROM range(14000) r(i) ORDER BY v`);
    await rewriteMonthPartitions(s, lake, READINGS, { rows: 'run1', existing: { firstWins: ['meter', 'taken_at'] }, scratch: join(dir, 's') });
    const path = join(lake.root, monthPartitionKey(READINGS.prefix, '2024-05'));
    const groups = (await s.plainRows(
      `SELECT stats_min_value AS lo, stats_max_value AS hi, row_group_num_rows::INTEGER AS n FROM parquet_metadata(${literal(path)})
       WHERE path_in_schema = 'meter' ORDER BY row_group_id`,
    )) as { lo: string; hi: string; n: number }[];
    assert.ok(groups.length >= 14000 / ROW_GROUP_ROWS, `${groups.length} row groups`);
    for (const g of groups) assert.ok(g.n <= ROW_GROUP_ROWS);
    // Meter m07's 700 rows lie in at most 2 row groups of 2,048: a reader skips the others.
    const touching = groups.filter((g) => g.lo <= 'm07' && g.hi >= 'm07');
    assert.ok(touching.length <= 2, JSON.stringify(groups));
  });
});

test('a lake in a former layout is found, and a run is told to rebuild', async () => {
  await withLake(async (_s, lake) => {
    const pipeline = { name: 'meters', datasets: [{ table: 'readings', key: ['meter', 'taken_at'], lake: [READINGS.prefix] }] };
    assert.equal(await formerLayoutKey(lake, pipeline), null, 'an empty lake');
    await lake.putBytes(monthPartitionKey(READINGS.prefix, '2024-01'), 'PAR1');
    await assertLakeLayout(lake, pipeline);
    await lake.putBytes(`${READINGS.prefix}meter=a/month=2024-01/data.parquet`, 'PAR1');
    assert.equal(await formerLayoutKey(lake, pipeline), `${READINGS.prefix}meter=a/month=2024-01/data.parquet`);
    await assert.rejects(assertLakeLayout(lake, pipeline), (err: unknown) => {
      assert.ok(err instanceof LakeLayoutError);
      assert.equal(err.retryable, false);
      assert.match(err.message, /meters data in a former layout \(staging\/readings\/meter=a\/month=2024-01\/data\.parquet\).*run `ecluse rebuild meters`/);
      return true;
    });
  });
});

test('month partitions: 13 years in one rewrite still give one file per month, each with its own rows', async () => {
  await withLake(async (s, lake, dir) => {
    // 156 months, past DuckDB's 100 files open at once in one partitioned COPY.
    await s.run(`CREATE TABLE years AS
      SELECT 'm' || (i % 3) AS meter, TIMESTAMP '2013-01-01 00:00' + INTERVAL (i * 6) HOUR AS taken_at, i::DOUBLE AS v
      FROM range(0, 4 * 365 * 13) r(i)`);
    const done = await rewriteMonthPartitions(s, lake, READINGS, { rows: 'years', existing: { firstWins: ['meter', 'taken_at'] }, scratch: join(dir, 's') });
    assert.equal(done.months.length, 156);
    assert.equal(done.written, 156);
    assert.equal(done.fresh.size, 156);
    const keys = (await lake.list(READINGS.prefix)).map((o) => o.key);
    assert.deepEqual(
      keys,
      done.months.map((m) => monthPartitionKey(READINGS.prefix, m)),
    );
    const [inLake] = await s.plainRows(`SELECT count(*) AS n FROM read_parquet(${literal(join(lake.root, READINGS.prefix))} || '**/*.parquet')`);
    assert.equal(Number(inLake?.n), 4 * 365 * 13);
  });
});
