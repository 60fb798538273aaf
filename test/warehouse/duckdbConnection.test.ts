import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DuckDBWarehouse } from '../../src/warehouse/duckdbWarehouse.js';
import { tempHome } from '../helpers/platform.js';

test('a second connection of the embedded warehouse has transactions of its own and closes alone', async () => {
  const home = await tempHome('ecluse-duckdb-connection-');
  const wh = await DuckDBWarehouse.open(join(home, 'warehouse.duckdb'));
  try {
    await wh.execute(`CREATE TABLE t (v INTEGER)`);
    const other = await wh.connection();
    const before = wh.dataVersion();
    // A transaction open on the warehouse's own connection: the other one's commit is not part of it.
    await wh
      .transaction(async () => {
        await wh.execute(`INSERT INTO t VALUES (1)`);
        await other.transaction(() => other.execute(`INSERT INTO t VALUES (2)`));
        assert.deepEqual(await wh.query(`SELECT v FROM t ORDER BY v`), [{ v: 2 }], 'the run connection has not committed yet');
        throw new Error('roll back');
      })
      .catch(() => {});
    assert.deepEqual(await wh.query(`SELECT v FROM t ORDER BY v`), [{ v: 2 }]);
    assert.ok(wh.dataVersion() > before, "the connection's commits change the warehouse's data version");
    await other.close();
    assert.deepEqual(await wh.query(`SELECT count(*) AS n FROM t`), [{ n: 1 }], 'the warehouse is still open');
  } finally {
    await wh.close();
  }
});
