import { throughServerOr } from './client.js';
import { formatTable, printJson } from './format.js';
import { wholeAnswer, type SqlAnswer } from '../warehouse/readOnlySql.js';

export interface SqlOptions {
  json?: boolean;
  /** The admin path: any statement, no limits (`POST /admin/sql` through a server). */
  write?: boolean;
}

/**
 * `ecluse sql`: the same read-only path as `POST /sql`, through the server or in process; `--write` takes the
 * admin path. Either way the rows print the same, and a cut answer is said on stderr (stdout stays the rows).
 */
export async function sqlCommand(query: string, opts: SqlOptions): Promise<void> {
  const answer = await throughServerOr<SqlAnswer>(
    'sql',
    (server) => server.post<SqlAnswer>(opts.write ? '/admin/sql' : '/sql', { sql: query }),
    async ({ warehouse, config }) => (opts.write ? wholeAnswer(await warehouse.query(query)) : warehouse.readOnlyQuery(query, config.sqlLimits)),
  );
  if (opts.json) printJson(answer.rows);
  else console.log(answer.rows.length ? formatTable(answer.rows, answer.columns) : '(no rows)');
  if (answer.truncated && answer.limit) {
    process.stderr.write(
      `ecluse: the answer is cut at ${answer.row_count} rows (limits: ${answer.limit.rows} rows, ${Math.round(answer.limit.bytes / 1024 / 1024)} MB; ` +
        `add LIMIT/OFFSET or aggregate, or raise ECLUSE_SQL_MAX_ROWS / ECLUSE_SQL_MAX_MB)\n`,
    );
  }
}
