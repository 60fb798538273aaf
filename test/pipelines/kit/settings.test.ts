import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, loadConfig, type Config } from '../../../src/config/config.js';
import { pipelineConfig, pipelineEnv } from '../../../src/pipelines/kit/settings.js';
import { tempHome } from '../../helpers/platform.js';

const DB_PASSWORD = 'pw-Kq72Lz';

// A section shaped like the rewards pipeline's to come: a secret database URL, numbers, a list.
let resolved = 0;
const rewardsConfig = pipelineConfig({
  name: 'rewards',
  schema: z
    .object({
      db: z.string().startsWith('postgres://', 'expected a postgres:// URL').optional(),
      bonus_pct: z.coerce.number().min(0).max(100).optional(),
      offices: z.array(z.object({ address: z.string().min(1), km_limit: z.number().positive() })).default([]),
    })
    .strict(),
  env: [
    { name: 'ECLUSE_REWARDS_DB', key: 'db', description: 'the rewards database', secret: true },
    { name: 'ECLUSE_REWARDS_BONUS_PCT', key: 'bonus_pct', description: 'bonus in percent' },
  ],
  resolve: (s) => {
    resolved++;
    return { db: s.db, bonusPct: s.bonus_pct ?? 5, offices: s.offices };
  },
});

async function configOf(file: unknown, env: Record<string, string> = {}): Promise<{ config: Config; path: string }> {
  const home = await tempHome('ecluse-settings-');
  const path = join(home, 'ecluse.config.json');
  if (file !== undefined) await writeFile(path, JSON.stringify(file));
  return { config: loadConfig({ ECLUSE_HOME: home, ...env }, home), path };
}

test('no section and no variable: the defaults of resolve', async () => {
  const { config } = await configOf(undefined);
  assert.deepEqual(rewardsConfig.settings(config), { db: undefined, bonusPct: 5, offices: [] });
});

test('the file’s section, typed; validated once per configuration', async () => {
  const { config } = await configOf({ pipelines: { rewards: { bonus_pct: 12, offices: [{ address: '1 rue X, Lille', km_limit: 30 }] } } });
  const before = resolved;
  const first = rewardsConfig.settings(config);
  assert.deepEqual(first, { db: undefined, bonusPct: 12, offices: [{ address: '1 rue X, Lille', km_limit: 30 }] });
  assert.equal(rewardsConfig.settings(config), first, 'the same object: cached');
  assert.equal(resolved, before + 1);
});

test('an invalid section: a ConfigError naming the file and the path of each problem', async () => {
  const { config, path } = await configOf({ pipelines: { rewards: { bonus_pct: 120, offices: [{ address: 'x', km_limit: -1 }], typo: 1 } } });
  assert.throws(
    () => rewardsConfig.settings(config),
    (err: Error) =>
      err instanceof ConfigError &&
      err.message.startsWith(`${path}: invalid configuration: `) &&
      /pipelines\.rewards\.bonus_pct: /.test(err.message) &&
      /pipelines\.rewards\.offices\[0\]\.km_limit: /.test(err.message) &&
      /pipelines\.rewards: Unrecognized key: "typo"/.test(err.message),
  );
});

test('a variable wins over the file and goes through the schema (a number from a string)', async () => {
  const { config } = await configOf(
    { pipelines: { rewards: { bonus_pct: 12 } } },
    { ECLUSE_REWARDS_BONUS_PCT: '7.5', ECLUSE_REWARDS_DB: `postgres://r:${DB_PASSWORD}@h/db` },
  );
  assert.deepEqual(rewardsConfig.settings(config), { db: `postgres://r:${DB_PASSWORD}@h/db`, bonusPct: 7.5, offices: [] });
  // Set but empty: unset, the file's value stands.
  const { config: empty } = await configOf({ pipelines: { rewards: { bonus_pct: 12 } } }, { ECLUSE_REWARDS_BONUS_PCT: '' });
  assert.equal(rewardsConfig.settings(empty).bonusPct, 12);
});

test('an invalid variable is named, and a secret’s value is not repeated', async () => {
  const { config } = await configOf(undefined, { ECLUSE_REWARDS_DB: `mysql://r:${DB_PASSWORD}@h/db`, ECLUSE_REWARDS_BONUS_PCT: 'lots' });
  assert.throws(
    () => rewardsConfig.settings(config),
    (err: Error) =>
      err instanceof ConfigError &&
      err.message.startsWith('environment: invalid configuration: ') &&
      err.message.includes('ECLUSE_REWARDS_DB (sets pipelines.rewards.db): expected a postgres:// URL') &&
      err.message.includes('ECLUSE_REWARDS_BONUS_PCT (sets pipelines.rewards.bonus_pct): ') &&
      !err.message.includes(DB_PASSWORD),
  );
});

test('override: values a command was given win over file and environment, validated like them, on a copy', async () => {
  const { config } = await configOf({ pipelines: { rewards: { bonus_pct: 12 } } }, { ECLUSE_REWARDS_DB: 'postgres://env/db' });
  const copy = rewardsConfig.override(config, { db: 'postgres://flag/db' });
  assert.equal(rewardsConfig.settings(copy).db, 'postgres://flag/db');
  assert.equal(rewardsConfig.settings(copy).bonusPct, 12);
  assert.equal(rewardsConfig.settings(config).db, 'postgres://env/db', 'the original is untouched');
  // The copy's other variables still count.
  assert.equal(copy.pipelines.env('ECLUSE_HOME'), config.pipelines.env('ECLUSE_HOME'));
  assert.throws(() => rewardsConfig.settings(rewardsConfig.override(config, { db: 'nope' })), /pipelines\.rewards\.db: expected a postgres:\/\/ URL/);
});

test('pipelineEnv lists the variables, whether each is set, and never a value', async () => {
  const { config } = await configOf(undefined, { ECLUSE_REWARDS_DB: `postgres://r:${DB_PASSWORD}@h/db` });
  const listed = pipelineEnv({ config: rewardsConfig }, config);
  assert.deepEqual(
    listed.map((e) => [e.name, e.sets, e.secret, e.set]),
    [
      ['ECLUSE_REWARDS_DB', 'pipelines.rewards.db', true, true],
      ['ECLUSE_REWARDS_BONUS_PCT', 'pipelines.rewards.bonus_pct', false, false],
    ],
  );
  assert.equal(JSON.stringify(listed).includes(DB_PASSWORD), false);
  assert.deepEqual(pipelineEnv({}, config), [], 'a pipeline without settings has no variables');
});
