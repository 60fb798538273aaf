import type pg from 'pg';

/**
 * One process at a time runs a given stream pipeline. On PostgreSQL the holder keeps a session-level
 * advisory lock on a connection of its own: if the process dies, its connection closes and the server
 * frees the lock at once, so a waiting process takes over without a lease to let expire (the `run_locks`
 * rows of partition runs need one: a run's lock outlives no connection of its own). The embedded
 * warehouse has one process: the locks are held in memory.
 */
export interface StreamLease {
  /** Aborted when the lock may no longer be ours (its connection was lost): the stream must stop. */
  readonly lost: AbortSignal;
  /** Asks the server whether the lock's connection still answers; aborts `lost` when it does not. */
  check(): Promise<void>;
  release(): Promise<void>;
}

export interface StreamLocks {
  /** The stream's lock if it is free now, else null. */
  tryAcquire(pipeline: string): Promise<StreamLease | null>;
  /** Lets go of what waiting kept open (connections of locks not acquired). */
  close(): Promise<void>;
}

/** Locks held in memory, shared by every supervisor given the same key (the embedded warehouse). */
const memoryHeld = new WeakMap<object, Set<string>>();

export function memoryStreamLocks(key: object): StreamLocks {
  let held = memoryHeld.get(key);
  if (!held) memoryHeld.set(key, (held = new Set()));
  const mine = held;
  return {
    async tryAcquire(pipeline) {
      if (mine.has(pipeline)) return null;
      mine.add(pipeline);
      const lost = new AbortController();
      return {
        lost: lost.signal,
        async check() {},
        async release() {
          mine.delete(pipeline);
        },
      };
    },
    async close() {},
  };
}

// The two-key form keeps stream locks apart from the one-key locks elsewhere (`hashtext('ecluse-ddl')`);
// the schema is in the key so that warehouses in two schemas of one database do not share their streams.
const LOCK_ARGS = `hashtext('ecluse-stream'), hashtext(current_schema() || '.' || $1)`;

/**
 * Advisory locks of the PostgreSQL warehouse at `url`. A waiting stream keeps its connection between
 * tries (one per stream, not one per try).
 */
export async function postgresStreamLocks(url: string): Promise<StreamLocks> {
  // Loaded on demand, as in open.ts: the embedded platform never needs the pg driver.
  const { default: pgModule } = await import('pg');
  const { parsePostgresUrl } = await import('./postgresWarehouse.js');
  const target = parsePostgresUrl(url);
  const idle = new Map<string, pg.Client>();

  const connect = async (): Promise<pg.Client> => {
    const client = new pgModule.Client({ ...target.config, application_name: 'ecluse stream lock' });
    // Until a lease watches it: a server closing the session must not end the process.
    client.on('error', () => {});
    await client.connect();
    return client;
  };

  return {
    async tryAcquire(pipeline) {
      let client = idle.get(pipeline);
      idle.delete(pipeline);
      try {
        client ??= await connect();
        const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_ARGS}) AS ok`, [pipeline]);
        if (!rows[0]?.ok) {
          idle.set(pipeline, client);
          return null;
        }
      } catch (err) {
        // A broken connection is dropped: the next try opens another.
        await client?.end().catch(() => {});
        throw err;
      }
      const held = client;
      const lost = new AbortController();
      let released = false;
      const onLoss = (err?: Error) => {
        if (!released && !lost.signal.aborted)
          lost.abort(new Error(`lost the connection holding the lock of stream ${pipeline}${err ? ` (${err.message})` : ''}`));
      };
      held.on('error', onLoss);
      held.on('end', () => onLoss());
      return {
        lost: lost.signal,
        async check() {
          if (lost.signal.aborted) return;
          try {
            await held.query('SELECT 1');
          } catch (err) {
            onLoss(err as Error);
          }
        },
        async release() {
          released = true;
          // Ending the session frees its advisory locks: no unlock statement to get lost on a broken connection.
          await held.end().catch(() => {});
          if (!lost.signal.aborted) lost.abort(new Error(`stream ${pipeline} released`));
        },
      };
    },
    async close() {
      const clients = [...idle.values()];
      idle.clear();
      await Promise.allSettled(clients.map((c) => c.end()));
    },
  };
}
