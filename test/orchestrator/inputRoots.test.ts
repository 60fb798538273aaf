import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../../src/config/config.js';
import { apiInputPolicy, checkInputs, configuredInputRoots, InputRefusedError } from '../../src/orchestrator/inputRoots.js';

/** A machine in a temporary folder: an ecluse home, an input root, and files outside both. */
async function layout(): Promise<{ base: string; home: string; root: string; outside: string; config: (env?: Record<string, string>) => Config }> {
  const base = await mkdtemp(join(tmpdir(), 'ecluse-roots-'));
  const home = join(base, 'home');
  const root = join(base, 'drop');
  const outside = join(base, 'secret');
  for (const dir of [home, root, outside]) await mkdir(dir);
  await writeFile(join(home, 'server.json'), '{"token":"s3cret"}');
  await writeFile(join(outside, 'passwd.json'), '{"root":"x"}');
  await writeFile(join(root, 'a.json'), '{}');
  const config = (env: Record<string, string> = {}) => loadConfig({ ECLUSE_HOME: home, ECLUSE_INPUT_ROOTS: root, ...env }, base);
  return { base, home, root, outside, config };
}

const remote = (config: Config) => apiInputPolicy(config, { localClient: false });
const local = (config: Config) => apiInputPolicy(config, { localClient: true });

