import { CliError } from './platform.js';

/** `ecluse worker`: takes partition runs from the PostgreSQL job queue (issue 6 §5). */
export async function workerCommand(_opts: { concurrency: number }): Promise<void> {
  throw new CliError('ecluse worker is not built yet', 1);
}
