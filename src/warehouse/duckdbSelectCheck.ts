import type { DuckSession } from '../engine/duckdb.js';
import { API_TOKENS_TABLE } from './apiTokens.js';
import { SqlRefusedError } from './readOnlySql.js';

/**
 * The check a statement passes before the embedded warehouse runs it for the SQL endpoint. DuckDB's settings
 * that would fence a connection in (`enable_external_access`, `lock_configuration`) are instance-wide, and the
 * warehouse's instance is also the pipelines' engine, which reads the lake: so the statement itself is
 * checked, on DuckDB's own parse of it (`json_serialize_sql`, the parser that then runs it):
 * - exactly one statement, a SELECT (the serialiser refuses every other kind);
 * - every table it names is a table or view of the warehouse (or a CTE in scope): no file path, no
 *   replacement scan, no other attached database, no system catalog;
 * - table functions from a short list that only computes rows; scalar, aggregate and window functions any
 *   built-in one except those that read settings, secrets, the environment or variables, or move state;
 * - types named in casts are built-in ones (a cast to `INET` would have DuckDB download and install the
 *   extension that defines it);
 * - every node of the tree is of a kind known here: anything new in a later DuckDB is refused until looked at.
 * See docs/security.md for why this, and not a second read-only instance.
 */

/** Table functions that compute rows from their arguments alone. */
const TABLE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest', 'json_each', 'json_tree']);

/**
 * Built-in functions refused, with why. Every other built-in scalar, aggregate or window function computes
 * a value from its arguments (file access in DuckDB is by table functions and replacement scans).
 */
const REFUSED_FUNCTIONS = new Map<string, string>([
  ['current_setting', "reads the engine's settings, which may hold credentials"],
  ['getenv', "reads the server's environment"],
  ['getvariable', "reads the session's variables"],
  ['which_secret', "reads the engine's secrets"],
  ['nextval', 'moves a sequence'],
  ['currval', 'reads a sequence'],
  ['setseed', "changes the session's random state"],
  ['write_log', "writes to the engine's log"],
  ['json_execute_serialized_sql', 'runs another statement'],
  ['json_deserialize_sql', 'builds another statement'],
  ['json_serialize_plan', 'binds another statement, which reads the files it names'],
]);

/** Functions the parser makes from syntax that are not in `duckdb_functions()` (`SELECT unnest(list)`). */
const SYNTAX_FUNCTIONS = new Set(['unnest', 'unlist']);

const EXPRESSION_CLASSES = new Set([
  'BETWEEN',
  'CASE',
  'CAST',
  'COLLATE',
  'COLUMN_REF',
  'COMPARISON',
  'CONJUNCTION',
  'CONSTANT',
  'FUNCTION',
  'LAMBDA',
  'LAMBDA_REF',
  'OPERATOR',
  'PARAMETER',
  'POSITIONAL_REFERENCE',
  'STAR',
  'SUBQUERY',
  'WINDOW',
]);

const TABLE_REFS = new Set(['BASE_TABLE', 'EMPTY', 'EXPRESSION_LIST', 'JOIN', 'SHOW_REF', 'SUBQUERY', 'TABLE_FUNCTION']);

const QUERY_NODES = new Set(['SELECT_NODE', 'SET_OPERATION_NODE', 'RECURSIVE_CTE_NODE', 'CTE_NODE']);

/** `SHOW TABLES` names its listing this way; `DESCRIBE x` and `SUMMARIZE x` carry a query instead. */
const SHOW_LISTINGS = new Set(['', '"tables"']);

type Node = Record<string, unknown>;

interface Context {
  database: string;
  /** Tables and views of the warehouse's main schema, lower-cased (DuckDB's names are case-insensitive). */
  tables: ReadonlySet<string>;
  builtins: Builtins;
}

interface Builtins {
  functions: ReadonlySet<string>;
  types: ReadonlySet<string>;
}

/** What DuckDB has built in (functions, type names), lower-cased: the same for every connection of the process. */
let builtins: Promise<Builtins> | undefined;

