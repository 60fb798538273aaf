import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { generateStations } from '../../src/connectors/generators/stations.js';
import { writeSynop } from '../../src/connectors/generators/synop.js';
import { startFaultProxy, type FaultProxy } from '../helpers/faultProxy.js';
import { runFiles, runsOf, runStations, snapshotOf, stationsSnapshot, type Snapshot } from '../helpers/faultRuns.js';
import { tempHome, withPlatform } from '../helpers/platform.js';
import { startS3rver, type S3rverHandle } from '../helpers/s3.js';

/**
 * The S3 lake misbehaving: a proxy in front of s3rver answers 500s and resets connections mid-body. Faults
 * a retry can absorb leave the run succeeding with the clean run's tables; a lake that keeps failing makes
 * the run fail cleanly, and the rerun completes. Two runs each (the second rewrites partitions the first
 * wrote, so it reads them back): the embedded DuckDB warehouse, the lake on S3.
 */
describe('S3 lake answering 500s and dropping connections', () => {
  let s3: S3rverHandle;
  let proxy: FaultProxy;
  let base: string;
  let first: string;
  let second: string;
  let expected: Snapshot;
  const envOf = (home: string) => ({ ECLUSE_LAKE: `s3://${s3.bucket}/${home.split('/').pop() ?? 'home'}`, ECLUSE_S3_ENDPOINT: proxy.endpoint });

  before(async () => {
    s3 = await startS3rver();
    proxy = await startFaultProxy(s3.endpoint);
    // In-process platforms take S3 credentials from this process's environment.
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    });
    base = await tempHome('ecluse-faults-s3-');
    first = join(base, 'first');
    second = join(base, 'second');
    // The same stations and month: the second delivery's reports fall in the partitions of the first.
    await generateStations({ stations: 6, days: 2, start: '2024-10-01', out: first, seed: 5 });
    await generateStations({ stations: 6, days: 2, start: '2024-10-03', out: second, seed: 5 });

    const reference = join(base, 'reference');
    for (const input of [first, second]) {
      const clean = await runStations(reference, envOf(reference), [input]);
      assert.equal(clean.status, 'succeeded', String(clean.error));
    }
    expected = await stationsSnapshot(reference, envOf(reference));
    assert.ok((expected.reports ?? []).length > 1000, `expected a sizeable input, got ${(expected.reports ?? []).length} reports`);
  });
  after(async () => {
    await proxy?.close();
    await s3?.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  test("synop on a flaky lake: 500s and cut connections on every kind of request, the clean run's tables and lake", { timeout: 120_000 }, async () => {
    const input = join(base, 'synop');
    await mkdir(input, { recursive: true });
    await writeSynop(join(input, 'synop.jsonl'), 'jsonl', { stations: 4, from: '2024-03-25', to: '2024-04-05', seed: 6 });
    const reference = join(base, 'synop-reference');
    proxy.setRules([]);
    const clean = await runFiles(reference, envOf(reference), 'synop', [input]);
    assert.equal(clean.status, 'succeeded', String(clean.error));
    const synopExpected = await snapshotOf(reference, envOf(reference), 'synop');

    const home = join(base, 'synop-flaky');
    proxy.setRules([
      { method: 'PUT', every: 2, fault: 'status-500' },
      { method: 'PUT', every: 3, fault: 'reset-request' },
      { method: 'GET', every: 2, fault: 'reset-response' },
      { method: 'GET', path: /list-type=2/, first: 2, fault: 'status-500' },
      { method: 'HEAD', every: 2, fault: 'reset-request' },
    ]);
    const run = await runFiles(home, envOf(home), 'synop', [input]);
    const injected = proxy.injected();
    proxy.setRules([]);
    assert.equal(run.status, 'succeeded', String(run.error));
    assert.ok(injected['status-500'] + injected['reset-request'] >= 4, `faults injected: ${JSON.stringify(injected)}`);
    assert.deepEqual(await snapshotOf(home, envOf(home), 'synop'), synopExpected);
  });

  test('500s, requests reset mid-body, answers lost after the write: retried, both runs succeed, same tables and lake', { timeout: 120_000 }, async () => {
    const home = join(base, 'flaky');
    proxy.setRules([
      // Twice in a row for the first uploads: the SDK makes three attempts.
      { method: 'PUT', first: 3, failures: 2, fault: 'status-500' },
      { method: 'PUT', every: 4, fault: 'reset-request' },
      { method: 'PUT', every: 5, fault: 'reset-response' },
      { method: 'HEAD', every: 3, fault: 'status-500' },
      { method: 'GET', every: 2, fault: 'status-500' },
    ]);
    for (const input of [first, second]) {
      const run = await runStations(home, envOf(home), [input]);
      assert.equal(run.status, 'succeeded', String(run.error));
    }
    const injected = proxy.injected();
    proxy.setRules([]);
    assert.ok(injected['status-500'] >= 6 && injected['reset-request'] >= 3 && injected['reset-response'] >= 3, `faults injected: ${JSON.stringify(injected)}`);
    assert.deepEqual(await stationsSnapshot(home, envOf(home)), expected);
  });

  test('partitions read back over connections reset mid-body: the reads are retried, the run succeeds', { timeout: 120_000 }, async () => {
    const home = join(base, 'cut-reads');
    const run1 = await runStations(home, envOf(home), [first]);
    assert.equal(run1.status, 'succeeded', String(run1.error));
    // Every read of a staging partition (the month the first run wrote, which the second merges) is cut
    // halfway through its body, once.
    proxy.setRules([{ method: 'GET', path: /\/staging\/reports\/.*data\.parquet/, fault: 'reset-response' }]);
    const run2 = await runStations(home, envOf(home), [second]);
    const injected = proxy.injected();
    proxy.setRules([]);
    assert.equal(run2.status, 'succeeded', String(run2.error));
    assert.ok(injected['reset-response'] >= 1, `faults injected: ${JSON.stringify(injected)}`);
    assert.deepEqual(await stationsSnapshot(home, envOf(home)), expected);
  });

  test('raw files that cannot be stored: the run fails at extract, leaves no sidecar without its file, the rerun completes', { timeout: 120_000 }, async () => {
    const home = join(base, 'raw-down');
    // Every upload of a raw file fails (its sidecar, written first, goes through).
    proxy.setRules([{ method: 'PUT', path: /\/raw\/[^?]*(?<!\.meta)\.(json|xlsx)(\?|$)/, failures: Infinity, fault: 'status-500' }]);
    const failed = await runStations(home, envOf(home), [first]);
    const injected = proxy.injected();
    proxy.setRules([]);
    assert.equal(failed.status, 'failed');
    assert.ok(injected['status-500'] >= 3, `faults injected: ${JSON.stringify(injected)}`);
    assert.match(String(failed.error), /s3:\/\/lake\/raw-down\/raw\/stations\/.*InternalError/);
    const keys = await withPlatform(home, async (p) => (await p.lake.list('raw/')).map((o) => o.key), envOf(home));
    assert.deepEqual(
      keys.filter((k) => k.endsWith('.meta.json') && !keys.includes(k.slice(0, -'.meta.json'.length))),
      [],
      'no sidecar without its raw file',
    );

    for (const input of [first, second]) {
      const run = await runStations(home, envOf(home), [input]);
      assert.equal(run.status, 'succeeded', String(run.error));
    }
    assert.deepEqual(await stationsSnapshot(home, envOf(home)), expected);
  });

  test(
    'a lake that keeps failing: the run fails cleanly naming the object, nothing of it is committed, the rerun completes',
    { timeout: 120_000 },
    async () => {
      const home = join(base, 'down');
      const run1 = await runStations(home, envOf(home), [first]);
      assert.equal(run1.status, 'succeeded', String(run1.error));
      const afterFirst = await stationsSnapshot(home, envOf(home));

      // Every staging upload fails, retries included; every fifth is cut mid-body instead.
      proxy.setRules([
        { method: 'PUT', path: /\/staging\//, every: 5, failures: Infinity, fault: 'reset-request' },
        { method: 'PUT', path: /\/staging\//, failures: Infinity, fault: 'status-500' },
      ]);
      const failed = await runStations(home, envOf(home), [second]);
      proxy.setRules([]);
      assert.equal(failed.status, 'failed');
      assert.match(String(failed.error), /s3:\/\/lake\/down\/staging\/reports\/month=2024-10\/data\.parquet: .*(InternalError|socket hang up|ECONNRESET)/);
      const interrupted = await stationsSnapshot(home, envOf(home));
      assert.deepEqual(interrupted.reports, afterFirst.reports, 'the warehouse has nothing of the failed run');
      assert.deepEqual(interrupted.files, afterFirst.files, 'no file of the failed run counts as seen');
      assert.deepEqual(interrupted.lake, afterFirst.lake, 'no staging partition was replaced');

      const rerun = await runStations(home, envOf(home), [second]);
      assert.equal(rerun.status, 'succeeded', String(rerun.error));
      assert.deepEqual(
        (await runsOf(home, envOf(home))).map((r) => r.status),
        ['succeeded', 'failed', 'succeeded'],
      );
      assert.deepEqual(await stationsSnapshot(home, envOf(home)), expected);
    },
  );
});
