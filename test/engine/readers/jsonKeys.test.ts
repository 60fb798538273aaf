import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { repeatedKey } from '../../../src/engine/readers/jsonKeys.js';

const check = (text: string) => repeatedKey(text, JSON.parse(text));

test('jsonKeys: no repeated key in any text JSON.stringify writes, however its strings look', () => {
  // Strings full of quotes, backslashes and colons are what the count outside strings must skip.
  const tricky = fc.string({ unit: fc.constantFrom('"', '\\', ':', '{', '}', 'a', ' ', '\n', 'é') });
  const json = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, tricky, fc.double(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 4 }),
    object: fc.dictionary(tricky, tie('value'), { maxKeys: 4 }),
  })).object;
  fc.assert(
    fc.property(json, fc.boolean(), (value, pretty) => {
      assert.equal(check(JSON.stringify(value, null, pretty ? 2 : undefined)), null);
    }),
  );
});

test('jsonKeys: a key repeated at any depth is found, with where and on which line', () => {
  assert.deepEqual(check('{"a":1,"a":2}'), { key: 'a', path: '', line: 1 });
  assert.deepEqual(check('{"h":{"k":[{"t":"x:\\"y"},\n{"t":2,"u":"\\\\","t":3}]}}'), { key: 't', path: 'h.k[1]', line: 2 });
  assert.deepEqual(check('[{"a":{"b":[{"c":1,"c":1}]}}]'), { key: 'c', path: '[0].a.b[0]', line: 1 });
  // Equal keys in different objects are no repetition.
  assert.equal(check('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}'), null);
  assert.equal(check('"text"'), null);
  // Nested far deeper than the precise scan can follow: still found, without a location.
  const deep = `${'['.repeat(20_000)}{"a":1,"a":2}${']'.repeat(20_000)}`;
  assert.equal(check(deep)?.key !== undefined, true);
});
