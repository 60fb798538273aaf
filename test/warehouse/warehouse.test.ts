import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/config.js';
import { openWarehouse } from '../../src/warehouse/open.js';
import type { Dataset } from '../../src/warehouse/dataset.js';
import type { Warehouse } from '../../src/warehouse/warehouse.js';
import { tempHome } from '../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../helpers/warehouses.js';

const READINGS: Dataset = {
  name: 'readings',
  columns: [
    ['sensor', 'VARCHAR'],
    ['ts', 'TIMESTAMP'],
    ['value', 'DOUBLE PRECISION'],
    ['note', 'VARCHAR'],
  ],
  primaryKey: ['sensor', 'ts'],
};

const COUNTS = { files: 1, files_skipped: 0, rows_read: 2, rows_written: 2, rows_rejected: 0, values_rejected: 0 };

for (const kind of ['duckdb', 'postgres'] as const satisfies readonly WarehouseKind[]) {
  describe(`warehouse contract on ${kind}`, { skip: await skipUnless(kind) }, () => {
    const homes: string[] = [];
    after(() => dropSchemas(homes));

    async function open(home?: string): Promise<{ wh: Warehouse; home: string }> {
      const h = home ?? (await tempHome());
      if (!home) homes.push(h);
      const url = warehouseFor(kind, h);
      const config = loadConfig({ ECLUSE_HOME: h, ...(url ? { ECLUSE_WAREHOUSE: url } : {}) }, h);
      return { wh: await openWarehouse(config, { command: 'test' }), home: h };
    }

    test('runs are recorded, listed and read back with plain values', async () => {
      const { wh } = await open();
      try {
        const id = await wh.startRun('p', (n) => `adhoc-${n}`, 'cli');
        const before = wh.dataVersion();
        await wh.transaction(() => wh.finishRun(id, 'succeeded', COUNTS, { load: 5 }));
        assert.notEqual(wh.dataVersion(), before, 'a commit must change dataVersion');
        const run = await wh.getRun(id);
        assert.equal(run?.status, 'succeeded');
        assert.equal(run?.partition, `adhoc-${id}`);
        assert.equal(run?.rows_written, 2);
        assert.deepEqual(run?.steps, { load: 5 });
        assert.match(run?.started_at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.equal(typeof run?.duration_ms, 'number');
        const listed = await wh.listRuns({ pipeline: 'p', status: 'succeeded' });
        assert.equal(listed.total, 1);
        assert.equal((await wh.listRuns({ pipeline: 'other' })).total, 0);
      } finally {
        await wh.close();
      }
    });

    test('finishRun answers the run record as stored, also after a rolled-back finish; null for an unknown run', async () => {
      const { wh } = await open();
      try {
        const id = await wh.startRun('p', '2024-10-01', 'backfill', 2);
        const counts = { files: 3, files_skipped: 1, rows_read: 40, rows_written: 38, rows_rejected: 2, values_rejected: 5 };
        await assert.rejects(
          wh.transaction(async () => {
            await wh.finishRun(id, 'succeeded', counts, { load: 7 });
            throw new Error('rolled back');
          }),
          /rolled back/,
        );
        const failed = await wh.finishRun(id, 'failed', { ...counts, rows_written: 0 }, { load: 9 }, 'rolled back');
        assert.deepEqual(failed, await wh.getRun(id));
        assert.equal(failed?.attempt, 2);
        assert.equal(failed?.error, 'rolled back');

        const other = await wh.startRun('p', (n) => `adhoc-${n}`, 'cli');
        const done = await wh.transaction(() => wh.finishRun(other, 'succeeded', counts, { commit: 1 }));
        assert.deepEqual(done, await wh.getRun(other));
        assert.equal(await wh.finishRun(999_999, 'failed', counts, {}, 'x'), null);
      } finally {
        await wh.close();
      }
    });

    test('run warnings and deferred files are stored and read back; runs of an older warehouse read with none', async () => {
      const { wh, home } = await open();
      let id: number;
      let old: number;
      try {
        id = await wh.startRun('p', '2024-10-01', 'schedule');
        const warnings = ['1 landing file left for a later run: "a, b".json', 'none of the 2 valid rows read was written'];
        const done = await wh.transaction(() => wh.finishRun(id, 'succeeded', { ...COUNTS, files_deferred: 1, warnings }, {}));
        assert.deepEqual([done?.files_deferred, done?.warnings], [1, warnings]);
        assert.deepEqual(done, await wh.getRun(id));
        assert.deepEqual((await wh.listRuns({ pipeline: 'p' })).items[0]?.warnings, warnings);
        // Counts without the new fields (pipelines that skip nothing) record none.
        const plain = await wh.startRun('p', '2024-10-02', 'schedule');
        const plainDone = await wh.transaction(() => wh.finishRun(plain, 'succeeded', COUNTS, {}));
        assert.deepEqual([plainDone?.files_deferred, plainDone?.warnings], [0, []]);
        // A warehouse created before these columns existed: opening it adds them.
        await wh.execute(`ALTER TABLE runs DROP COLUMN warnings`);
        await wh.execute(`ALTER TABLE runs DROP COLUMN files_deferred`);
        old = await wh.startRun('p', '2024-10-03', 'schedule');
      } finally {
        await wh.close();
      }
      const { wh: again } = await open(home);
      try {
        const run = await again.getRun(old);
        assert.deepEqual([run?.files_deferred, run?.warnings], [0, []]);
        const later = await again.startRun('p', '2024-10-04', 'schedule');
        const done = await again.transaction(() => again.finishRun(later, 'succeeded', { ...COUNTS, warnings: ['w'] }, {}));
        assert.deepEqual((await again.getRun(later))?.warnings, ['w']);
        assert.deepEqual(done?.warnings, ['w']);
      } finally {
        await again.close();
      }
    });

    test('files count as seen only once their run has committed', async () => {
      const { wh } = await open();
      try {
        const file = { pipeline: 'p', sha256: 'a'.repeat(64), key: 'raw/p/x', original_name: 'x.json', source: 's', size: 3, received_at: new Date() };
        const id = await wh.startRun('p', 'adhoc', 'cli');
        await assert.rejects(
          wh.transaction(async () => {
            await wh.registerFiles(id, [file]);
            throw new Error('crash before commit');
          }),
          /crash before commit/,
        );
        assert.equal((await wh.seenFiles('p', [file.sha256])).size, 0);
        await wh.transaction(() => wh.registerFiles(id, [file]));
        assert.deepEqual([...(await wh.seenFiles('p', [file.sha256, 'b'.repeat(64)]))], [file.sha256]);
      } finally {
        await wh.close();
      }
    });

    test('a file rejected whole is recorded but not seen; loaded later, its row is replaced in the same transaction', async () => {
      const { wh } = await open();
      try {
        const file = {
          pipeline: 'p',
          sha256: 'c'.repeat(64),
          key: 'raw/p/a',
          original_name: 'a.xlsx',
          source: 's',
          size: 3,
          received_at: new Date('2025-04-01T10:00:00Z'),
        };
        const first = await wh.startRun('p', 'adhoc', 'cli');
        await wh.transaction(() => wh.registerFiles(first, [{ ...file, status: 'rejected' }]));
        assert.equal((await wh.seenFiles('p', [file.sha256])).size, 0);
        const rejected = await wh.rejectedFiles('p', [file.sha256, 'd'.repeat(64)]);
        assert.deepEqual([...rejected.keys()], [file.sha256]);
        assert.deepEqual(rejected.get(file.sha256), { ...file, status: 'rejected' });
        assert.equal((await wh.rejectedFiles('other', [file.sha256])).size, 0);

        const second = await wh.startRun('p', 'adhoc', 'cli');
        await wh.transaction(() => wh.registerFiles(second, [{ ...file, key: 'raw/p/b', original_name: 'b.xlsx' }]));
        assert.deepEqual([...(await wh.seenFiles('p', [file.sha256]))], [file.sha256]);
        assert.equal((await wh.rejectedFiles('p', [file.sha256])).size, 0);
        const rows = await wh.query(`SELECT key, status, run_id FROM files WHERE pipeline = 'p'`);
        assert.deepEqual(rows, [{ key: 'raw/p/b', status: 'loaded', run_id: second }]);
      } finally {
        await wh.close();
      }
    });

    test('rejects keep their text intact, quotes, commas and newlines included', async () => {
      const { wh } = await open();
      try {
        const reason = 'not a number: "1,5"\nsecond line';
        await wh.insertRejects(7, 'p', [{ file: 'a b.csv', sheet: null, row: 3, field: 'temp', value: '', reason, whole_record: false }]);
        const { items, total } = await wh.listRejects({ runId: 7 });
        assert.equal(total, 1);
        assert.equal(items[0]?.reason, reason);
        assert.equal(items[0]?.value, '', 'an empty value is not NULL');
        assert.equal(items[0]?.sheet, null);
      } finally {
        await wh.close();
      }
    });

    test('insertNew keeps the first value of a key and counts what it inserted; query takes positional parameters', async () => {
      const { wh } = await open();
      const lease = await wh.openEngine();
      const e = lease.engine;
      try {
        await wh.ensureDataset(READINGS);
        await e.run(`CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM (VALUES
          ('s1', TIMESTAMP '2024-10-01 00:00:00', 1.5, 'first'),
          ('s1', TIMESTAMP '2024-10-01 00:10:00', NULL, ''),
          ('s2', TIMESTAMP '2024-10-01 00:00:00', -3.25, 'a "quoted", text')) t(sensor, ts, value, note)`);
        assert.equal(await wh.transaction(() => wh.insertNew(READINGS, e, 'SELECT * FROM incoming')), 3);
        // Overlapping delivery: one known key with another value, one new key.
        await e.run(`CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM (VALUES
          ('s1', TIMESTAMP '2024-10-01 00:00:00', 99.0, 'late'),
          ('s3', TIMESTAMP '2024-10-01 00:00:00', 7.0, NULL)) t(sensor, ts, value, note)`);
        assert.equal(await wh.transaction(() => wh.insertNew(READINGS, e, 'SELECT * FROM incoming')), 1);
        const rows = await wh.query(`SELECT sensor, ts, value, note FROM readings WHERE ts >= $1::TIMESTAMP AND ts < $2::TIMESTAMP ORDER BY sensor, ts`, [
          '2024-10-01T00:00:00Z',
          '2024-10-02T00:00:00Z',
        ]);
        assert.deepEqual(rows, [
          { sensor: 's1', ts: '2024-10-01T00:00:00Z', value: 1.5, note: 'first' },
          { sensor: 's1', ts: '2024-10-01T00:10:00Z', value: null, note: '' },
          { sensor: 's2', ts: '2024-10-01T00:00:00Z', value: -3.25, note: 'a "quoted", text' },
          { sensor: 's3', ts: '2024-10-01T00:00:00Z', value: 7, note: null },
        ]);
      } finally {
        await lease.release();
        await wh.close();
      }
    });

    test('an engine query that fails mid-load leaves nothing behind and does not hang', async () => {
      const { wh } = await open();
      const lease = await wh.openEngine();
      const e = lease.engine;
      try {
        await wh.ensureDataset(READINGS);
        await e.run(`CREATE OR REPLACE TEMP TABLE incoming AS
          SELECT 's' || (i % 7) AS sensor, TIMESTAMP '2024-01-01' + INTERVAL (i) MINUTE AS ts, i::DOUBLE AS value, CAST(i AS VARCHAR) AS note FROM range(200000) r(i)`);
        // The cast fails on the last rows only, after many rows have been streamed out.
        const failing = `SELECT sensor, at, value, CASE WHEN value < 199990 THEN note ELSE CAST('x' || note AS INTEGER)::VARCHAR END FROM incoming`;
        await assert.rejects(
          wh.transaction(() => wh.insertNew(READINGS, e, failing)),
          /Conversion|convert|cast/i,
        );
        assert.deepEqual(await wh.query(`SELECT count(*) AS n FROM readings`), [{ n: 0 }]);
        await assert.rejects(
          wh.transaction(() => wh.insertNew(READINGS, e, 'SELECT * FROM no_such_table')),
          /no_such_table/,
        );
        assert.equal(await wh.transaction(() => wh.insertNew(READINGS, e, 'SELECT * FROM incoming')), 200000);
      } finally {
        await lease.release();
        await wh.close();
      }
    });

    test('upsert replaces by key; execute runs portable statements', async () => {
      const { wh } = await open();
      try {
        await wh.ensureDataset(READINGS);
        await wh.upsert(READINGS, [
          ['s1', '2024-10-01 00:00:00', 1, 'a'],
          ['s2', '2024-10-01 00:00:00', 2, 'b'],
        ]);
        await wh.upsert(READINGS, [['s1', '2024-10-01 00:00:00', 10, 'a2']]);
        assert.deepEqual(await wh.query(`SELECT sensor, value, note FROM readings ORDER BY sensor`), [
          { sensor: 's1', value: 10, note: 'a2' },
          { sensor: 's2', value: 2, note: 'b' },
        ]);
        assert.equal(await wh.execute(`DELETE FROM readings WHERE sensor = $1`, ['s2']), 1);
      } finally {
        await wh.close();
      }
    });

    test('days read back as YYYY-MM-DD on both warehouses', async () => {
      const { wh } = await open();
      try {
        assert.deepEqual(await wh.query(`SELECT CAST('2024-10-27' AS DATE) AS d, CAST('2024-10-27 10:00:00' AS TIMESTAMP) AS t`), [
          { d: '2024-10-27', t: '2024-10-27T10:00:00Z' },
        ]);
      } finally {
        await wh.close();
      }
    });

    test('reads do not see a transaction in progress', async () => {
      const { wh } = await open();
      try {
        await wh.ensureDataset(READINGS);
        await wh.transaction(async () => {
          await wh.execute(`INSERT INTO readings VALUES ('s9', '2024-10-01 00:00:00', 1, NULL)`);
          assert.deepEqual(await wh.query(`SELECT count(*) AS n FROM readings`), [{ n: 0 }]);
        });
        assert.deepEqual(await wh.query(`SELECT count(*) AS n FROM readings`), [{ n: 1 }]);
      } finally {
        await wh.close();
      }
    });

    if (kind === 'postgres') {
      test('a run committed by another process changes dataVersion here (LISTEN/NOTIFY)', async () => {
        const { wh: a, home } = await open();
        const { wh: b } = await open(home);
        try {
          const before = a.dataVersion();
          const id = await b.startRun('p', 'adhoc', 'cli');
          await b.transaction(() => b.finishRun(id, 'succeeded', COUNTS, {}));
          for (let i = 0; i < 100 && a.dataVersion() === before; i++) await sleep(10);
          assert.notEqual(a.dataVersion(), before);
        } finally {
          await b.close();
          await a.close();
        }
      });
    }
  });
}
