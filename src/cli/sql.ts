import { plainValue } from '../engine/duckdb.js';
import { withPlatform } from './platform.js';
import { formatTable, printJson } from './format.js';

export async function sqlCommand(query: string, opts: { json?: boolean }): Promise<void> {
  const rows = await withPlatform('sql', async ({ warehouse }) => (await warehouse.query(query)).map((r) => plainValue(r) as Record<string, unknown>));
  if (opts.json) printJson(rows);
  else console.log(formatTable(rows));
}
