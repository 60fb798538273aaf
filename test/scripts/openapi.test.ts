import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { API_TYPES_FILE, apiTypesSource, openApiDocument, REFRESH_COMMAND, staleApiTypes } from '../../scripts/openapi.js';
import { tempHome } from '../helpers/platform.js';

test('the OpenAPI document is the same on every build: no temporary path, port or date in it', async () => {
  const [a, b] = [await openApiDocument(), await openApiDocument()];
  assert.deepEqual(a, b);
  const text = JSON.stringify(a);
  assert.doesNotMatch(text, /ecluse-openapi-|\/tmp\/|localhost|127\.0\.0\.1/);
  // Examples hold fixed instants (2024-10-05T00:00:00Z); today's date would be the build's.
  assert.ok(!text.includes(new Date().toISOString().slice(0, 10)), 'no date of the build');
  assert.equal((a as { servers?: unknown }).servers, undefined);
  assert.ok(a.paths?.['/curated/cities'], 'the pipelines’ routes are in it');

  // The checked-in types are what this document generates (what `npm run api-types:check` says too).
  const source = await apiTypesSource(a);
  assert.equal(await staleApiTypes(source), null, `${API_TYPES_FILE} is stale: run ${REFRESH_COMMAND}`);
  // Nullable fields stay nullable in the types (City.name was written `string` by hand).
  assert.match(source, /'\/curated\/cities': \{[\s\S]*?name: string \| null;/);
});

test('a stale or missing types file is named with the command that refreshes it', async (t) => {
  const dir = await tempHome('ecluse-openapi-check-');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'api.generated.ts');
  const expected = 'export interface paths {\n  a: string;\n}\n';
  assert.match((await staleApiTypes(expected, file)) ?? '', /api\.generated\.ts is missing: run `npm run api-types`/);
  await writeFile(file, expected);
  assert.equal(await staleApiTypes(expected, file), null);
  await writeFile(file, expected.replace('string', 'number'));
  assert.match(
    (await staleApiTypes(expected, file)) ?? '',
    /api\.generated\.ts differs from what the API's schemas generate: run `npm run api-types` and commit it/,
  );
  assert.equal(await readFile(file, 'utf8'), expected.replace('string', 'number'), 'checking writes nothing');
});
