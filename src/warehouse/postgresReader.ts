import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Row } from '../engine/duckdb.js';
import { quoteIdent } from './dataset.js';
import { API_TOKENS_TABLE } from './apiTokens.js';
import { AnswerCollector, SqlRefusedError, SqlTimeoutError, SqlUnavailableError, type SqlAnswer, type SqlLimits } from './readOnlySql.js';

/**
 * The SQL endpoint on PostgreSQL: statements run on a login of their own, a role that may only read
 * ecluse's tables. Not a `SET ROLE` on the warehouse's (often superuser) session: a statement can undo that
 * itself (`set_config('role', …)`, `RESET ROLE`). See docs/security.md.
 */

/** Rows fetched per round trip from the statement's cursor. */
const FETCH_ROWS = 1000;

const QUERY_CANCELED = '57014';
const SYNTAX_ERROR = '42601';
const INSUFFICIENT_PRIVILEGE = '42501';
const READ_ONLY_TRANSACTION = '25006';
const DUPLICATE_OBJECT = '42710';
const UNIQUE_VIOLATION = '23505';

/** The commands PostgreSQL has besides queries: DECLARE refuses them as a syntax error, which is not the reason. */
const NOT_A_QUERY =
  /^\s*(abort|alter|analy[sz]e|begin|call|checkpoint|close|cluster|comment|commit|copy|create|deallocate|declare|delete|discard|do|drop|end|execute|explain|fetch|grant|import|insert|listen|load|lock|merge|move|notify|prepare|reassign|refresh|reindex|release|reset|revoke|rollback|savepoint|security|set|show|start|truncate|unlisten|update|vacuum)\b/i;

/**
 * The reader role of a warehouse schema: `<schema>_reader` (`ecluse_reader` without one), so that each
 * schema's reader sees that schema alone. Names longer than PostgreSQL's 63 bytes keep a hash of the schema.
 */
export function readerRoleName(schema: string | null): string {
  if (!schema) return 'ecluse_reader';
  const name = `${schema}_reader`;
  if (name.length <= 63) return name.toLowerCase();
  return `${schema.slice(0, 40)}_${createHash('sha1').update(schema).digest('hex').slice(0, 8)}_reader`.toLowerCase();
}

/**
 * Creates the reader role if missing (a login without password: trust authentication admits it; elsewhere
 * the operator gives it one and names it in ECLUSE_WAREHOUSE_READER) and lets it read the schema's tables,
 * present and future. Returns why it could not be done, or null. Run by the warehouse's writer, which owns
 * the tables (PostgreSQL's default privileges apply to tables their granting role creates).
 */
