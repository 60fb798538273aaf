import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ecluse, ecluseJson } from '../helpers/cli.js';
import { tempHome } from '../helpers/platform.js';

test('ecluse tokens create, list, revoke (in process on the embedded warehouse)', async () => {
  const home = await tempHome('ecluse-tokens-');
  const created = ecluseJson<{ name: string; scope: string; token: string }>(home, ['tokens', 'create', 'grafana', '--scope', 'read']);
  assert.equal(created.scope, 'read');
  assert.match(created.token, /^ecl_/);
  const human = ecluse(home, ['tokens', 'create', 'ops', '--scope', 'admin']);
  assert.equal(human.status, 0, human.stderr);
  assert.match(human.stdout, /shown this once:\n\n {2}ecl_\S{43}\n/);
  const list = ecluseJson<{ name: string; scope: string }[]>(home, ['tokens', 'list']);
  assert.deepEqual(
    list.map((t) => [t.name, t.scope]),
    [
      ['grafana', 'read'],
      ['ops', 'admin'],
    ],
  );
  assert.ok(!JSON.stringify(list).includes(created.token), 'the list never shows a secret');
  assert.equal(ecluse(home, ['tokens', 'create', 'grafana']).status, 1, 'a name is unique');
  assert.equal(ecluse(home, ['tokens', 'create', 'x', '--scope', 'root']).status, 1, 'unknown scope');
  assert.deepEqual(ecluseJson(home, ['tokens', 'revoke', 'grafana']), { name: 'grafana', revoked: true });
  const again = ecluse(home, ['tokens', 'revoke', 'grafana']);
  assert.equal(again.status, 1);
  assert.match(again.stdout, /no token named "grafana"/);
  assert.deepEqual(
    ecluseJson<{ name: string }[]>(home, ['tokens', 'list']).map((t) => t.name),
    ['ops'],
  );
});
