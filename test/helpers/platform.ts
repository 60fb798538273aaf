import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlatformConfig } from '../../src/pipelines/platformConfig.js';
import { openLake } from '../../src/lake/open.js';
import { openWarehouse } from '../../src/warehouse/open.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';

/** A fresh ecluse home in a temporary folder. */
export async function tempHome(prefix = 'ecluse-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Overrides of the home's configuration, as environment variables (ECLUSE_WAREHOUSE, ECLUSE_LAKE…). */
export type PlatformEnv = Record<string, string | undefined>;

export async function openPlatform(home: string, env: PlatformEnv = {}): Promise<Platform> {
  const config = loadPlatformConfig({ ECLUSE_HOME: home, ...env }, home);
  const warehouse = await openWarehouse(config, { command: 'test' });
  return { config, lake: openLake(config), warehouse };
}

export async function withPlatform<T>(home: string, fn: (p: Platform) => Promise<T>, env: PlatformEnv = {}): Promise<T> {
  const p = await openPlatform(home, env);
  try {
    return await fn(p);
  } finally {
    await p.warehouse.close();
  }
}

/** Writes files (name → content; objects are JSON-encoded) into a new folder and returns it. */
export async function writeInputs(dir: string, files: Record<string, unknown>): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const data = typeof content === 'string' || content instanceof Uint8Array ? content : JSON.stringify(content);
    await writeFile(join(dir, name), data);
  }
  return dir;
}
