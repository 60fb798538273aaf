import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { ChangeReader } from '../../src/cdc/reader.js';
import { slotStatus, SlotLostError } from '../../src/cdc/slot.js';
import { skipUnlessPgBinaries, startPgCluster, type PgCluster } from '../helpers/pgCluster.js';

// A cluster of its own: the test changes server settings (wal_level, max_slot_wal_keep_size) and makes a slot
// lose its WAL, which must never happen on the shared server.
describe('a slot behind max_slot_wal_keep_size', { skip: skipUnlessPgBinaries() }, () => {
  let cluster: PgCluster | undefined;
  after(async () => {
    await cluster?.destroy();
  });

  test('wal_level must be logical; a slot that fell too far behind is lost, and the reader says so', async () => {
    cluster = await startPgCluster();
    const url = cluster.url;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('CREATE TABLE t (id int PRIMARY KEY, pad text)');
    const options = { url, publication: 'p', slot: 's', tables: ['t'], sink: async () => {} };
    await assert.rejects(ChangeReader.start(options), /wal_level is "replica".*wal_level = logical/);
    await admin.query('ALTER SYSTEM SET wal_level = logical');
    await admin.query("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
    await admin.end();
    cluster.restartSync();

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const reader = await ChangeReader.start(options);
      const before = await reader.status();
      assert.equal(before.maxSlotWalKeepSize, '1MB');
      assert.equal(before.walStatus, 'reserved');
      await reader.stop();
      while ((await slotStatus(client, 's')).active) await new Promise((r) => setTimeout(r, 20));
      // More than a WAL segment past the slot, then a checkpoint: the WAL it needs is removed.
      for (let i = 0; i < 3; i++) {
        await client.query(`INSERT INTO t SELECT g, repeat('x', 500) FROM generate_series(${i * 20_000 + 1}, ${(i + 1) * 20_000}) g`);
        await client.query('SELECT pg_switch_wal()');
      }
      await client.query('CHECKPOINT');
      assert.equal((await slotStatus(client, 's')).walStatus, 'lost');
      await assert.rejects(
        ChangeReader.start(options),
        (err: unknown) => err instanceof SlotLostError && /drop the slot, create it again and resync/.test(err.message),
      );
    } finally {
      await client.query("SELECT pg_drop_replication_slot('s')").catch(() => {});
      await client.end();
    }
  });
});
