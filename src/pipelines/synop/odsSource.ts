/**
 * The synop run's own source: a window of `donnees-synop-essentielles-omm` downloaded from OpenDataSoft as
 * one JSONL file (stored unchanged in the raw zone by the extract step), and the incremental cursor (the
 * latest `date` loaded) kept in the warehouse's `cursors` table, written in the run's transaction.
 */
import { join } from 'node:path';
import type { OdsClientOptions } from '../../connectors/opendatasoft/client.js';
import { fetchWindowFile, OdsSourceError } from '../../connectors/opendatasoft/window.js';
import { nextWindowWhere } from '../../connectors/opendatasoft/cursor.js';
import { readCursor } from '../kit/cursors.js';
import { dateWindowWhere } from '../../connectors/opendatasoft/odsql.js';
import { dayBounds, DEFAULT_TIME_ZONE } from '../../time/zones.js';
import { defaultPartition, isDay } from '../../time/days.js';
import type { RunContext, RunRequest } from '../kit/pipeline.js';
import { synopConfig } from './settings.js';

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

export interface FetchedWindow extends SynopWindow {
  /** The JSONL file, named after the window (its base name is the raw file's original name). */
  path: string;
  records: number;
  /** The latest `date` in the file, or null when the window was empty. */
  latest: string | null;
}

/** Downloads the run's window into `dir` (`fetchWindowFile`: records pages or an export; 4xx not retried). */
export async function fetchSynopWindow(ctx: RunContext, request: RunRequest, dir: string, client: Partial<OdsClientOptions> = {}): Promise<FetchedWindow> {
  const cursor = await readCursor(ctx.warehouse, 'synop', ODS_SOURCE);
  const window = synopWindow(request, cursor);
  const { odsUrl } = synopConfig.settings(ctx.config);
  const name = window.fromCursor ? `synop-${cursor!.replace(/[^0-9A-Za-z]/g, '')}-${window.day}.jsonl` : `synop-${window.day}.jsonl`;
  const got = await fetchWindowFile({
    baseUrl: odsUrl,
    dataset: SYNOP_DATASET,
    where: window.where,
    orderBy: 'date, numer_sta',
    dest: join(dir, name),
    cursorField: DATE_FIELD,
    label: 'synop',
    signal: ctx.signal,
    onProgress: (done, total) => ctx.progress({ step: 'fetch', done, total }),
    client,
  });
  return { ...window, ...got };
}
