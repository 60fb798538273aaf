import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/config.js';
import type { Platform } from '../pipelines/kit/pipeline.js';
import { processAlive } from '../engine/processes.js';
import { readServerFile, removeServerFile, writeServerFile } from '../server/serverFile.js';
import { startStreams } from '../orchestrator/streamSupervisor.js';
import { answersHealth } from './client.js';
import { CliError, openPlatform, readConfig } from './platform.js';

/** Refuses to start a second server for the same home (its CLI would not know which one to use). */
export async function assertNoServer(config: Config): Promise<void> {
  const info = await readServerFile(config.home);
  if (info && info.pid !== process.pid && processAlive(info.pid) && (await answersHealth(info.url))) {
    throw new CliError(`an ecluse server already runs for ${config.home}: ${info.url} (pid ${info.pid}); stop it first`, 2);
  }
}

function urlOf(host: string, port: number): string {
  // A wildcard address is reached locally through loopback.
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${local.includes(':') ? `[${local}]` : local}:${port}`;
}

/**
 * Serves the API over an open platform until SIGINT or SIGTERM, and runs the pipelines' schedules (with
 * a catch-up of the last missed tick, and a retry of runs a dead process left). On a signal: aborts the
 * runs in progress (no further attempt; each is recorded failed at its next step, nothing of it committed,
 * and run again at the next start), stops the schedules, closes the server, the warehouse, and removes
 * `server.json`. A second signal exits at once: the next start then marks the run failed and runs it again.
 */
export async function serve(platform: Platform): Promise<void> {
  const { config } = platform;
  const { buildApp } = await import('../server/app.js');
  const { Scheduler } = await import('../orchestrator/scheduler.js');
  const { openOrchestrator } = await import('./orchestrate.js');
  // The local CLI's token: it lives in server.json (mode 0600) and dies with the server.
  const token = randomBytes(32).toString('base64url');
  // On PostgreSQL, day partitions go to `ecluse worker` processes unless ECLUSE_EXECUTION=local.
  const { orchestrator, close: closeQueue } = await openOrchestrator(platform, 'queue');
  if (orchestrator.viaQueue)
    console.log('partition runs (schedules, triggers, backfills) are queued for `ecluse worker` processes (ECLUSE_EXECUTION=local runs them here)');
  const app = await buildApp({ platform, localToken: token, orchestrator, pipelines: orchestrator.pipelines });
  const scheduler = new Scheduler(orchestrator, { log: (message) => app.log.info({ scheduler: true }, message) });
  const host = config.host;
  // Handlers first: a signal that comes as soon as the URL is printed must already stop us cleanly.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  try {
    await app.listen({ port: config.port, host });
  } catch (err) {
    await app.close();
    await closeQueue();
    throw new CliError(`cannot listen on ${host}:${config.port}: ${(err as Error).message}`, 2);
  }
  const port = (app.server.address() as AddressInfo).port;
  const url = urlOf(host, port);
  await writeServerFile(config.home, { pid: process.pid, url, port, started_at: new Date().toISOString(), warehouse: config.warehouse, token });
  console.log(`ecluse API on ${url} (OpenAPI: ${url}/docs) — home ${config.home}; Ctrl-C to stop`);
  console.log(`Try: curl ${url}/stations · npx ecluse runs · npx ecluse sql "select station_id, count(*) from reports group by 1"`);
  scheduler.start();
  const streams = await startStreams(platform);

  const signal = await stopSignal;
  const force = () => {
    console.error('ecluse: stopping now; the run in progress will be marked failed on the next start');
    process.exit(130);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  console.log(`${signal}: stopping (runs in progress end now, and run again at the next start) …`);
  // Runs end at once: no further attempt, no backoff wait; the attempt in progress is aborted.
  orchestrator.stop(`stop requested: ${signal}`);
  await scheduler.stop();
  await streams.stop();
  await app.close();
  await closeQueue();
  await removeServerFile(config.home);
  console.log('stopped');
}

/** `ecluse up`: opens the platform for as long as it serves (the embedded warehouse allows one writer). */
export async function upCommand(): Promise<void> {
  const config = readConfig();
  await assertNoServer(config);
  const platform = await openPlatform('up', config);
  try {
    await serve(platform);
  } finally {
    await platform.warehouse.close();
  }
}
