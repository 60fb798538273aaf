import type pg from 'pg';

/** What the caller names: the publication and the slot are created if missing, under these names. */
export interface ReplicationNames {
  publication: string;
  slot: string;
  /** Tables to capture, `name` or `schema.name` (public by default). */
  tables: readonly string[];
}

/**
 * The slot was invalidated: it fell further behind than `max_slot_wal_keep_size`, PostgreSQL removed the WAL
 * it still needed (`wal_status = 'lost'`), and the changes in between are gone. Nothing can resume it: drop
 * it, create it again, and resync the tables from a snapshot before reading changes again.
 */
export class SlotLostError extends Error {
  constructor(readonly slot: string) {
    super(
      `replication slot "${slot}" is lost (wal_status = 'lost'): it fell more than max_slot_wal_keep_size behind and PostgreSQL removed WAL it needed, so changes were lost; drop the slot, create it again and resync the tables from a snapshot`,
    );
    this.name = 'SlotLostError';
  }
}

/** The slot as pg_replication_slots shows it, and the server's retention limit. */
export interface SlotStatus {
  slot: string;
  active: boolean;
  /** `reserved`, `extended`, `unreserved` (about to be lost) or `lost`. */
  walStatus: string | null;
  /** Bytes of WAL written since the position the slot's reader confirmed: `pg_current_wal_lsn() - confirmed_flush_lsn`. */
  lagBytes: number;
  confirmedFlushLsn: string | null;
  /** Bytes the slot may still fall behind before it is lost (null when max_slot_wal_keep_size is -1: no limit). */
  safeWalSize: number | null;
  /** The server's `max_slot_wal_keep_size` as SHOW prints it (`-1`: WAL kept for slots without limit). */
  maxSlotWalKeepSize: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkIdentifier(kind: string, name: string): void {
  // Slot names allow only lower case, digits and _ (PostgreSQL's own rule); the other names are quoted.
  if (!IDENTIFIER.test(name) || (kind === 'slot' && name !== name.toLowerCase())) throw new Error(`invalid ${kind} name "${name}"`);
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** `schema.table` quoted, from `table` or `schema.table`. */
function qualifiedTable(table: string): { schema: string; name: string; sql: string } {
  const parts = table.split('.');
  const [schema, name] = parts.length === 2 ? [parts[0]!, parts[1]!] : parts.length === 1 ? ['public', parts[0]!] : ['', ''];
  if (!name) throw new Error(`invalid table name "${table}"`);
  checkIdentifier('schema', schema);
  checkIdentifier('table', name);
  return { schema, name, sql: `${quote(schema)}.${quote(name)}` };
}

/** wal_level must be `logical` for a logical slot; changing it needs a server restart, so it is only checked. */
async function checkWalLevel(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
  const level = rows[0]?.wal_level;
  if (level !== 'logical')
    throw new Error(`PostgreSQL's wal_level is "${level}": change data capture needs wal_level = logical (postgresql.conf, then a restart)`);
}

/**
 * Makes the tables, the publication and the slot ready: REPLICA IDENTITY FULL on each table (an update or a
 * delete then carries the whole former row, not only its key), the publication created or completed with
 * missing tables, the slot created with pgoutput if missing. Throws SlotLostError on an invalidated slot.
 */
export async function ensureReplication(client: pg.ClientBase, names: ReplicationNames): Promise<void> {
  checkIdentifier('publication', names.publication);
  checkIdentifier('slot', names.slot);
  if (names.tables.length === 0) throw new Error('change data capture needs at least one table');
  const tables = names.tables.map(qualifiedTable);
  await checkWalLevel(client);
  for (const table of tables) await client.query(`ALTER TABLE ${table.sql} REPLICA IDENTITY FULL`);
  const published = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1',
    [names.publication],
  );
  const exists = (await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [names.publication])).rowCount === 1;
  if (!exists) {
    await client.query(`CREATE PUBLICATION ${quote(names.publication)} FOR TABLE ${tables.map((t) => t.sql).join(', ')}`);
  } else {
    const missing = tables.filter((t) => !published.rows.some((r) => r.schemaname === t.schema && r.tablename === t.name));
    if (missing.length > 0) await client.query(`ALTER PUBLICATION ${quote(names.publication)} ADD TABLE ${missing.map((t) => t.sql).join(', ')}`);
  }
  const slot = await client.query<{ plugin: string; wal_status: string | null }>('SELECT plugin, wal_status FROM pg_replication_slots WHERE slot_name = $1', [
    names.slot,
  ]);
  const row = slot.rows[0];
  if (!row) {
    // Two readers starting at once may both find it missing: the second creation fails with "already exists".
    await client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [names.slot]).catch((err: { code?: string }) => {
      if (err.code !== '42710') throw err;
    });
    return;
  }
  if (row.plugin !== 'pgoutput') throw new Error(`replication slot "${names.slot}" decodes with ${row.plugin}, not pgoutput`);
  if (row.wal_status === 'lost') throw new SlotLostError(names.slot);
}

/** The slot's state and lag (throws when the slot does not exist; a lost slot is reported, not thrown). */
export async function slotStatus(client: pg.ClientBase | pg.Pool, slot: string): Promise<SlotStatus> {
  const { rows } = await client.query<{
    active: boolean;
    wal_status: string | null;
    lag: string | null;
    confirmed_flush_lsn: string | null;
    safe_wal_size: string | null;
    keep: string;
  }>(
    `SELECT active, wal_status, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag,
            confirmed_flush_lsn::text, safe_wal_size::text, current_setting('max_slot_wal_keep_size') AS keep
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (!row) throw new Error(`replication slot "${slot}" does not exist`);
  return {
    slot,
    active: row.active,
    walStatus: row.wal_status,
    lagBytes: row.lag === null ? 0 : Number(row.lag),
    confirmedFlushLsn: row.confirmed_flush_lsn,
    safeWalSize: row.safe_wal_size === null ? null : Number(row.safe_wal_size),
    maxSlotWalKeepSize: row.keep,
  };
}

/** Drops the slot if it exists (a slot left behind keeps WAL on the server's disk forever). */
export async function dropSlot(client: pg.ClientBase | pg.Pool, slot: string): Promise<void> {
  await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
}
