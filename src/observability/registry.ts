import { collectDefaultMetrics, Registry } from 'prom-client';

/** Every metric name ecluse exposes starts with this, Node's process metrics included. */
const METRIC_PREFIX = 'ecluse_';

/**
 * A registry of its own (never prom-client's global one: a process may build several apps, tests do) with
 * Node's process metrics (CPU, memory, event loop lag, GC) under the ecluse prefix.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
