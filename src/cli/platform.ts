import { loadConfig, ConfigError, type Config } from '../config/config.js';
import { LakeConfigError, openLake } from '../lake/open.js';
import type { ObjectStore } from '../lake/objectStore.js';
import { WarehouseBusyError } from '../warehouse/duckdbWarehouse.js';
import { openWarehouse, WarehouseConfigError } from '../warehouse/open.js';
import type { Platform } from '../orchestrator/pipeline.js';

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
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 2);
    throw err;
  }
}

/** Opens lake and warehouse for one command, and closes them after, whatever happens. */
export async function withPlatform<T>(command: string, fn: (p: Platform) => Promise<T>): Promise<T> {
  const config = readConfig();
  let lake: ObjectStore;
  let warehouse: Awaited<ReturnType<typeof openWarehouse>>;
  try {
    lake = openLake(config);
    warehouse = await openWarehouse(config, { command: `ecluse ${command}` });
  } catch (err) {
    if (err instanceof WarehouseBusyError || err instanceof WarehouseConfigError || err instanceof LakeConfigError) throw new CliError(err.message, 2);
    throw err;
  }
  try {
    return await fn({ config, lake, warehouse });
  } finally {
    await warehouse.close();
  }
}
