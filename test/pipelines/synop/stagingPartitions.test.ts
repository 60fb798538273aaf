import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckSession } from '../../../src/engine/duckdb.js';
import { createRunTables, dropRunTables, SYNOP_BATCH } from '../../../src/pipelines/synop/load.js';

const MiB = 1024 * 1024;

test('memoryLimitBytes reads the session memory_limit, whatever unit DuckDB prints', async () => {
  for (const [limit, expected] of [
    ['500MB', 500_000_000],
    ['1GB', 1_000_000_000],
    ['300MiB', 300 * MiB],
  ] as const) {
    const s = await DuckSession.open(':memory:', { memoryLimit: limit });
    try {
      // DuckDB prints it rounded (e.g. "476.8 MiB"): within 0.1 %.
      const got = await s.memoryLimitBytes();
      assert.ok(Math.abs(got - expected) / expected < 0.001, `${limit}: ${got}`);
    } finally {
      s.close();
    }
  }
});

test('the run database on disk starts empty even over what a killed run left in its folder, and detaches', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'synop-rundb-'));
  const s = await DuckSession.open();
  try {
    await createRunTables(s, dir);
    await s.run(`INSERT INTO ${SYNOP_BATCH} (file_seq, seq, numer_sta) VALUES (0, 1, '07015')`);
    // A killed run: the file stays, with its table, and the next run's engine attaches the folder's file again.
    await s.run(`DETACH DATABASE ecluse_synop_run`);
    await createRunTables(s, dir);
    assert.equal(Number(await s.scalar(`SELECT count(*) FROM ${SYNOP_BATCH}`)), 0);
    await dropRunTables(s);
    assert.equal(Number(await s.scalar(`SELECT count(*) FROM duckdb_databases() WHERE database_name = 'ecluse_synop_run'`)), 0);
  } finally {
    s.close();
    await rm(dir, { recursive: true, force: true });
  }
});
