import type { Config } from '../config/config.js';
import { DuckDBWarehouse } from './duckdbWarehouse.js';

/** Raised when the warehouse location cannot be used as configured. */
export class WarehouseConfigError extends Error {
  override name = 'WarehouseConfigError';
}

/** The warehouse named by the configuration: a DuckDB file, or (soon) `postgres://…`. */
export async function openWarehouse(config: Config, options: { command?: string } = {}): Promise<DuckDBWarehouse> {
  if (config.warehouse.includes('://')) {
    throw new WarehouseConfigError(`ECLUSE_WAREHOUSE=${config.warehouse}: only the embedded DuckDB warehouse is supported yet`);
  }
  return DuckDBWarehouse.open(config.warehouse, { memoryLimit: config.duckdbMemoryLimit, command: options.command });
}
