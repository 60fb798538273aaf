import { sep } from 'node:path';
import { ConfigError, type Config } from '../config/config.js';
import { loadPlatformConfig } from '../pipelines/platformConfig.js';
import { LakeConfigError, openLake } from '../lake/open.js';
import { WarehouseBusyError } from '../warehouse/duckdbWarehouse.js';
import { openWarehouse, WarehouseConfigError } from '../warehouse/open.js';
import type { Platform } from '../pipelines/kit/pipeline.js';
import { readServerFile } from '../server/serverFile.js';

/** Exit codes: 1 a failure of the work itself, 2 the platform could not be used (busy, misconfigured). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function readConfig(): Config {
  try {
    const config = loadPlatformConfig();
    // Said on stderr, once per command: the file keeps working, and the user learns where the setting lives now.
    for (const [path, key] of config.pipelines.movedFrom) console.error(`ecluse: ${config.source}: ${key} is deprecated, write it as pipelines.${path}`);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

/**
 * Opens lake and warehouse; the caller closes the warehouse. Scratch folders that killed runs left in the
 * home are removed first thing (said on stderr).
 */
export async function openPlatform(command: string, config = readConfig()): Promise<Platform> {
  try {
    const platform = { config, lake: openLake(config), warehouse: await openWarehouse(config, { command: `ecluse ${command}` }) };
    // Holding the embedded warehouse of this home, no other process runs pipelines on it.
    const exclusive = !config.warehouse.includes('://') && config.warehouse.startsWith(config.home + sep);
    const { removeStaleScratchDirs } = await import('../engine/bulk.js');
    const removed = await removeStaleScratchDirs(config.home, { exclusive }).catch(() => []);
    if (removed.length > 0) console.error(`ecluse: removed ${removed.length} scratch folder(s) left in ${config.home} by runs that were killed`);
    return platform;
  } catch (err) {
    if (err instanceof WarehouseBusyError) {
      const server = await readServerFile(config.home);
      // The holder may be an `ecluse up` that does not answer (starting, stuck): say so, it is the likely fix.
      const hint = server ? ` (an ecluse server, pid ${server.pid}, is registered at ${server.url} but did not answer)` : '';
      throw new CliError(err.message + hint, 2);
    }
    if (err instanceof WarehouseConfigError || err instanceof LakeConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

/** Opens lake and warehouse for one command, and closes them after, whatever happens. */
export async function withPlatform<T>(command: string, fn: (p: Platform) => Promise<T>): Promise<T> {
  const platform = await openPlatform(command);
  try {
    return await fn(platform);
  } finally {
    await platform.warehouse.close();
  }
}
