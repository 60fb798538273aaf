/**
 * The company database: `employees` and `activities`, the source of truth HR and the activity source write
 * to. In PostgreSQL when `ECLUSE_REWARDS_DB` names one (its changes are then captured by logical
 * replication); otherwise the same tables live in the warehouse, and every write ecluse makes to
 * `activities` also appends to `activity_changes` in the same transaction, the log the embedded capture
 * publishes from (docs/pipelines/rewards.md).
 */
import pg from 'pg';
import { redactUrl } from '../../observability/redact.js';
import { plainValue, timestampValue, type Row } from '../../engine/duckdb.js';
import type { SqlParam, Warehouse } from '../../warehouse/warehouse.js';

/** An employee as HR declared them (Données RH + Données Sportive). */
export interface Employee {
  employee_id: number;
  last_name: string;
  first_name: string;
  /** `YYYY-MM-DD`. */
  birth_date: string | null;
  business_unit: string;
  hired_on: string | null;
  gross_salary: number;
  contract: string;
  paid_leave_days: number | null;
  home_address: string | null;
  /** One of COMMUTE_MODES. */
  commute_mode: string;
  /** The HR file's distance column, when it has one (km). */
  declared_distance_km: number | null;
  /** `Pratique d'un sport`, as declared (null: none). */
  declared_sport: string | null;
}

/** The commute modes of the HR file, as written there. */
export const COMMUTE_MODES = ['véhicule thermique/électrique', 'Transports en commun', 'Marche/running', 'Vélo/Trottinette/Autres'] as const;

/** One activity (Strava-like). */
export interface Activity {
  employee_id: number;
  started_at: Date;
  ended_at: Date;
  elapsed_s: number;
  sport: string;
  /** Metres, for distance sports; null otherwise. */
  distance_m: number | null;
  comment: string | null;
  /** `strava` (pulled from the activity source) or `declared` (POST /rewards/activities). */
  source: string;
}

export const EMPLOYEE_COLUMNS = [
  'employee_id',
  'last_name',
  'first_name',
  'birth_date',
  'business_unit',
  'hired_on',
  'gross_salary',
  'contract',
  'paid_leave_days',
  'home_address',
  'commute_mode',
  'declared_distance_km',
  'declared_sport',
] as const satisfies readonly (keyof Employee)[];

/** Statements run in one transaction of the company database (they see its writes). */
interface CompanyTx {
  execute(sql: string, params?: readonly SqlParam[]): Promise<number>;
}

/** Where the company's tables are; SQL in the dialect both PostgreSQL and DuckDB speak, parameters `$1`…. */
export interface CompanyDb {
  /** `postgres`: a database of the company's, captured by logical replication; `embedded`: tables in the warehouse. */
  readonly kind: 'postgres' | 'embedded';
  /** For messages: a URL without password, or the warehouse's location. */
  readonly location: string;
  /** The `postgres://…` URL (kind `postgres` only): what the change-data-capture reads. */
  readonly url?: string;
  /** Committed rows, values plain (instants as ISO UTC strings). */
  query(sql: string, params?: readonly SqlParam[]): Promise<Row[]>;
  transaction<T>(fn: (tx: CompanyTx) => Promise<T>): Promise<T>;
  /** An instant as this database takes it as a parameter. */
  instant(d: Date): string;
  close(): Promise<void>;
}