async function builtinsOf(session: DuckSession): Promise<Builtins> {
  builtins ??= Promise.all([
    session.rows<{ name: string }>(
      `SELECT DISTINCT lower(function_name) AS name FROM duckdb_functions()
       WHERE internal AND function_type IN ('scalar', 'aggregate', 'macro')`,
    ),
    session.rows<{ name: string }>(`SELECT DISTINCT lower(type_name) AS name FROM duckdb_types() WHERE internal`),
  ]).then(([functions, types]) => ({ functions: new Set(functions.map((r) => r.name)), types: new Set(types.map((r) => r.name)) }));
  try {
    return await builtins;
  } catch (err) {
    builtins = undefined;
    throw err;
  }
}

/**
 * Throws SqlRefusedError unless `sql` is one SELECT over the warehouse's tables (see above). Call inside the
 * transaction that then runs it, so the tables checked are the tables read.
 */
export async function checkReadOnlySelect(session: DuckSession, sql: string): Promise<void> {
  const serialised = await session.scalar<string>(`SELECT json_serialize_sql($1::VARCHAR)`, [sql]);
  const parsed = JSON.parse(serialised ?? '{}') as { error?: boolean; error_message?: string; statements?: { node?: Node }[] };
  if (parsed.error) {
    const message = parsed.error_message ?? 'unparsable';
    if (/Only SELECT statements/i.test(message)) {
      throw new SqlRefusedError('only one SELECT statement is allowed here (no DDL, DML, SET, COPY, ATTACH, PRAGMA, several statements…)');
    }
    // A syntax error: the parser's message is what a person needs to fix the query.
    throw new Error(message);
  }
  const statements = parsed.statements ?? [];
  if (statements.length !== 1) throw new SqlRefusedError(`exactly one SELECT statement is allowed here; this text holds ${statements.length}`);
  const [database, tables, known] = await Promise.all([
    session.scalar<string>(`SELECT current_database()`),
    session.rows<{ name: string }>(
      `SELECT lower(table_name) AS name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary
       UNION SELECT lower(view_name) FROM duckdb_views() WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary AND NOT internal`,
    ),
    builtinsOf(session),
  ]);
  const context: Context = {
    database: (database ?? '').toLowerCase(),
    tables: new Set(tables.map((t) => t.name).filter((t) => t !== API_TOKENS_TABLE)),
    builtins: known,
  };
  walk(statements[0]?.node, new Set(), context);
}

function walk(value: unknown, scope: ReadonlySet<string>, context: Context): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, scope, context);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const node = value as Node;
  if (typeof node.class === 'string') return walkExpression(node, scope, context);
  if (isTableRef(node)) return walkTableRef(node, scope, context);
  if ('cte_map' in node) return walkQueryNode(node, scope, context);
  if (node.id === 'UNBOUND') checkType(node, context);
  for (const v of Object.values(node)) walk(v, scope, context);
}

function isTableRef(node: Node): boolean {
  return typeof node.type === 'string' && 'alias' in node && 'sample' in node && 'query_location' in node && !('cte_map' in node);
}

/** A CTE is in scope of the CTEs after it, itself (recursive), and its query's body. */
function walkQueryNode(node: Node, scope: ReadonlySet<string>, context: Context): void {
  if (!QUERY_NODES.has(String(node.type))) throw new SqlRefusedError(`a query of kind ${String(node.type)} is not allowed here`);
  const entries = ((node.cte_map as { map?: { key: string; value: unknown }[] } | null)?.map ?? []) as { key: string; value: unknown }[];
  const inner = new Set(scope);
  for (const entry of entries) {
    inner.add(entry.key.toLowerCase());
    walk(entry.value, new Set(inner), context);
  }
  for (const [key, v] of Object.entries(node)) if (key !== 'cte_map') walk(v, inner, context);
}

