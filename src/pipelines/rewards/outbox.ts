/**
 * The Slack outbox (`rewards_notifications`): one row per activity key, whatever the number of events about
 * the activity, so that its congratulation is posted at most once. Status: pending → sending → sent, or back
 * to pending (a retry, at `next_attempt_at`), or dead (given up), or unconfirmed (a post whose outcome is not
 * known: see slackSender.ts); skipped for activities too old to congratulate or deleted before they were sent.
 *
 * Warehouse tables have no key constraint on DuckDB, so uniqueness comes from NOT EXISTS inserts, and every
 * write of one outbox goes through one queue (the process's only writer of the table: one notifier per
 * deployment, as the stream supervisor runs each stream once).
 */
import { timestampValue } from '../../engine/duckdb.js';
import type { SqlParam, Warehouse } from '../../warehouse/warehouse.js';
import { REWARDS_NOTIFICATIONS } from './schema.js';

export const NOTIFICATION_STATUSES = ['pending', 'sending', 'sent', 'dead', 'unconfirmed', 'skipped'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

const TABLE = REWARDS_NOTIFICATIONS.name;
const CHUNK = 200;

/** A congratulation to queue. */
export interface OutboxItem {
  activityKey: string;
  /** The change event that brought it (for tracing). */
  eventId: string | null;
  employeeId: number;
  startedAt: Date;
  message: string;
  /** Queued as `skipped` with this reason instead of `pending` (too old to congratulate). */
  skipReason?: string;
}

/** A row due for sending. */
export interface DueNotification {
  activity_key: string;
  message: string;
  attempts: number;
}

/** A row as the API lists it (instants ISO UTC). */
export interface NotificationRow {
  activity_key: string;
  employee_id: number;
  started_at: string;
  message: string;
  status: NotificationStatus;
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

export type NotificationCounts = Record<NotificationStatus, number>;

/** The outcome of one post, recorded by `finish`. */
export type Outcome =
  | { key: string; status: 'sent' }
  /** Not posted (5xx, network error, 429): pending again at `at`; `counts` false for a 429 (Slack refused to try, the message did not fail). */
  | { key: string; status: 'retry'; at: Date; error: string; counts: boolean }
  | { key: string; status: 'dead'; error: string }
  | { key: string; status: 'unconfirmed'; error: string }
  /** Claimed but never posted (the channel was paused meanwhile): pending again as it was. */
  | { key: string; status: 'release' };

function placeholders(n: number, from = 1): string {
  return Array.from({ length: n }, (_, i) => `$${from + i}`).join(', ');
}

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** An item's columns as parameters: key, event, employee, start, message, status, reason. */
function itemParams(i: OutboxItem): SqlParam[] {
  return [i.activityKey, i.eventId, i.employeeId, timestampValue(i.startedAt), i.message, i.skipReason ? 'skipped' : 'pending', i.skipReason ?? null];
}

export class Outbox {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly warehouse: Warehouse) {}

  /** The outbox of this warehouse, its table created if missing. */
  static async open(warehouse: Warehouse): Promise<Outbox> {
    await warehouse.ensureDataset(REWARDS_NOTIFICATIONS);
    return new Outbox(warehouse);
  }

  /** Runs writes one at a time: the claim's read-then-update must not interleave with another write. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }

  /**
   * Queues the items whose activity key has no row yet (the first event about an activity wins; a repeat of
   * it, or a later event, writes nothing). Returns how many rows were added.
   */
  enqueue(items: readonly OutboxItem[], now = new Date()): Promise<number> {
    const unique = new Map<string, OutboxItem>();
    for (const item of items) if (!unique.has(item.activityKey)) unique.set(item.activityKey, item);
    if (unique.size === 0) return Promise.resolve(0);
    return this.serial(async () => {
      const created = timestampValue(now);
      if (unique.size === 1) {
        // One event at a time is the consumer's pace: a lookup and a plain insert cost a third of the NOT
        // EXISTS insert on DuckDB, and are as safe here, every write of the table going through this queue.
        const [i] = [...unique.values()] as [OutboxItem];
        if ((await this.warehouse.query(`SELECT 1 FROM ${TABLE} WHERE activity_key = $1`, [i.activityKey])).length) return 0;
        return this.warehouse.execute(
          `INSERT INTO ${TABLE} (activity_key, event_id, employee_id, started_at, message, status, attempts, last_error, next_attempt_at, created_at, sent_at)
           VALUES ($1, $2, $3, $4::TIMESTAMP, $5, $6, 0, $7, $8::TIMESTAMP, $9::TIMESTAMP, NULL)`,
          [...itemParams(i), i.skipReason ? null : created, created],
        );
      }
      let added = 0;
      for (const chunk of chunks([...unique.values()])) {
        const width = 7;
        const values = chunk
          .map(
            (_, n) =>
              `($${n * width + 1}::VARCHAR, $${n * width + 2}::VARCHAR, $${n * width + 3}::INTEGER, $${n * width + 4}::TIMESTAMP, $${n * width + 5}::VARCHAR, $${n * width + 6}::VARCHAR, $${n * width + 7}::VARCHAR)`,
          )
          .join(', ');
        const params: SqlParam[] = chunk.flatMap(itemParams);
        const at = chunk.length * width + 1;
        added += await this.warehouse.execute(
          `INSERT INTO ${TABLE} (activity_key, event_id, employee_id, started_at, message, status, attempts, last_error, next_attempt_at, created_at, sent_at)
           SELECT v.activity_key, v.event_id, v.employee_id, v.started_at, v.message, v.status, 0, v.last_error,
                  CASE WHEN v.status = 'pending' THEN $${at}::TIMESTAMP END, $${at}::TIMESTAMP, NULL
           FROM (VALUES ${values}) AS v(activity_key, event_id, employee_id, started_at, message, status, last_error)
           WHERE NOT EXISTS (SELECT 1 FROM ${TABLE} t WHERE t.activity_key = v.activity_key)`,
          [...params, created],
        );
      }
      return added;
    });
  }

  /** Marks these activities `skipped` with `reason` if they are still pending (a deleted activity); returns how many. */
  skipPending(keys: readonly string[], reason: string): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0);
    return this.serial(async () => {
      let n = 0;
      for (const chunk of chunks(keys)) {
        n += await this.warehouse.execute(
          `UPDATE ${TABLE} SET status = 'skipped', last_error = $1, next_attempt_at = NULL
           WHERE status = 'pending' AND activity_key IN (${placeholders(chunk.length, 2)})`,
          [reason, ...chunk],
        );
      }
      return n;
    });
  }

  /**
   * Rows left `sending` by a sender that died in mid-post: Slack may have shown them, so they become
   * `unconfirmed` with `reason` and are never posted again. Call before a sender starts.
   */
  recoverSending(reason: string): Promise<number> {
    return this.serial(() =>
      this.warehouse.execute(`UPDATE ${TABLE} SET status = 'unconfirmed', last_error = $1, next_attempt_at = NULL WHERE status = 'sending'`, [reason]),
    );
  }

  /** Pending rows due at `now`, oldest first. */
  async due(limit: number, now = new Date()): Promise<DueNotification[]> {
    const rows = await this.warehouse.query(
      `SELECT activity_key, message, attempts FROM ${TABLE}
       WHERE status = 'pending' AND next_attempt_at <= $1::TIMESTAMP
       ORDER BY next_attempt_at, activity_key LIMIT ${Math.max(1, Math.floor(limit))}`,
      [timestampValue(now)],
    );
    return rows.map((r) => ({ activity_key: String(r.activity_key), message: String(r.message), attempts: Number(r.attempts) }));
  }

  /** When the next pending row falls due (null: none pending). */
  async nextDue(): Promise<Date | null> {
    const [row] = await this.warehouse.query(`SELECT min(next_attempt_at) AS at FROM ${TABLE} WHERE status = 'pending'`);
    return row?.at ? new Date(String(row.at)) : null;
  }

  /**
   * Marks the rows `sending`, committed before anything is posted, and returns the keys it claimed: those
   * still pending (a delete event may have skipped one since it was read).
   */
  claim(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return Promise.resolve(new Set());
    return this.serial(async () => {
      const rows = await this.warehouse.query(`SELECT activity_key FROM ${TABLE} WHERE status = 'pending' AND activity_key IN (${placeholders(keys.length)})`, [
        ...keys,
      ]);
      const claimed = rows.map((r) => String(r.activity_key));
      if (claimed.length)
        await this.warehouse.execute(`UPDATE ${TABLE} SET status = 'sending' WHERE activity_key IN (${placeholders(claimed.length)})`, claimed);
      return new Set(claimed);
    });
  }

  /** Records the outcomes of posts: the sent ones in one statement, the others one by one. */
  finish(outcomes: readonly Outcome[], now = new Date()): Promise<void> {
    if (outcomes.length === 0) return Promise.resolve();
    return this.serial(async () => {
      const at = timestampValue(now);
      const sent = outcomes.filter((o) => o.status === 'sent').map((o) => o.key);
      for (const chunk of chunks(sent)) {
        await this.warehouse.execute(
          `UPDATE ${TABLE} SET status = 'sent', attempts = attempts + 1, sent_at = $1::TIMESTAMP, next_attempt_at = NULL, last_error = NULL
           WHERE activity_key IN (${placeholders(chunk.length, 2)})`,
          [at, ...chunk],
        );
      }
      const released = outcomes.filter((o) => o.status === 'release').map((o) => o.key);
      for (const chunk of chunks(released)) {
        await this.warehouse.execute(
          `UPDATE ${TABLE} SET status = 'pending' WHERE status = 'sending' AND activity_key IN (${placeholders(chunk.length)})`,
          chunk,
        );
      }
      for (const o of outcomes) {
        if (o.status === 'retry') {
          await this.warehouse.execute(
            `UPDATE ${TABLE} SET status = 'pending', attempts = attempts + $2, last_error = $3, next_attempt_at = $4::TIMESTAMP WHERE activity_key = $1`,
            [o.key, o.counts ? 1 : 0, o.error, timestampValue(o.at)],
          );
        } else if (o.status === 'dead' || o.status === 'unconfirmed') {
          await this.warehouse.execute(
            `UPDATE ${TABLE} SET status = $2, attempts = attempts + 1, last_error = $3, next_attempt_at = NULL WHERE activity_key = $1`,
            [o.key, o.status, o.error],
          );
        }
      }
    });
  }

  counts(): Promise<NotificationCounts> {
    return notificationCounts(this.warehouse);
  }
}

