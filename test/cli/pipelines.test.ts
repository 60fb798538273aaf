import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ecluse } from '../helpers/cli.js';
import { tempHome } from '../helpers/platform.js';

const PASSWORD = 'my-pw-Tz41Qa';

test('ecluse pipelines lists each pipeline’s variables, which are set, and no value', async () => {
  const home = await tempHome('ecluse-cli-pipelines-');
  const r = ecluse(home, ['pipelines', '--json'], { ECLUSE_CONFIG: '', ECLUSE_SYNOP_MYSQL: `mysql://u:${PASSWORD}@127.0.0.1:1/db`, ECLUSE_ODS_URL: '' });
  assert.equal(r.status, 0, r.stderr);
  const items = (JSON.parse(r.stdout) as { items: { name: string; env: { name: string; sets: string; secret: boolean; set: boolean }[] }[] }).items;
  assert.deepEqual(
    items.find((p) => p.name === 'synop')?.env.map((e) => [e.name, e.sets, e.secret, e.set]),
    [
      ['ECLUSE_ODS_URL', 'pipelines.synop.ods_url', false, false],
      ['ECLUSE_SYNOP_MYSQL', 'pipelines.synop.mysql', true, true],
    ],
  );
  assert.doesNotMatch(r.stdout, new RegExp(PASSWORD));
  const table = ecluse(home, ['pipelines'], { ECLUSE_CONFIG: '', ECLUSE_SYNOP_MYSQL: `mysql://u:${PASSWORD}@127.0.0.1:1/db` });
  assert.match(table.stdout, /ECLUSE_SYNOP_MYSQL \(set\)/);
  assert.doesNotMatch(table.stdout, new RegExp(PASSWORD));
});

test('a section naming no pipeline stops a command (exit 2, file and path); a deprecated key is said on stderr', async () => {
  const home = await tempHome('ecluse-cli-pipelines-');
  const path = join(home, 'ecluse.config.json');
  await writeFile(path, JSON.stringify({ pipelines: { synopp: { ods_url: 'http://x' } } }));
  const bad = ecluse(home, ['pipelines'], { ECLUSE_CONFIG: path });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, new RegExp(`${path}: invalid configuration: pipelines\\.synopp: no pipeline is named synopp`));

  await writeFile(path, JSON.stringify({ ods_url: 'http://127.0.0.1:9' }));
  const old = ecluse(home, ['pipelines', '--json'], { ECLUSE_CONFIG: path, ECLUSE_ODS_URL: '' });
  assert.equal(old.status, 0, old.stderr);
  assert.match(old.stderr, /ods_url is deprecated, write it as pipelines\.synop\.ods_url/);
});
