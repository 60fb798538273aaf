import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_BASE } from '../../helpers/warehouses.js';

/** The test server's URL with another database name. */
function urlOf(database: string): string {
  const url = new URL(PG_BASE);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * A new, empty PostgreSQL database for one suite's company tables: replication slots and publications belong
 * to a database, so suites that capture changes never see each other's. `drop()` removes its slots first
 * (a slot left behind keeps WAL on the server forever), then the database.
 */
export async function freshCompanyDatabase(prefix = 'rewards'): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_BASE });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: urlOf(name),
    async drop() {
      const c = new pg.Client({ connectionString: PG_BASE });
      await c.connect();
      try {
        const slots = await c.query<{ slot_name: string; active_pid: number | null }>(
          'SELECT slot_name, active_pid FROM pg_replication_slots WHERE database = $1',
          [name],
        );
        for (const s of slots.rows) {
          if (s.active_pid !== null) await c.query('SELECT pg_terminate_backend($1)', [s.active_pid]);
          await c.query('SELECT pg_drop_replication_slot($1)', [s.slot_name]).catch(() => {});
        }
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
