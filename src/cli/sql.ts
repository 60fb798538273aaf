import { throughServerOr } from './platform.js';
import { formatTable, printJson } from './format.js';

export async function sqlCommand(query: string, opts: { json?: boolean }): Promise<void> {
  const rows = await throughServerOr(
    'sql',
    (server) => server.post<Record<string, unknown>[]>('/sql', { sql: query }),
    ({ warehouse }) => warehouse.query(query),
  );
  if (opts.json) printJson(rows);
  else console.log(formatTable(rows));
}
