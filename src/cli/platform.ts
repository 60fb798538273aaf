import { loadConfig, ConfigError, type Config } from '../config/config.js';
import { FolderStore } from '../lake/folderStore.js';
import type { ObjectStore } from '../lake/objectStore.js';
import { DuckDBWarehouse, WarehouseBusyError } from '../warehouse/duckdbWarehouse.js';
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

export function openLake(config: Config): ObjectStore {
  if (config.lake.startsWith('s3://')) {
    throw new CliError(`ECLUSE_LAKE=${config.lake}: S3 lakes are not supported yet; use a folder`, 2);
  }
  return new FolderStore(config.lake);
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
  if (config.warehouse.includes('://')) {
    throw new CliError(`ECLUSE_WAREHOUSE=${config.warehouse}: only the embedded DuckDB warehouse is supported yet`, 2);
  }
  const lake = openLake(config);
  let warehouse: DuckDBWarehouse;
  try {
    warehouse = await DuckDBWarehouse.open(config.warehouse, { memoryLimit: config.duckdbMemoryLimit, command: `ecluse ${command}` });
  } catch (err) {
    if (err instanceof WarehouseBusyError) throw new CliError(err.message, 2);
    throw err;
  }
  try {
    return await fn({ config, lake, warehouse });
  } finally {
    await warehouse.close();
  }
}