function walkTableRef(node: Node, scope: ReadonlySet<string>, context: Context): void {
  const type = String(node.type);
  if (!TABLE_REFS.has(type)) throw new SqlRefusedError(`a table reference of kind ${type} is not allowed here`);
  if (type === 'BASE_TABLE') checkTable(node, scope, context);
  if (type === 'SHOW_REF' && !SHOW_LISTINGS.has(String(node.table_name))) {
    throw new SqlRefusedError(`SHOW ${String(node.table_name)} is not allowed here (SHOW TABLES and DESCRIBE are)`);
  }
  if (type === 'TABLE_FUNCTION') {
    const fn = node.function as Node;
    const name = String(fn.function_name).toLowerCase();
    if (fn.class !== 'FUNCTION' || !TABLE_FUNCTIONS.has(name) || !unqualified(fn.schema, fn.catalog)) {
      throw new SqlRefusedError(
        `the table function ${String(fn.function_name)}() is not allowed here${where(fn)} (allowed: ${[...TABLE_FUNCTIONS].join(', ')})`,
      );
    }
    // Its arguments are expressions like any other; its own name is not a scalar function's.
    walk(fn.children, scope, context);
    for (const [key, v] of Object.entries(node)) if (key !== 'function') walk(v, scope, context);
    return;
  }
  for (const v of Object.values(node)) walk(v, scope, context);
}

function checkTable(node: Node, scope: ReadonlySet<string>, context: Context): void {
  const name = String(node.table_name);
  const schema = String(node.schema_name ?? '').toLowerCase();
  const catalog = String(node.catalog_name ?? '').toLowerCase();
  if (schema === '' && catalog === '' && scope.has(name.toLowerCase())) return;
  const inWarehouse = (catalog === '' || catalog === context.database) && (schema === '' || schema === 'main') && context.tables.has(name.toLowerCase());
  if (!inWarehouse) {
    const full = [catalog, schema, name].filter(Boolean).join('.');
    throw new SqlRefusedError(
      `"${full}"${where(node)} is not a table or view of the warehouse (files, other databases and system catalogs cannot be read here)`,
    );
  }
}

function walkExpression(node: Node, scope: ReadonlySet<string>, context: Context): void {
  const cls = String(node.class);
  if (!EXPRESSION_CLASSES.has(cls)) throw new SqlRefusedError(`an expression of kind ${cls} is not allowed here${where(node)}`);
  if (cls === 'FUNCTION' || cls === 'WINDOW') checkFunction(node, context);
  for (const v of Object.values(node)) walk(v, scope, context);
}

function checkFunction(node: Node, context: Context): void {
  const name = String(node.function_name).toLowerCase();
  const refused = REFUSED_FUNCTIONS.get(name);
  if (refused) throw new SqlRefusedError(`the function ${name}()${where(node)} is not allowed here: it ${refused}`);
  const known = context.builtins.functions.has(name) || SYNTAX_FUNCTIONS.has(name);
  if (!known || !unqualified(node.schema, node.catalog)) {
    throw new SqlRefusedError(
      `${name}()${where(node)} is not a built-in function allowed here (table functions go in FROM: ${[...TABLE_FUNCTIONS].join(', ')})`,
    );
  }
}

/** A type named in the statement (casts): DuckDB's parser leaves all but the simplest ones by name. */
function checkType(node: Node, context: Context): void {
  const info = (node.type_info ?? {}) as Node;
  const name = String(info.name ?? '');
  if (!context.builtins.types.has(name.toLowerCase()) || !unqualified(info.schema, info.catalog)) {
    throw new SqlRefusedError(`the type ${name} is not a built-in type allowed here`);
  }
}

/** Built-ins are called by their bare name (a schema would reach macros or functions of another catalog). */
function unqualified(schema: unknown, catalog: unknown): boolean {
  return (schema === undefined || schema === '' || schema === 'main') && (catalog === undefined || catalog === '');
}

/** ` at character N` when the parser recorded where the node starts (1-based, as a person counts). */
function where(node: Node): string {
  const at = node.query_location;
  return typeof at === 'number' && at >= 0 && at < 2 ** 32 ? ` (at character ${at + 1})` : '';
}
