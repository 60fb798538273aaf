/**
 * The synop run's own source: a window of `donnees-synop-essentielles-omm` downloaded from OpenDataSoft as
 * one JSONL file (stored unchanged in the raw zone by the extract step), and the incremental cursor (the
 * latest `date` loaded) kept in the warehouse's `cursors` table, written in the run's transaction.
 */
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { OdsApiError, OdsClient, type OdsClientOptions } from '../../connectors/opendatasoft/client.js';
import { advanceCursor, nextWindowWhere } from '../../connectors/opendatasoft/cursor.js';
import { dateWindowWhere } from '../../connectors/opendatasoft/odsql.js';
import { dayBounds, DEFAULT_TIME_ZONE } from '../../time/zones.js';
import { defaultPartition, isDay } from '../../time/days.js';
import type { RunContext, RunRequest } from '../kit/pipeline.js';
import { synopConfig } from './settings.js';
import type { Warehouse } from '../../warehouse/warehouse.js';

export const SYNOP_DATASET = 'donnees-synop-essentielles-omm';
/** The `source` of the cursor row and of the raw keys (`raw/synop/opendatasoft/…`). */
export const ODS_SOURCE = 'opendatasoft';
const DATE_FIELD = 'date';

/** Triggers that catch up from the cursor when it lags behind their day (a scheduled series of days). */
const FOLLOWS_CURSOR: ReadonlySet<RunRequest['trigger']> = new Set(['schedule', 'catch-up', 'recovery']);

/** What a run asks OpenDataSoft for. */
export interface SynopWindow {
  /** The Europe/Paris day of the partition. */
  day: string;
  /** The `where` sent. */
  where: string;
  /** Whether the window starts at the cursor (exclusive) rather than at the day's start. */
  fromCursor: boolean;
}

/** A raised error the orchestrator must not retry: a 4xx answer is the same on every attempt. */
class OdsSourceError extends Error {
  override name = 'OdsSourceError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

async function readCursor(warehouse: Warehouse, pipeline: string): Promise<string | null> {
  const [row] = await warehouse.query(`SELECT cursor FROM cursors WHERE pipeline = $1 AND source = $2`, [pipeline, ODS_SOURCE]);
  return typeof row?.cursor === 'string' ? row.cursor : null;
}

/**
 * Writes the cursor in the run's open transaction, so it commits (or rolls back) with the data. It never
 * moves back: a backfill of older days leaves a later cursor where it is.
 */
export async function saveCursor(warehouse: Warehouse, pipeline: string, cursor: string, runId: number): Promise<void> {
  const [row] = await warehouse.query(`SELECT cursor FROM cursors WHERE pipeline = $1 AND source = $2`, [pipeline, ODS_SOURCE]);
  const current = typeof row?.cursor === 'string' ? row.cursor : null;
  const next = advanceCursor(current, [cursor]);
  if (next === null || next === current) return;
  const now = new Date().toISOString().replace('Z', '');
  await warehouse.execute(`DELETE FROM cursors WHERE pipeline = $1 AND source = $2`, [pipeline, ODS_SOURCE]);
  await warehouse.execute(`INSERT INTO cursors (pipeline, source, cursor, run_id, updated_at) VALUES ($1, $2, $3, $4, $5::TIMESTAMP)`, [
    pipeline,
    ODS_SOURCE,
    next,
    runId,
    now,
  ]);
}

/**
 * The window of a run: its partition's Europe/Paris day; a scheduled run whose cursor lags behind that day
 * starts just after the cursor instead, so days missed while nothing ran are fetched too.
 */
export function synopWindow(request: RunRequest, cursor: string | null, now = new Date()): SynopWindow {
  const day = request.partition ?? defaultPartition(now);
  if (!isDay(day)) throw new OdsSourceError(`synop: partition ${JSON.stringify(day)} is not a day (YYYY-MM-DD)`, false);
  const { from, to } = dayBounds(day, DEFAULT_TIME_ZONE);
  const fromIso = from.toISOString();
  const toIso = to.toISOString();
  if (cursor !== null && FOLLOWS_CURSOR.has(request.trigger) && Date.parse(cursor) < from.getTime()) {
    return { day, where: nextWindowWhere(DATE_FIELD, { cursor, until: toIso }), fromCursor: true };
  }
  return { day, where: dateWindowWhere(DATE_FIELD, { from: fromIso, to: toIso }), fromCursor: false };
}

/** The latest `date` of a JSONL file (streamed: an export may be large); null when it holds none. */
async function latestDate(path: string): Promise<string | null> {
  let best: string | null = null;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      // The readers reject the line with its number; the cursor just ignores it.
      continue;
    }
    if (rec && typeof rec === 'object') best = advanceCursor(best, [(rec as Record<string, unknown>)[DATE_FIELD]]);
  }
  return best;
}

export interface FetchedWindow extends SynopWindow {
  /** The JSONL file, named after the window (its base name is the raw file's original name). */
  path: string;
  records: number;
  /** The latest `date` in the file, or null when the window was empty. */
  latest: string | null;
}

/**
 * Downloads the run's window into `dir` (records pages, or an export past the `records` ceiling). A 4xx
 * answer fails with the portal's `error_code` and `message`, not retryable; 5xx and 429 were already retried
 * by the client, and a run failing on them may be retried by the orchestrator.
 */
export async function fetchSynopWindow(ctx: RunContext, request: RunRequest, dir: string, client: Partial<OdsClientOptions> = {}): Promise<FetchedWindow> {
  const cursor = await readCursor(ctx.warehouse, 'synop');
  const window = synopWindow(request, cursor);
  const { odsUrl } = synopConfig.settings(ctx.config);
  const ods = new OdsClient({ baseUrl: odsUrl, signal: ctx.signal, ...client });
  await mkdir(dir, { recursive: true });
  const name = window.fromCursor ? `synop-${cursor!.replace(/[^0-9A-Za-z]/g, '')}-${window.day}.jsonl` : `synop-${window.day}.jsonl`;
  try {
    const got = await ods.downloadWindow(SYNOP_DATASET, {
      where: window.where,
      // A unique key: pages neither skip nor repeat records.
      orderBy: 'date, numer_sta',
      dest: join(dir, name),
      onProgress: (p) => ctx.progress({ step: 'fetch', done: p.fetched, total: p.total ?? p.fetched }),
    });
    return { ...window, path: got.path, records: got.records, latest: await latestDate(got.path) };
  } catch (err) {
    if (err instanceof OdsApiError) {
      const clientError = err.status !== null && err.status >= 400 && err.status < 500 && err.status !== 429;
      const what = [err.errorCode, err.apiMessage].filter(Boolean).join(': ') || err.message;
      throw new OdsSourceError(`synop: OpenDataSoft ${SYNOP_DATASET} at ${odsUrl} answered ${err.status ?? 'nothing usable'}: ${what}`, !clientError);
    }
    throw err;
  }
}
