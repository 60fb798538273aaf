import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { readerRoleName } from '../../src/warehouse/postgresReader.js';

/** The warehouses every warehouse-facing suite runs against. */
export type WarehouseKind = 'duckdb' | 'postgres';

/** The test PostgreSQL (trust auth on this machine); override with ECLUSE_TEST_PG. */
export const PG_BASE = process.env.ECLUSE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

let available: Promise<string | null> | undefined;

/**
 * null when `connect` succeeds, else why not. A few tries with a generous timeout: on a loaded machine
 * (CI running beside other work) a first connection can take seconds, and that must not read as "absent".
 * A laptop without the service is refused at once, so the tries cost it little.
 */
async function probe(connect: () => Promise<void>): Promise<string | null> {
  let problem = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await connect();
      return null;
    } catch (err) {
      problem = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return problem;
}

function postgresProblem(): Promise<string | null> {
  available ??= probe(async () => {
    const c = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 10_000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
    } finally {
      await c.end().catch(() => {});
    }
  });
  return available;
}

/** The test MariaDB (root, no password); override with ECLUSE_TEST_MYSQL. */
export const MYSQL_BASE = process.env.ECLUSE_TEST_MYSQL ?? 'mysql://root@127.0.0.1:3306/test';

/** false to run, or why not; in CI (CI=true) an absent MariaDB is a failure. */
export async function skipUnlessMysql(): Promise<string | false> {
  const problem = await probe(async () => {
    const c = await mysql.createConnection({ uri: MYSQL_BASE, connectTimeout: 10_000 });
    await c.end();
  });
  if (problem === null) return false;
  if (process.env.CI === 'true') throw new Error(`MariaDB is required in CI but does not answer at ${MYSQL_BASE}: ${problem}`);
  return `MariaDB not available at ${MYSQL_BASE} (${problem})`;
}

/**
 * `skip` for node:test: false to run, or the reason to skip. Without PostgreSQL a laptop skips its suite
 * with the reason; CI (CI=true) must have it, so there the absence is a failure.
 */
export async function skipUnless(kind: WarehouseKind): Promise<string | false> {
  if (kind === 'duckdb') return false;
  const problem = await postgresProblem();
  if (problem === null) return false;
  if (process.env.CI === 'true') throw new Error(`PostgreSQL is required in CI but does not answer at ${PG_BASE}: ${problem}`);
  return `PostgreSQL not available at ${PG_BASE} (${problem})`;
}

/**
 * A schema per test home, so suites never see each other's tables: named after the home's folder, plus a
 * hash of its whole path, since two suites may name a sub-folder alike (`…/reference`) and a developer may
 * run suites in parallel.
 */
export function schemaFor(home: string): string {
  const name = basename(home)
    .replace(/[^A-Za-z0-9]/g, '_')
    .toLowerCase()
    .slice(0, 40);
  return `ecluse_t_${name}_${createHash('sha1').update(resolve(home)).digest('hex').slice(0, 8)}`;
}

/** The ECLUSE_WAREHOUSE value for a home: undefined (the embedded default) or a PostgreSQL URL with its own schema. */
export function warehouseFor(kind: WarehouseKind, home: string): string | undefined {
  return kind === 'postgres' ? `${PG_BASE}?schema=${schemaFor(home)}` : undefined;
}

/** Drops the schemas of these homes (PostgreSQL test data is not under the temp folder). */
export async function dropSchemas(homes: readonly string[]): Promise<void> {
  if (homes.length === 0 || (await postgresProblem()) !== null) return;
  const c = new pg.Client({ connectionString: PG_BASE });
  await c.connect();
  try {
    for (const h of homes) {
      await c.query(`DROP SCHEMA IF EXISTS "${schemaFor(h)}" CASCADE`);
      // The SQL endpoint's read-only role of that schema (roles are cluster-wide: they would pile up).
      const role = readerRoleName(schemaFor(h));
      if ((await c.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role])).rowCount) await c.query(`DROP OWNED BY "${role}"; DROP ROLE "${role}"`);
    }
  } finally {
    await c.end();
  }
}

/**
 * `skip` for change-data-capture suites: false to run, or why not. PostgreSQL must answer and have
 * `wal_level = logical`; CI (CI=true) must have both, so there either absence is a failure.
 */
export async function skipUnlessLogical(): Promise<string | false> {
  const absent = await skipUnless('postgres');
  if (absent) return absent;
  const client = new pg.Client({ connectionString: PG_BASE });
  await client.connect();
  try {
    const level = (await client.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
    if (level === 'logical') return false;
    if (process.env.CI === 'true') throw new Error(`PostgreSQL at ${PG_BASE} has wal_level = ${level}: CI needs logical`);
    return `PostgreSQL at ${PG_BASE} has wal_level = ${level}, change data capture needs logical`;
  } finally {
    await client.end();
  }
}