async function refused(inputs: string[], policy: ReturnType<typeof remote>, pattern: RegExp): Promise<void> {
  await assert.rejects(checkInputs(inputs, policy), (err: unknown) => {
    assert.ok(err instanceof InputRefusedError, String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

describe('input roots of API runs', () => {
  test('configuration: ECLUSE_INPUT_ROOTS (path-delimited) replaces input_roots; a landing folder is a root, an s3:// landing is not', async () => {
    const { base, root, config } = await layout();
    const file = join(base, 'ecluse.config.json');
    await writeFile(file, JSON.stringify({ input_roots: ['drop', '/srv/in'] }));
    const fromFile = loadConfig({ ECLUSE_HOME: 'home' }, base);
    assert.deepEqual(fromFile.inputRoots, [root, '/srv/in']);
    assert.deepEqual(loadConfig({ ECLUSE_HOME: 'home', ECLUSE_INPUT_ROOTS: ['/a', '', 'b'].join(delimiter) }, base).inputRoots, ['/a', join(base, 'b')]);
    assert.deepEqual(configuredInputRoots(config({ ECLUSE_LANDING: 'landing' })), [join(base, 'landing'), root]);
    assert.deepEqual(configuredInputRoots(config({ ECLUSE_LANDING: 's3://bucket/landing' })), [root]);
    await writeFile(file, JSON.stringify({ input_roots: ['s3://bucket/x'] }));
    assert.throws(
      () => loadConfig({}, base),
      (err: unknown) => err instanceof ConfigError && /input root s3:\/\/bucket\/x: .* not URLs/.test(err.message),
    );
  });

  test('a file or folder under a root passes, with every file inside it', async () => {
    const { root, config } = await layout();
    await mkdir(join(root, 'sub'));
    await writeFile(join(root, 'sub', 'b.json'), '{}');
    // A link that stays inside the root is fine.
    await symlink(join(root, 'a.json'), join(root, 'sub', 'again.json'));
    await checkInputs([join(root, 'a.json'), root, join(root, 'sub')], remote(config()));
  });

  test('a path outside the roots is refused, named with the roots', async () => {
    const { root, outside, config } = await layout();
    await refused(
      [join(root, 'a.json'), join(outside, 'passwd.json')],
      remote(config()),
      new RegExp(`input "${join(outside, 'passwd.json')}" is outside the input roots; the input roots of this server are ${root}`),
    );
    // `..` does not climb out, nor does a sibling whose name starts like the root.
    await refused([join(root, '..', 'secret', 'passwd.json')], remote(config()), /is outside the input roots/);
    await mkdir(`${root}2`);
    await writeFile(join(`${root}2`, 'x.json'), '{}');
    await refused([join(`${root}2`, 'x.json')], remote(config()), /is outside the input roots/);
  });

  test('without any root configured, every path is refused and the message says how to configure one', async () => {
    const { root, config } = await layout();
    await refused(
      [join(root, 'a.json')],
      remote(config({ ECLUSE_INPUT_ROOTS: '' })),
      /this server has no input roots: .*ECLUSE_LANDING.*input_roots in ecluse\.config\.json, or ECLUSE_INPUT_ROOTS/,
    );
  });

  test('links are resolved: a link given, a link inside a given folder, a linked folder inside it', async () => {
    const { root, outside, config } = await layout();
    const target = join(outside, 'passwd.json');
    await symlink(target, join(root, 'given.json'));
    await refused([join(root, 'given.json')], remote(config()), new RegExp(`resolving to ${target}\\) is outside the input roots`));

    const { root: root2, outside: outside2, config: config2 } = await layout();
    await mkdir(join(root2, 'day'));
    await symlink(join(outside2, 'passwd.json'), join(root2, 'day', 'innocent.csv'));
    await refused(
      [root2],
      remote(config2()),
      new RegExp(
        `input "${root2}" holds ${join(root2, 'day', 'innocent.csv')}, which resolves to ${join(outside2, 'passwd.json')} and is outside the input roots`,
      ),
    );

    const { root: root3, outside: outside3, config: config3 } = await layout();
    await symlink(outside3, join(root3, 'linked'));
    await refused([root3], remote(config3()), /linked.passwd\.json, which resolves to .*secret.passwd\.json and is outside the input roots/);
  });

  test('the ecluse home, the lake and the warehouse are refused even inside a root, and even to the local client', async () => {
    const { base, home, root, config } = await layout();
    const wide = config({ ECLUSE_INPUT_ROOTS: base });
    for (const policy of [remote(wide), local(wide)]) {
      await refused([join(home, 'server.json')], policy, /server\.json" is one of ecluse’s own files/);
      // A folder that holds the home is refused for the home's files it would read.
      await refused([base], policy, /holds .*home.server\.json, which resolves to .* and is one of ecluse’s own files/);
    }
    // A link from a root into the home.
    await symlink(join(home, 'server.json'), join(root, 'token.json'));
    await refused([join(root, 'token.json')], remote(wide), /one of ecluse’s own files/);
    // A lake and a warehouse outside the home, with the warehouse's companion files.
    const lake = join(base, 'lake');
    const warehouse = join(base, 'wh.duckdb');
    await mkdir(join(lake, 'raw'), { recursive: true });
    await writeFile(join(lake, 'raw', 'x.json'), '{}');
    await writeFile(`${warehouse}.wal`, '');
    const placed = config({ ECLUSE_INPUT_ROOTS: base, ECLUSE_LAKE: lake, ECLUSE_WAREHOUSE: warehouse });
    await refused([join(lake, 'raw', 'x.json')], remote(placed), /one of ecluse’s own files/);
    await refused([`${warehouse}.wal`], local(placed), /one of ecluse’s own files/);
  });

  test('the local client may name any file outside ecluse’s own', async () => {
    const { outside, config } = await layout();
    await checkInputs([join(outside, 'passwd.json'), outside], local(config({ ECLUSE_INPUT_ROOTS: '' })));
  });

  test('a missing path is left to the run when it would be allowed, refused when it would not', async () => {
    const { root, outside, config } = await layout();
    await checkInputs([join(root, 'later', 'x.json')], remote(config()));
    await refused([join(outside, 'nope', 'x.json')], remote(config()), /is outside the input roots/);
    // A path that cannot even be resolved (a name too long; unreadable, for a user other than root) is
    // judged by where it would be, like a missing one: never an error that tells it from a refusal.
    const long = 'n'.repeat(300);
    await refused([join(outside, long, 'x.json')], remote(config()), /is outside the input roots/);
    await checkInputs([join(root, long, 'x.json')], remote(config()));
    // Through a link to outside, a missing file is still outside.
    await symlink(outside, join(root, 'out'));
    await refused([join(root, 'out', 'missing.json')], remote(config()), /resolving to .*secret.missing\.json\) is outside/);
  });
});
