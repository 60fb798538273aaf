/**
 * A real worker process for the worker tests (spawned by them): `runWorker` — the code of `ecluse worker` —
 * with the test's `writer` pipeline. Env: ECLUSE_HOME, ECLUSE_WAREHOUSE, WORKER_TABLE, WORKER_WORK_MS,
 * WORKER_CONCURRENCY, WORKER_POLL_MS. Stops on SIGTERM after its runs in progress.
 */
import { loadConfig } from '../../src/config/config.js';
import { runWorker } from '../../src/cli/worker.js';
import { openLake } from '../../src/lake/open.js';
import { openWarehouse } from '../../src/warehouse/open.js';
import { writerPipeline } from './testPipelines.js';

const home = process.env.ECLUSE_HOME as string;
const config = loadConfig(process.env, home);
const warehouse = await openWarehouse(config, { command: 'test worker' });
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
const pipeline = writerPipeline('writer', process.env.WORKER_TABLE as string, Number(process.env.WORKER_WORK_MS ?? 200));
try {
  await runWorker({ config, lake: openLake(config), warehouse }, new Map([[pipeline.name, pipeline]]), {
    concurrency: Number(process.env.WORKER_CONCURRENCY ?? 1),
    pollMs: Number(process.env.WORKER_POLL_MS ?? 100),
    reapMs: 300,
    signal: stop.signal,
    log: (m) => console.log(m),
  });
} finally {
  await warehouse.close();
}
