import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { FolderStore } from '../../src/lake/folderStore.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdbWarehouse.js';
import type { Platform } from '../../src/orchestrator/pipeline.js';

/** A fresh ecluse home in a temporary folder. */
export async function tempHome(prefix = 'ecluse-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function openPlatform(home: string): Promise<Platform> {
  const config = loadConfig({ ECLUSE_HOME: home }, home);
  const warehouse = await DuckDBWarehouse.open(config.warehouse, { command: 'test' });
  return { config, lake: new FolderStore(config.lake), warehouse };
}

export async function withPlatform<T>(home: string, fn: (p: Platform) => Promise<T>): Promise<T> {
  const p = await openPlatform(home);
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
