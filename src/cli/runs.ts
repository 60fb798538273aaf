import type { RunRecord } from '../warehouse/metadata.js';
import { throughServerOr } from './platform.js';
import { formatTable, printJson } from './format.js';

export async function runsCommand(opts: { pipeline?: string; status?: 'running' | 'succeeded' | 'failed'; limit: string; json?: boolean }): Promise<void> {
  const limit = Number(opts.limit);
  const filter = { pipeline: opts.pipeline, status: opts.status, limit };
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
      'run_id', 'pipeline', 'partition', 'status', 'started_at', 'duration_ms', 'files', 'files_skipped', 'rows_read', 'rows_written', 'rows_rejected', 'values_rejected', 'error',
    ]),
  );
  if (list.total > list.items.length) console.log(`(${list.items.length} of ${list.total}; use --limit)`);
}
