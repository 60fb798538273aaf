import { isDay } from '../orchestrator/partitions.js';
import type { RunRecord, RunStatus } from '../warehouse/metadata.js';
import { CliError, throughServerOr } from './platform.js';
import { formatTable, printJson } from './format.js';

export async function runsCommand(opts: { pipeline?: string; status?: RunStatus; from?: string; to?: string; limit: string; json?: boolean }): Promise<void> {
  const limit = Number(opts.limit);
  for (const day of [opts.from, opts.to]) if (day !== undefined && !isDay(day)) throw new CliError(`${day}: expected a day YYYY-MM-DD`, 2);
  const filter = { pipeline: opts.pipeline, status: opts.status, from: opts.from, to: opts.to, limit };
  const list = await throughServerOr(
    'runs',
    (server) => server.get<{ items: RunRecord[]; total: number }>('/runs', filter),
    ({ warehouse }) => warehouse.listRuns(filter),
  );
  if (opts.json) {
    printJson({ items: list.items, total: list.total, limit, offset: 0 });
    return;
  }
  console.log(
    formatTable(list.items as unknown as Record<string, unknown>[], [
      'run_id', 'pipeline', 'partition', 'status', 'attempt', 'trigger', 'started_at', 'duration_ms', 'files', 'files_skipped', 'rows_read', 'rows_written', 'rows_rejected', 'values_rejected', 'error',
    ]),
  );
  if (list.total > list.items.length) console.log(`(${list.items.length} of ${list.total}; use --limit)`);
}