export async function setUpReaderRole(writer: pg.Client, role: string, createIfMissing: boolean): Promise<string | null> {
  try {
    const { rows } = await writer.query<{ schema: string; me: string }>(`SELECT current_schema() AS schema, current_user AS me`);
    const schema = rows[0]?.schema;
    if (!schema) return 'the warehouse connection has no current schema';
    if (rows[0]?.me === role) return `the read-only role ${role} is the warehouse's own login, which can write`;
    let found = await roleAttributes(writer, role);
    if (!found && createIfMissing) {
      try {
        await writer.query(`CREATE ROLE ${quoteIdent(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`);
      } catch (err) {
        // Another process of another database of the cluster created it meanwhile (roles are cluster-wide).
        const code = (err as { code?: string }).code;
        // (a race on the catalog's unique index shows as a unique violation instead)
        if (code !== DUPLICATE_OBJECT && code !== UNIQUE_VIOLATION) throw err;
      }
      found = await roleAttributes(writer, role);
    }
    if (!found) return `the role ${role} does not exist`;
    if (found.rolsuper || found.rolbypassrls) return `the role ${role} is a superuser or bypasses row security: it cannot serve as a read-only role`;
    await writer.query(`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(role)}`);
    await writer.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${quoteIdent(schema)} TO ${quoteIdent(role)}`);
    await writer.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${quoteIdent(schema)} GRANT SELECT ON TABLES TO ${quoteIdent(role)}`);
    await writer.query(`REVOKE ALL ON ${quoteIdent(schema)}.${quoteIdent(API_TOKENS_TABLE)} FROM ${quoteIdent(role)}`);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

async function roleAttributes(c: pg.Client, role: string): Promise<{ rolsuper: boolean; rolbypassrls: boolean } | undefined> {
  const { rows } = await c.query<{ rolsuper: boolean; rolbypassrls: boolean }>(`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1`, [role]);
  return rows[0];
}

/**
 * Runs one statement as the reader: a fresh connection (nothing a statement sets, locks or leaves in its
 * session outlives it), a read-only transaction always rolled back, a cursor fetched in chunks until the
 * answer's limits, and a statement timeout that shrinks to what is left of the limit before each fetch.
 */
export async function readOnlySelect(config: pg.ClientConfig, display: string, sql: string, limits: SqlLimits): Promise<SqlAnswer> {
  // A server that does not answer must not hold the request longer than the statement could have run.
  const client = new pg.Client({ ...config, connectionTimeoutMillis: Math.max(1, Math.min(limits.timeoutMs, 10_000)) });
  client.on('error', () => {
    // A dropped connection fails the query in progress, which reports it.
  });
  try {
    await client.connect();
  } catch (err) {
    throw new SqlUnavailableError(`cannot connect to the PostgreSQL warehouse as its read-only role (${display}): ${(err as Error).message}`, { cause: err });
  }
  const deadline = Date.now() + limits.timeoutMs;
  const timeLeft = () => {
    const left = deadline - Date.now();
    if (left <= 0) throw new SqlTimeoutError(limits.timeoutMs);
    return left;
  };
  try {
    await client.query(`BEGIN READ ONLY`);
    await client.query(`SET LOCAL statement_timeout = ${timeLeft()}`);
    try {
      // The extended protocol takes one statement, and DECLARE takes a query only (SELECT, VALUES, TABLE).
      // (`queryMode` is pg's since 8.12; its type definitions do not list it yet.)
      const declare: pg.QueryConfig & { queryMode: 'extended' } = { text: `DECLARE ecluse_sql NO SCROLL CURSOR FOR ${sql}\n`, queryMode: 'extended' };
      await client.query(declare);
    } catch (err) {
      if ((err as { code?: string }).code === SYNTAX_ERROR && NOT_A_QUERY.test(sql)) {
        throw new SqlRefusedError('only one SELECT statement is allowed here (no DDL, DML, SET, COPY, several statements…)');
      }
      if ((err as { code?: string }).code === SYNTAX_ERROR && /multiple commands/i.test((err as Error).message)) {
        throw new SqlRefusedError('exactly one SELECT statement is allowed here; this text holds several');
      }
      throw err;
    }
    let answer: AnswerCollector | null = null;
    for (;;) {
      // Our own two statements (simple protocol): the timeout applies to each statement, so each fetch gets
      // what is left of the whole statement's limit.
      const results = (await client.query(`SET LOCAL statement_timeout = ${timeLeft()}; FETCH ${FETCH_ROWS} FROM ecluse_sql`)) as unknown as pg.QueryResult[];
      const fetched = results[1] as pg.QueryResult;
      answer ??= new AnswerCollector(
        fetched.fields.map((f) => f.name),
        limits,
      );
      for (const row of fetched.rows as Row[]) if (!answer.add(row)) break;
      if (answer.full || fetched.rows.length < FETCH_ROWS) break;
    }
    return answer.answer();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === QUERY_CANCELED) throw new SqlTimeoutError(limits.timeoutMs);
    if (code === INSUFFICIENT_PRIVILEGE || code === READ_ONLY_TRANSACTION) throw new SqlRefusedError((err as Error).message);
    throw err;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    await client.end().catch(() => {});
  }
}

/**
 * The reader's connection settings: `ECLUSE_WAREHOUSE_READER` when set (production: a login with a
 * password), else the warehouse's URL with the reader role as user and no password (trust or peer auth).
 */
export function readerUrl(warehouseUrl: string, role: string): string {
  const u = new URL(warehouseUrl);
  u.username = role;
  u.password = '';
  return u.toString();
}