/** Rows per status (every status present, 0 when none). */
export async function notificationCounts(warehouse: Warehouse): Promise<NotificationCounts> {
  const counts = Object.fromEntries(NOTIFICATION_STATUSES.map((s) => [s, 0])) as NotificationCounts;
  const rows = await warehouse.query(`SELECT status, count(*) AS n FROM ${TABLE} GROUP BY status`);
  for (const r of rows) if ((NOTIFICATION_STATUSES as readonly string[]).includes(String(r.status))) counts[r.status as NotificationStatus] = Number(r.n);
  return counts;
}

/**
 * `GET /rewards/notifications`: the counts per status, and the rows (of one status when asked), newest first.
 * The table must exist (Outbox.open or the pipeline's ensureDataset).
 */
export async function listNotifications(
  warehouse: Warehouse,
  filter: { status?: NotificationStatus; limit: number; offset: number },
): Promise<{ counts: NotificationCounts; items: NotificationRow[]; total: number; limit: number; offset: number }> {
  const where = filter.status ? `WHERE status = $1` : '';
  const params: SqlParam[] = filter.status ? [filter.status] : [];
  const [counts, rows] = await Promise.all([
    notificationCounts(warehouse),
    warehouse.query(
      `SELECT activity_key, employee_id, started_at, message, status, attempts, last_error, created_at, sent_at FROM ${TABLE} ${where}
       ORDER BY created_at DESC, activity_key DESC LIMIT ${Math.max(0, Math.floor(filter.limit))} OFFSET ${Math.max(0, Math.floor(filter.offset))}`,
      params,
    ),
  ]);
  const total = filter.status ? counts[filter.status] : Object.values(counts).reduce((a, b) => a + b, 0);
  const items = rows.map((r): NotificationRow => ({
    activity_key: String(r.activity_key),
    employee_id: Number(r.employee_id),
    started_at: String(r.started_at),
    message: String(r.message),
    status: r.status as NotificationStatus,
    attempts: Number(r.attempts),
    last_error: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
    created_at: String(r.created_at),
    sent_at: r.sent_at === null || r.sent_at === undefined ? null : String(r.sent_at),
  }));
  return { counts, items, total, limit: filter.limit, offset: filter.offset };
}