/** The company tables, by version: a database at version n has run steps 1..n (recorded in `rewards_migrations`). */
function migrations(kind: CompanyDb['kind']): string[][] {
  const ts = kind === 'postgres' ? 'TIMESTAMPTZ' : 'TIMESTAMP';
  const json = kind === 'postgres' ? 'JSONB' : 'JSON';
  const v1 = [
    `CREATE TABLE IF NOT EXISTS employees (
      employee_id INTEGER PRIMARY KEY,
      last_name VARCHAR NOT NULL,
      first_name VARCHAR NOT NULL,
      birth_date DATE,
      business_unit VARCHAR NOT NULL,
      hired_on DATE,
      gross_salary DOUBLE PRECISION NOT NULL,
      contract VARCHAR NOT NULL,
      paid_leave_days INTEGER,
      home_address VARCHAR,
      commute_mode VARCHAR NOT NULL,
      declared_distance_km DOUBLE PRECISION,
      declared_sport VARCHAR,
      updated_at ${ts} NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS activities (
      employee_id INTEGER NOT NULL,
      started_at ${ts} NOT NULL,
      ended_at ${ts} NOT NULL,
      elapsed_s INTEGER NOT NULL,
      sport VARCHAR NOT NULL,
      distance_m DOUBLE PRECISION,
      comment VARCHAR,
      source VARCHAR NOT NULL,
      recorded_at ${ts} NOT NULL,
      PRIMARY KEY (employee_id, started_at)
    )`,
  ];
  // The embedded capture's log: what logical replication gives the PostgreSQL one.
  if (kind === 'embedded') {
    v1.push(
      `CREATE SEQUENCE IF NOT EXISTS activity_changes_seq`,
      `CREATE TABLE IF NOT EXISTS activity_changes (
        seq BIGINT PRIMARY KEY,
        op VARCHAR NOT NULL,
        before ${json},
        after ${json},
        ts_ms BIGINT NOT NULL
      )`,
    );
  }
  return [v1];
}

