import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDhUtc } from '../../../src/connectors/infoclimat/format.js';

test('parseDhUtc reads UTC times and refuses nonexistent ones', () => {
  assert.equal(parseDhUtc('2024-10-05 00:10:00'), Date.UTC(2024, 9, 5, 0, 10, 0));
  assert.equal(parseDhUtc('2024-02-30 00:00:00'), null);
  assert.equal(parseDhUtc('2024-10-05 24:00:00'), null);
  assert.equal(parseDhUtc('05/10/2024 00:00'), null);
});
