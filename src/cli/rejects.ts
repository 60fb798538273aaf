import type { RejectRow } from '../warehouse/warehouse.js';
import { CliError } from './platform.js';
import { throughServerOr } from './client.js';
import { formatTable, printJson } from './format.js';

export async function rejectsCommand(opts: { run?: string; pipeline?: string; limit: string; offset: string; json?: boolean }): Promise<void> {
  const runId = opts.run === undefined ? undefined : Number(opts.run);
  if (runId !== undefined && !Number.isInteger(runId)) throw new CliError(`--run must be a run id (a number), got "${opts.run}"`, 2);
  const limit = Number(opts.limit);
  const offset = Number(opts.offset);
  const list = await throughServerOr(
    'rejects',
    (server) => server.get<{ items: RejectRow[]; total: number }>('/rejects', { run: runId, pipeline: opts.pipeline, limit, offset }),
    ({ warehouse }) => warehouse.listRejects({ runId, pipeline: opts.pipeline, limit, offset }),
  );
  if (opts.json) {
    printJson({ items: list.items, total: list.total, limit, offset });
    return;
  }
  console.log(formatTable(list.items as unknown as Record<string, unknown>[], ['run_id', 'file', 'sheet', 'row', 'field', 'value', 'reason', 'whole_record']));
  if (list.total > offset + list.items.length) console.log(`(${offset + list.items.length} of ${list.total}; use --limit/--offset)`);
}
