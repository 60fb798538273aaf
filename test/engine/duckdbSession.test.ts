import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckSession } from '../../src/engine/duckdb.js';

test('prepared statements are reused, never interleave their parameters, and a bad one is not kept', async () => {
  const s = await DuckSession.open();
  try {
    await s.run(`CREATE TABLE t (k INTEGER, v VARCHAR)`);
    // Concurrent uses of one statement: each gets its own parameters (binding is per statement).
    const values = Array.from({ length: 20 }, (_, i) => i);
    await Promise.all(values.map((i) => s.prepared(`INSERT INTO t VALUES ($1, $2)`, [i, `v${i}`])));
    const echoed = await Promise.all(values.map(async (i) => (await s.preparedRows<{ v: string }>(`SELECT v FROM t WHERE k = $1`, [i]))[0]?.v));
    assert.deepEqual(
      echoed,
      values.map((i) => `v${i}`),
    );
    assert.equal((await s.prepared(`UPDATE t SET v = $2 WHERE k = $1`, [3, 'x'])).rowsChanged, 1);

    await assert.rejects(s.prepared(`SELECT * FROM missing WHERE k = $1`, [1]), /missing/);
    await s.run(`CREATE TABLE missing (k INTEGER)`);
    assert.deepEqual(await s.preparedRows(`SELECT * FROM missing WHERE k = $1`, [1]), [], 'prepared again once it can be');

    // More statements than the cache holds: the evicted ones are prepared again when used.
    for (let i = 0; i < 40; i++) assert.equal((await s.preparedRows<{ n: number }>(`SELECT ${i} + $1 AS n`, [1]))[0]?.n, i + 1);
    assert.equal((await s.preparedRows<{ n: number }>(`SELECT 0 + $1 AS n`, [5]))[0]?.n, 5);
  } finally {
    s.close();
  }
});

test('besideFork runs both sides at once and lets both settle before it throws', async () => {
  const s = await DuckSession.open();
  try {
    await s.run(`CREATE TABLE a (x INTEGER)`);
    const [n, m] = await s.besideFork(
      async () => (await s.rows<{ n: bigint }>(`SELECT 41 + 1 AS n`))[0]?.n,
      async (fork) => (await fork.rows<{ n: bigint }>(`SELECT count(*) AS n FROM a`))[0]?.n,
    );
    assert.deepEqual([Number(n), Number(m)], [42, 0]);
    let otherSettled = false;
    await assert.rejects(
      s.besideFork(
        () => s.run(`SELECT * FROM missing_table`),
        async (fork) => {
          await new Promise((r) => setTimeout(r, 50));
          await fork.run(`SELECT 1`);
          otherSettled = true;
        },
      ),
      /missing_table/,
    );
    assert.equal(otherSettled, true, 'the fork side had settled when the error was thrown');
  } finally {
    s.close();
  }
});