async function migrate(db: Pick<CompanyDb, 'transaction' | 'kind'>): Promise<void> {
  const steps = migrations(db.kind);
  // One transaction, behind a lock on PostgreSQL: the server, a run and the streams open the database at
  // once when ecluse starts, and two concurrent CREATE TABLE IF NOT EXISTS of one table collide.
  await db.transaction(async (tx) => {
    if (db.kind === 'postgres') await tx.execute(`SELECT pg_advisory_xact_lock(hashtext('ecluse.rewards_migrations'))`);
    await tx.execute(`CREATE TABLE IF NOT EXISTS rewards_migrations (version INTEGER PRIMARY KEY, applied_at VARCHAR NOT NULL)`);
    for (const [i, statements] of steps.entries()) {
      // Recorded first: a version already there inserts nothing, and its statements are not run again.
      const claimed = await tx.execute(`INSERT INTO rewards_migrations (version, applied_at) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
        i + 1,
        new Date().toISOString(),
      ]);
      if (claimed > 0) for (const sql of statements) await tx.execute(sql);
    }
  });
}

class PostgresCompanyDb implements CompanyDb {
  readonly kind = 'postgres' as const;
  readonly location: string;
  constructor(
    private readonly pool: pg.Pool,
    readonly url: string,
  ) {
    this.location = redactUrl(url);
  }

  async query(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    const { rows } = await this.pool.query(sql, [...params]);
    return rows.map((r: Row) => plainValue(r) as Row);
  }

  async transaction<T>(fn: (tx: CompanyTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn({ execute: async (sql, params = []) => (await client.query(sql, [...params])).rowCount ?? 0 });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  instant(d: Date): string {
    return d.toISOString();
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** The warehouse's connection is shared: one write transaction at a time, so the change log's order is the commit order. */
class EmbeddedCompanyDb implements CompanyDb {
  readonly kind = 'embedded' as const;
  private chain: Promise<unknown> = Promise.resolve();
  constructor(private readonly warehouse: Warehouse) {}

  get location(): string {
    return this.warehouse.location;
  }

  query(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    return this.warehouse.query(sql, params);
  }

  transaction<T>(fn: (tx: CompanyTx) => Promise<T>): Promise<T> {
    const run = this.chain.then(() => this.warehouse.transaction(() => fn({ execute: (sql, params) => this.warehouse.execute(sql, params) })));
    this.chain = run.catch(() => {});
    return run;
  }

  instant(d: Date): string {
    return this.warehouse.kind === 'postgres' ? d.toISOString() : timestampValue(d);
  }

  async close(): Promise<void> {}
}

/**
 * The company database of this configuration, its tables created or brought up to date: PostgreSQL at
 * `database` when set, else the warehouse itself (which the caller keeps open and closes).
 */
export async function openCompanyDb(database: string | undefined, warehouse: Warehouse): Promise<CompanyDb> {
  let db: CompanyDb;
  if (database) {
    if (!/^postgres(ql)?:\/\//.test(database)) throw new Error(`ECLUSE_REWARDS_DB: ${redactUrl(database)} is not a postgres:// URL`);
    const pool = new pg.Pool({ connectionString: database, max: 4 });
    // An idle client's error (the server restarted) must not crash the process: the next query reconnects.
    pool.on('error', () => {});
    db = new PostgresCompanyDb(pool, database);
  } else {
    db = new EmbeddedCompanyDb(warehouse);
  }
  try {
    await migrate(db);
  } catch (err) {
    await db.close();
    throw new Error(`company database ${db.location}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return db;
}

/** `employee_id:started_at` (ISO UTC): an activity's identity, in the outbox and the API. */
export function activityKey(employeeId: number, startedAt: Date | string): string {
  const iso = typeof startedAt === 'string' ? new Date(startedAt).toISOString() : startedAt.toISOString();
  return `${employeeId}:${iso}`;
}

const INSERT_CHUNK = 500;

function activityParams(db: CompanyDb, a: Activity, recordedAt: Date): SqlParam[] {
  return [a.employee_id, db.instant(a.started_at), db.instant(a.ended_at), a.elapsed_s, a.sport, a.distance_m, a.comment, a.source, db.instant(recordedAt)];
}

/** The row as the change log and the captured events carry it (instants ISO UTC). */
function activityJson(a: Activity, recordedAt: Date): Record<string, SqlParam> {
  return {
    employee_id: a.employee_id,
    started_at: a.started_at.toISOString(),
    ended_at: a.ended_at.toISOString(),
    elapsed_s: a.elapsed_s,
    sport: a.sport,
    distance_m: a.distance_m,
    comment: a.comment,
    source: a.source,
    recorded_at: recordedAt.toISOString(),
  };
}

/**
 * Inserts the activities whose key `(employee_id, started_at)` is new (the others are left as they are);
 * returns how many were inserted. On the embedded database each new row is also logged as a `c` change.
 */
export async function insertActivities(db: CompanyDb, activities: readonly Activity[], recordedAt = new Date()): Promise<number> {
  const unique = new Map<string, Activity>();
  for (const a of activities) {
    const key = activityKey(a.employee_id, a.started_at);
    if (!unique.has(key)) unique.set(key, a);
  }
  const rows = [...unique.values()];
  let inserted = 0;
  await db.transaction(async (tx) => {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      const width = 9;
      const values = chunk.map((_, n) => `(${Array.from({ length: width }, (_, j) => `$${n * width + j + 1}`).join(', ')})`).join(', ');
      const params = chunk.flatMap((a) => activityParams(db, a, recordedAt));
      if (db.kind === 'embedded') {
        // Logged before the insert, while "not there yet" still tells the new rows from the known ones.
        const logValues = chunk.map((_, n) => `($${n * 3 + 1}::INTEGER, $${n * 3 + 2}::TIMESTAMP, $${n * 3 + 3}::JSON)`).join(', ');
        const logParams = chunk.flatMap((a) => [a.employee_id, db.instant(a.started_at), JSON.stringify(activityJson(a, recordedAt))]);
        await tx.execute(
          `INSERT INTO activity_changes (seq, op, before, after, ts_ms)
           SELECT nextval('activity_changes_seq'), 'c', NULL, v.after, ${recordedAt.getTime()}
           FROM (VALUES ${logValues}) AS v(employee_id, started_at, after)
           WHERE NOT EXISTS (SELECT 1 FROM activities a WHERE a.employee_id = v.employee_id AND a.started_at = v.started_at)`,
          logParams,
        );
      }
      inserted += await tx.execute(
        `INSERT INTO activities (employee_id, started_at, ended_at, elapsed_s, sport, distance_m, comment, source, recorded_at) VALUES ${values} ON CONFLICT DO NOTHING`,
        params,
      );
    }
  });
  return inserted;
}
