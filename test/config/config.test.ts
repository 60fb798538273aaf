import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, formatPath, loadConfig } from '../../src/config/config.js';
import { tempHome } from '../helpers/platform.js';

async function homeWith(file: unknown): Promise<string> {
  const home = await tempHome('ecluse-config-');
  await writeFile(join(home, 'ecluse.config.json'), JSON.stringify(file));
  return home;
}

test('pipelines.<name> sections are kept as written, for each pipeline to validate', async () => {
  const home = await homeWith({ pipelines: { synop: { ods_url: 'https://ods.example.org' }, anything: { x: [1] } } });
  const { pipelines } = loadConfig({ ECLUSE_HOME: home }, home);
  assert.deepEqual(pipelines.sections, { synop: { ods_url: 'https://ods.example.org' }, anything: { x: [1] } });
  assert.equal(pipelines.movedFrom.size, 0);
});

test('the deprecated top-level keys move into their pipelines’ sections, remembering where they came from', async () => {
  const stations = [{ id: 'IX1', name: 'X', city: 'Y', latitude: 1, longitude: 2 }];
  const home = await homeWith({ stations, infoclimat_url: 'http://ic.example/', ods_url: 'http://ods.example', synop_mysql: 'mysql://u@h/db' });
  const { pipelines } = loadConfig({ ECLUSE_HOME: home }, home);
  assert.deepEqual(pipelines.sections, {
    stations: { stations, infoclimat_url: 'http://ic.example/' },
    synop: { ods_url: 'http://ods.example', mysql: 'mysql://u@h/db' },
  });
  assert.deepEqual(Object.fromEntries(pipelines.movedFrom), {
    'stations.stations': 'stations',
    'stations.infoclimat_url': 'infoclimat_url',
    'synop.ods_url': 'ods_url',
    'synop.mysql': 'synop_mysql',
  });
});

test('a deprecated key and its new place both set: an error naming both', async () => {
  const home = await homeWith({ ods_url: 'http://a', pipelines: { synop: { ods_url: 'http://b' } } });
  assert.throws(
    () => loadConfig({ ECLUSE_HOME: home }, home),
    (err: Error) =>
      err instanceof ConfigError &&
      err.message === `${join(home, 'ecluse.config.json')}: both ods_url (deprecated) and pipelines.synop.ods_url are set: keep pipelines.synop.ods_url`,
  );
});

test('a section that is not an object is refused by the base, with its path', async () => {
  const home = await homeWith({ pipelines: { stations: 3 } });
  assert.throws(
    () => loadConfig({ ECLUSE_HOME: home }, home),
    (err: Error) => err instanceof ConfigError && /invalid configuration: pipelines\.stations: /.test(err.message),
  );
});

test('pipelines read the environment the configuration was loaded with, not the process’s', () => {
  const env: Record<string, string> = { ECLUSE_HOME: '/nowhere', ECLUSE_ODS_URL: 'http://first' };
  const config = loadConfig(env, '/nowhere');
  env.ECLUSE_ODS_URL = 'http://changed';
  assert.equal(config.pipelines.env('ECLUSE_ODS_URL'), 'http://first');
  assert.equal(config.pipelines.env('ECLUSE_NOT_SET'), undefined);
});

test('paths read as in the JSON: indices in brackets', () => {
  assert.equal(formatPath(['pipelines', 'stations', 'stations', 0, 'latitude']), 'pipelines.stations.stations[0].latitude');
  assert.equal(formatPath([]), '');
});
