import type { Config } from '../config/config.js';
import { DuckDBWarehouse } from './duckdbWarehouse.js';
import type { Warehouse } from './warehouse.js';

/** Raised when the warehouse location cannot be used as configured. */
export class WarehouseConfigError extends Error {
  override name = 'WarehouseConfigError';
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

/** The warehouse named by the configuration: a DuckDB file path, or `postgres://…`. */
export async function openWarehouse(config: Config, options: { command?: string } = {}): Promise<Warehouse> {
  if (isPostgresUrl(config.warehouse)) {
    // Loaded on demand: the embedded platform never needs the pg driver.
    const { PostgresWarehouse } = await import('./postgresWarehouse.js');
    try {
      return await PostgresWarehouse.open(config.warehouse, { memoryLimit: config.duckdbMemoryLimit, readerUrl: config.warehouseReader });
    } catch (err) {
      throw new WarehouseConfigError((err as Error).message, { cause: err });
    }
  }
  if (config.warehouse.includes('://')) {
    throw new WarehouseConfigError(`ECLUSE_WAREHOUSE=${config.warehouse}: expected a DuckDB file path or a postgres:// URL`);
  }
  return DuckDBWarehouse.open(config.warehouse, { memoryLimit: config.duckdbMemoryLimit, command: options.command });
}

/**
 * Another connection to the platform's `warehouse`, with transactions of its own: a fork of the embedded
 * file's (one process opens the file), a new one to a server. Whoever writes beside the runs needs one: a
 * statement sent on the runs' connection while a run's transaction is open joins that transaction.
 */
export function openConnection(warehouse: Warehouse, config: Config, command: string): Promise<Warehouse> {
  if (warehouse instanceof DuckDBWarehouse) return warehouse.connection();
  return openWarehouse(config, { command });
}
