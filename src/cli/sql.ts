import { withPlatform } from './platform.js';
import { formatTable, printJson } from './format.js';

export async function sqlCommand(query: string, opts: { json?: boolean }): Promise<void> {
  const rows = await withPlatform('sql', async ({ warehouse }) => warehouse.query(query));
  if (opts.json) printJson(rows);
  else console.log(formatTable(rows));
}
