/**
 * A dataset's table, described once and created by each warehouse in its dialect. The types are the
 * spelling both DuckDB and PostgreSQL accept.
 */
export type SqlType = 'VARCHAR' | 'DOUBLE PRECISION' | 'INTEGER' | 'BIGINT' | 'TIMESTAMP' | 'DATE' | 'BOOLEAN' | 'JSON';

export interface Dataset {
  /** Table name in the warehouse. */
  name: string;
  columns: ReadonlyArray<readonly [name: string, type: SqlType]>;
  /** Columns that identify a row; the first value of a key is kept (an identical re-delivery writes nothing). */
  primaryKey: readonly string[];
  /** Columns that may not be null, besides the key. */
  required?: readonly string[];
}

export function columnNames(ds: Dataset): string[] {
  return ds.columns.map(([c]) => c);
}

/**
 * `CREATE TABLE IF NOT EXISTS`. `withKey` adds the PRIMARY KEY constraint: PostgreSQL needs it (ON CONFLICT,
 * point lookups); DuckDB does without, its merge keeps keys unique and its ART index would make bulk inserts
 * ~3× slower (docs/BENCHMARKS.md).
 */
export function createTableSql(ds: Dataset, withKey: boolean): string {
  const notNull = new Set([...ds.primaryKey, ...(ds.required ?? [])]);
  const cols = ds.columns.map(([c, t]) => `  ${quoteIdent(c)} ${t}${notNull.has(c) ? ' NOT NULL' : ''}`);
  if (withKey && ds.primaryKey.length) cols.push(`  PRIMARY KEY (${ds.primaryKey.map(quoteIdent).join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(ds.name)} (\n${cols.join(',\n')}\n)`;
}

/** Quotes an identifier we build ourselves (never a user value: those are parameters). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
