import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseCache } from '../../src/server/cache.js';

const b = (s: string) => Buffer.from(s);

test('entries live until the data version moves', () => {
  const c = new ResponseCache();
  c.set('/a', 1, b('one'));
  assert.equal(c.get('/a', 1)?.toString(), 'one');
  assert.equal(c.get('/a', 2), undefined);
  assert.equal(c.size, 0);
});

test('an answer computed from an older version is not stored', () => {
  const c = new ResponseCache();
  c.set('/a', 2, b('new'));
  c.set('/b', 1, b('old'));
  assert.equal(c.get('/b', 2), undefined);
  assert.equal(c.get('/a', 2)?.toString(), 'new');
});

test('bounded by entries and bytes, least recently used out first', () => {
  const c = new ResponseCache(2, 1000);
  c.set('/a', 1, b('a'));
  c.set('/b', 1, b('b'));
  c.get('/a', 1);
  c.set('/c', 1, b('c'));
  assert.equal(c.get('/b', 1), undefined);
  assert.equal(c.get('/a', 1)?.toString(), 'a');
  assert.equal(c.get('/c', 1)?.toString(), 'c');
  const small = new ResponseCache(100, 100);
  for (let i = 0; i < 10; i++) small.set(`/${i}`, 1, Buffer.alloc(20));
  assert.equal(small.size, 5);
  small.set('/big', 1, Buffer.alloc(60));
  assert.equal(small.get('/big', 1), undefined, 'a body above a quarter of the budget is not kept');
});

test('the byte budget evicts the least recently read first; a body of exactly a quarter of it is kept', () => {
  const c = new ResponseCache(100, 100);
  c.set('/a', 1, Buffer.alloc(25));
  c.set('/b', 1, Buffer.alloc(25));
  c.set('/c', 1, Buffer.alloc(25));
  c.set('/d', 1, Buffer.alloc(25));
  c.get('/a', 1);
  c.set('/e', 1, Buffer.alloc(10));
  assert.equal(c.get('/b', 1), undefined, '/b was the least recently used');
  for (const k of ['/a', '/c', '/d', '/e']) assert.ok(c.get(k, 1), `${k} kept`);
  c.set('/empty', 1, Buffer.alloc(0));
  assert.equal(c.get('/empty', 1)?.length, 0, 'an empty body is cached like any other');
});

test('a newer version empties the cache on set too, and older versions stay refused after it', () => {
  const c = new ResponseCache();
  c.set('/a', 1, b('one'));
  c.set('/b', 3, b('three'));
  assert.equal(c.size, 1);
  c.set('/c', 2, b('two'));
  assert.equal(c.get('/c', 3), undefined);
  assert.equal(c.get('/b', 3)?.toString(), 'three');
});
