import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { DEFAULT_WU_STATIONS } from '../../src/connectors/wunderground/stations.js';
import { loadPlatformConfig, validatePipelineConfigs } from '../../src/pipelines/platformConfig.js';
import { stationsConfig } from '../../src/pipelines/stations/settings.js';
import { synopConfig } from '../../src/pipelines/synop/settings.js';
import { PIPELINES } from '../../src/pipelines/index.js';
import { STREAM_PIPELINES } from '../../src/pipelines/streams.js';
import { tempHome } from '../helpers/platform.js';

const STATION = { id: 'ILILLE9', name: 'Lille 9', city: 'Lille', country: 'FR', latitude: 50.63, longitude: 3.06 };

async function homeWith(file?: unknown): Promise<{ home: string; path: string }> {
  const home = await tempHome('ecluse-platform-config-');
  const path = join(home, 'ecluse.config.json');
  if (file !== undefined) await writeFile(path, JSON.stringify(file));
  return { home, path };
}

function rejects(home: string, message: RegExp | string, env: Record<string, string> = {}): void {
  assert.throws(
    () => loadPlatformConfig({ ECLUSE_HOME: home, ...env }, home),
    (err: Error) => err instanceof ConfigError && (typeof message === 'string' ? err.message === message : message.test(err.message)),
  );
}

test('no file, no variable: the shipped defaults', async () => {
  const { home } = await homeWith();
  const config = loadPlatformConfig({ ECLUSE_HOME: home }, home);
  assert.deepEqual(stationsConfig.settings(config), {
    stations: DEFAULT_WU_STATIONS,
    infoclimatUrl: 'https://www.infoclimat.fr/opendata/',
    infoclimatToken: undefined,
  });
  assert.deepEqual(synopConfig.settings(config), { odsUrl: 'https://public.opendatasoft.com', odsUrlConfigured: false, mysql: undefined });
});

test('the sections pipelines.stations and pipelines.synop', async () => {
  const { home } = await homeWith({
    pipelines: {
      stations: { stations: [STATION], infoclimat_url: 'http://ic.example/opendata/' },
      synop: { ods_url: 'http://ods.example', mysql: 'mysql://u:p@127.0.0.1/db' },
    },
  });
  const config = loadPlatformConfig({ ECLUSE_HOME: home }, home);
  const stations = stationsConfig.settings(config);
  assert.deepEqual(
    stations.stations.map((s) => [s.id, s.type, s.timezone, s.elevation_m]),
    [['ILILLE9', 'wunderground', 'Europe/Paris', null]],
  );
  assert.equal(stations.infoclimatUrl, 'http://ic.example/opendata/');
  assert.deepEqual(synopConfig.settings(config), { odsUrl: 'http://ods.example', odsUrlConfigured: true, mysql: 'mysql://u:p@127.0.0.1/db' });
});

test('the variables keep working and win over the file', async () => {
  const { home } = await homeWith({ pipelines: { stations: { infoclimat_url: 'http://file/' }, synop: { ods_url: 'http://file' } } });
  const config = loadPlatformConfig(
    {
      ECLUSE_HOME: home,
      ECLUSE_INFOCLIMAT_URL: 'http://env/',
      ECLUSE_INFOCLIMAT_TOKEN: 'tok',
      ECLUSE_ODS_URL: 'http://env',
      ECLUSE_SYNOP_MYSQL: 'mysql://env/db',
    },
    home,
  );
  const { infoclimatUrl, infoclimatToken } = stationsConfig.settings(config);
  assert.deepEqual([infoclimatUrl, infoclimatToken], ['http://env/', 'tok']);
  assert.deepEqual(synopConfig.settings(config), { odsUrl: 'http://env', odsUrlConfigured: true, mysql: 'mysql://env/db' });
});

test('a file of before the sections (stations, infoclimat_url, ods_url, synop_mysql) gives the same settings', async () => {
  const legacy = await homeWith({ stations: [STATION], infoclimat_url: 'http://ic/', ods_url: 'http://ods', synop_mysql: 'mysql://u@h/db' });
  const current = await homeWith({
    pipelines: { stations: { stations: [STATION], infoclimat_url: 'http://ic/' }, synop: { ods_url: 'http://ods', mysql: 'mysql://u@h/db' } },
  });
  const [a, b] = [legacy, current].map(({ home }) => loadPlatformConfig({ ECLUSE_HOME: home }, home));
  assert.deepEqual(stationsConfig.settings(a!), stationsConfig.settings(b!));
  assert.deepEqual(synopConfig.settings(a!), synopConfig.settings(b!));
  assert.equal(synopConfig.settings(a!).odsUrlConfigured, true);
});

test('an invalid station: the file and the path, as the user wrote it (section or deprecated key)', async () => {
  const bad = { ...STATION, latitude: 123 };
  const current = await homeWith({ pipelines: { stations: { stations: [STATION, bad] } } });
  rejects(current.home, new RegExp(`^${current.path}: invalid configuration: pipelines\\.stations\\.stations\\[1\\]\\.latitude: `));
  const legacy = await homeWith({ stations: [bad] });
  rejects(
    legacy.home,
    new RegExp(`^${legacy.path}: invalid configuration: stations\\[0\\]\\.latitude \\(deprecated: write pipelines\\.stations\\.stations\\): `),
  );
});

test('a section naming no pipeline, or a misspelt key in a section: stopped at startup', async () => {
  const KNOWN = [...PIPELINES.keys(), ...STREAM_PIPELINES.map((p) => p.name)].join(', ');
  assert.match(KNOWN, /^stations, synop, eco2mix, rewards/);
  const unknown = await homeWith({ pipelines: { stattions: {} } });
  rejects(unknown.home, `${unknown.path}: invalid configuration: pipelines.stattions: no pipeline is named stattions (known: ${KNOWN})`);
  const typo = await homeWith({ pipelines: { synop: { odsurl: 'http://x' } } });
  rejects(typo.home, new RegExp(`^${typo.path}: invalid configuration: pipelines\\.synop: Unrecognized key: "odsurl"`));
});

test('a bad ECLUSE_SYNOP_MYSQL is named without its value', async () => {
  const { home } = await homeWith();
  assert.throws(
    () => loadPlatformConfig({ ECLUSE_HOME: home, ECLUSE_SYNOP_MYSQL: 'postgres://u:hunter2@h/db' }, home),
    (err: Error) =>
      err instanceof ConfigError &&
      /ECLUSE_SYNOP_MYSQL \(sets pipelines\.synop\.mysql\): expected a mysql:\/\//.test(err.message) &&
      !err.message.includes('hunter2'),
  );
});

test('a pipeline without settings: no section needed, and one given is refused', async () => {
  const plain = { name: 'plain' };
  const { home, path } = await homeWith({ pipelines: { plain: { x: 1 } } });
  assert.throws(
    () => validatePipelineConfigs(loadConfig({ ECLUSE_HOME: home }, home), [plain]),
    (err: Error) => err instanceof ConfigError && err.message === `${path}: invalid configuration: pipelines.plain: the plain pipeline takes no settings`,
  );
  const empty = await homeWith({});
  assert.doesNotThrow(() => validatePipelineConfigs(loadPlatformConfig({ ECLUSE_HOME: empty.home }, empty.home), [plain]));
});
