import { readRunLogs, type RunLogItem } from '../observability/runLog.js';
import { isDay } from '../time/days.js';
import type { RunRecord, RunStatus } from '../warehouse/metadata.js';
import { CliError } from './platform.js';
import { throughServerOr } from './client.js';
import { formatTable, printJson } from './format.js';
import { statusText } from './summary.js';

/** `ecluse runs --logs RUN`: a run's stored log lines, whichever process ran it. */
async function runLogsCommand(runArg: string, limit: number, json: boolean): Promise<void> {
  const id = Number(runArg);
  if (!Number.isInteger(id) || id < 1) throw new CliError(`--logs ${runArg}: expected a run id`, 2);
  const page = await throughServerOr(
    'runs --logs',
    (server) => server.get<{ items: RunLogItem[]; total: number }>(`/runs/${id}/logs`, { limit }),
    async ({ warehouse }) => {
      if (!(await warehouse.getRun(id))) throw new CliError(`no run ${id}`, 1);
      return readRunLogs(warehouse, id, { limit });
    },
  );
  if (json) {
    printJson({ items: page.items, total: page.total, limit, offset: 0 });
    return;
  }
  for (const { at, level, msg, ...fields } of page.items) {
    const extra = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    console.log(`${at} ${level.toUpperCase().padEnd(5)} ${msg}${extra}`);
  }
  if (page.total > page.items.length) console.log(`(${page.items.length} of ${page.total} lines; use --limit)`);
}

export async function runsCommand(opts: {
  pipeline?: string;
  status?: RunStatus;
  from?: string;
  to?: string;
  limit: string;
  json?: boolean;
  logs?: string;
}): Promise<void> {
  const limit = Number(opts.limit);
  if (opts.logs !== undefined) return runLogsCommand(opts.logs, opts.limit === '20' ? 1000 : limit, opts.json === true);
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
    formatTable(list.items.map((r) => ({ ...r, status: statusText(r) })) as unknown as Record<string, unknown>[], [
      'run_id',
      'pipeline',
      'partition',
      'status',
      'attempt',
      'trigger',
      'started_at',
      'duration_ms',
      'files',
      'files_skipped',
      'rows_read',
      'rows_written',
      'rows_rejected',
      'values_rejected',
      'error',
    ]),
  );
  if (list.total > list.items.length) console.log(`(${list.items.length} of ${list.total}; use --limit)`);
}
