import { basename } from 'node:path';
import pg from 'pg';

/** The warehouses every warehouse-facing suite runs against. */
export type WarehouseKind = 'duckdb' | 'postgres';

/** The test PostgreSQL (trust auth on this machine); override with ECLUSE_TEST_PG. */
export const PG_BASE = process.env.ECLUSE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

let available: Promise<string | null> | undefined;

/** null when PostgreSQL answers, else why not. */
function postgresProblem(): Promise<string | null> {
  available ??= (async () => {
    const c = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      return null;
    } catch (err) {
      return (err as Error).message;
    } finally {
      await c.end().catch(() => {});
    }
  })();
  return available;
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

/** A schema per test home, so suites never see each other's tables. */
export function schemaFor(home: string): string {
  return `ecluse_t_${basename(home).replace(/[^A-Za-z0-9]/g, '_').toLowerCase()}`;
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
    // `<schema>_queue` is pg-boss's, created when a test queues runs on that warehouse.
    for (const h of homes) await c.query(`DROP SCHEMA IF EXISTS "${schemaFor(h)}", "${schemaFor(h)}_queue" CASCADE`);
  } finally {
    await c.end();
  }
}
