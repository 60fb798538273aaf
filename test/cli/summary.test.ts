import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeRun, statusText } from '../../src/cli/summary.js';
import type { RunSummary } from '../../src/warehouse/metadata.js';

const BASE: RunSummary = {
  run_id: 4,
  pipeline: 'stations',
  status: 'succeeded',
  partition: 'adhoc-4',
  files: 1,
  files_skipped: 0,
  files_deferred: 0,
  rows_read: 0,
  rows_written: 0,
  rows_rejected: 1,
  values_rejected: 0,
  duration_ms: 12,
  error: null,
  warnings: [],
};

test('a success without warnings reads as before', () => {
  assert.equal(statusText(BASE), 'succeeded');
  assert.equal(describeRun(BASE).split('\n')[0], 'run 4 stations [adhoc-4]: succeeded in 12 ms');
  assert.doesNotMatch(describeRun(BASE), /warning/);
});

test('a success with warnings says so on its first line and lists them; deferred files are counted', () => {
  const s = { ...BASE, files_deferred: 2, warnings: ['all files rejected whole, nothing loaded from them (foo.xlsx)', 'two'] };
  const lines = describeRun(s).split('\n');
  assert.equal(lines[0], 'run 4 stations [adhoc-4]: succeeded with 2 warnings in 12 ms');
  assert.equal(lines[1], '  files: 1 processed, 0 already seen, 2 left for a later run');
  assert.deepEqual(lines.slice(-2), ['  warning: all files rejected whole, nothing loaded from them (foo.xlsx)', '  warning: two']);
  assert.equal(statusText({ status: 'succeeded', warnings: ['x'] }), 'succeeded with 1 warning');
  // A failure is a failure, whatever its warnings.
  assert.equal(statusText({ status: 'failed', warnings: ['x'] }), 'failed');
});

test('a summary from an older server (no warnings field) still reads', () => {
  const old = { ...BASE } as Partial<RunSummary>;
  delete old.warnings;
  delete old.files_deferred;
  assert.match(describeRun(old as RunSummary), /^run 4 stations \[adhoc-4\]: succeeded in 12 ms/);
});
