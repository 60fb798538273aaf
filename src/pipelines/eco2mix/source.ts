/**
 * eco2mix's own source: the two ODRE datasets as feeds (real time by Paris day every 15 minutes,
 * consolidated/definitive by Paris month daily), the window a partition run fetches, and the download
 * itself (one JSONL file per run, stored unchanged in the raw zone by the extract step). Each dataset has
 * its incremental cursor (the latest `date_heure` with a value) in the warehouse's `cursors` table.
 */
import { join } from 'node:path';
import type { OdsClientOptions, OdsRecord } from '../../connectors/opendatasoft/client.js';
import { nextWindowWhere } from '../../connectors/opendatasoft/cursor.js';
import { ECO2MIX_FIELDS } from '../../connectors/opendatasoft/eco2mix/fields.js';
import { dateWindowWhere } from '../../connectors/opendatasoft/odsql.js';
import { fetchWindowFile, OdsSourceError, type FetchedWindowFile } from '../../connectors/opendatasoft/window.js';
import { dayOf, daysBetween, isDay } from '../../time/days.js';
import { dayBounds, DEFAULT_TIME_ZONE, wallClock } from '../../time/zones.js';
import { readCursor } from '../kit/cursors.js';
import type { Feed, RunContext, RunRequest } from '../kit/pipeline.js';
import { eco2mixConfig } from './settings.js';

const DATE_FIELD = 'date_heure';
/** A unique key of both datasets: pages neither skip nor repeat records. */
const ORDER_BY = 'date_heure, code_insee_region';
const CONS_DEF_PREFIX = 'cons-def:';

/** Triggers that catch up from the cursor when it lags behind their partition (a scheduled series). */
const FOLLOWS_CURSOR: ReadonlySet<RunRequest['trigger']> = new Set(['schedule', 'catch-up', 'recovery']);

export interface Eco2mixFeed extends Feed {
  /** The ODRE dataset id, also the `source` of its cursor. */
  dataset: string;
  /** The UTC bounds `[from, to)` of one of its partitions. */
  bounds(partition: string): { from: Date; to: Date };
}

/** `YYYY-MM` of the Paris month an instant falls in. */
function monthOf(at: Date): string {
  return dayOf(at, DEFAULT_TIME_ZONE).slice(0, 7);
}

function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

function monthOfPartition(partition: string): string | null {
  const m = /^cons-def:(\d{4})-(\d{2})$/.exec(partition);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) return null;
  return `${m[1]}-${m[2]}`;
}

/** Real time: 15-minute values of the current days, published as they come (future slots empty). */
const REAL_TIME: Eco2mixFeed = {
  name: 'tr',
  description: 'eco2mix-regional-tr: real time, 15 minutes, a partition per Paris day, every 15 minutes',
  dataset: 'eco2mix-regional-tr',
  schedule: { cron: '*/15 * * * *', timezone: DEFAULT_TIME_ZONE },
  // Today: a tick fetches the slots published since the last one.
  partitionAt: (at) => dayOf(at, DEFAULT_TIME_ZONE),
  partitionsBetween: (from, to) => daysBetween(from, to),
  owns: (partition) => isDay(partition),
  bounds: (partition) => dayBounds(partition, DEFAULT_TIME_ZONE),
};

/** Consolidated, then definitive: 30-minute values since 2013, published months (then a year) later. */
const CONSOLIDATED: Eco2mixFeed = {
  name: 'cons-def',
  description: 'eco2mix-regional-cons-def: consolidated and definitive, 30 minutes since 2013, a partition per Paris month, daily',
  dataset: 'eco2mix-regional-cons-def',
  // After the portal's nightly maintenance (around 00:00–01:00 Paris).
  schedule: { cron: '30 5 * * *', timezone: DEFAULT_TIME_ZONE },
  partitionAt: (at) => `${CONS_DEF_PREFIX}${monthOf(at)}`,
  partitionsBetween(from, to) {
    const days = daysBetween(from, to);
    const out: string[] = [];
    for (let m = (days[0] as string).slice(0, 7); m <= (days[days.length - 1] as string).slice(0, 7); m = nextMonth(m)) out.push(`${CONS_DEF_PREFIX}${m}`);
    return out;
  },
  owns: (partition) => monthOfPartition(partition) !== null,
  bounds(partition) {
    const month = monthOfPartition(partition);
    if (month === null) throw new OdsSourceError(`eco2mix: partition ${JSON.stringify(partition)} is not cons-def:YYYY-MM`, false);
    return { from: dayBounds(`${month}-01`, DEFAULT_TIME_ZONE).from, to: dayBounds(`${nextMonth(month)}-01`, DEFAULT_TIME_ZONE).from };
  },
};

export const ECO2MIX_FEEDS: readonly Eco2mixFeed[] = [REAL_TIME, CONSOLIDATED];

/** The feed a partition belongs to; a run without one fetches today's real-time partition. */
function feedOfPartition(partition: string): Eco2mixFeed {
  const feed = ECO2MIX_FEEDS.find((f) => f.owns(partition));
  if (!feed) throw new OdsSourceError(`eco2mix: partition ${JSON.stringify(partition)} is neither a day YYYY-MM-DD (tr) nor cons-def:YYYY-MM`, false);
  return feed;
}

export interface Eco2mixWindow {
  feed: Eco2mixFeed;
  partition: string;
  where: string;
  /** Whether the window starts just after the cursor rather than at the partition's start. */
  fromCursor: boolean;
}

/**
 * The window of a run: its partition's bounds; a scheduled run whose cursor lies before the partition's
 * end starts just after the cursor instead (today's slots since the last tick, or the days missed while
 * nothing ran). Explicit runs and backfills fetch the whole partition again.
 */
export function eco2mixWindow(request: RunRequest, cursorOf: (feed: Eco2mixFeed) => string | null, now = new Date()): Eco2mixWindow {
  const partition = request.partition ?? REAL_TIME.partitionAt(now);
  const feed = feedOfPartition(partition);
  const { from, to } = feed.bounds(partition);
  const cursor = cursorOf(feed);
  if (cursor !== null && FOLLOWS_CURSOR.has(request.trigger) && Date.parse(cursor) < to.getTime()) {
    return { feed, partition, where: nextWindowWhere(DATE_FIELD, { cursor, until: to.toISOString() }), fromCursor: true };
  }
  return { feed, partition, where: dateWindowWhere(DATE_FIELD, { from: from.toISOString(), to: to.toISOString() }), fromCursor: false };
}

const MW_FIELDS = ECO2MIX_FIELDS.filter((f) => f.unit === 'MW').map((f) => f.name);
const MISSING: ReadonlySet<unknown> = new Set([null, undefined, '', '-', 'ND']);

/** A record with a value: the cursor passes it. A future slot published empty must not, or its values would never be fetched. */
function hasValue(record: OdsRecord): boolean {
  return MW_FIELDS.some((f) => !MISSING.has(record[f]));
}

/** Said when a fetch fails around the portal's nightly maintenance: the run is retried, and the next tick catches up. */
export function maintenanceHint(now: Date): string | undefined {
  const { hour, minute } = wallClock(now.getTime(), DEFAULT_TIME_ZONE);
  const minutes = hour * 60 + minute;
  return minutes >= 23 * 60 + 30 || minutes <= 90
    ? 'ODRE is usually down for maintenance around 00:00–01:00 Europe/Paris; the next run catches up from the cursor'
    : undefined;
}

export interface FetchedEco2mix extends Eco2mixWindow, FetchedWindowFile {}

/** Downloads the run's window into `dir` (records pages, or an export past the ceiling). */
export async function fetchEco2mixWindow(ctx: RunContext, request: RunRequest, dir: string, client: Partial<OdsClientOptions> = {}): Promise<FetchedEco2mix> {
  // The partition says which feed, hence which dataset's cursor to read.
  const partition = request.partition ?? REAL_TIME.partitionAt(new Date());
  const cursor = await readCursor(ctx.warehouse, 'eco2mix', feedOfPartition(partition).dataset);
  const window = eco2mixWindow({ ...request, partition }, () => cursor);
  const { url } = eco2mixConfig.settings(ctx.config);
  const stem = `eco2mix-${window.feed.name}-${window.partition.replace(CONS_DEF_PREFIX, '')}`;
  const name = window.fromCursor && cursor !== null ? `${stem}-after-${cursor.replace(/[^0-9A-Za-z]/g, '')}.jsonl` : `${stem}.jsonl`;
  const got = await fetchWindowFile({
    baseUrl: url,
    dataset: window.feed.dataset,
    where: window.where,
    orderBy: ORDER_BY,
    dest: join(dir, name),
    cursorField: DATE_FIELD,
    counts: hasValue,
    label: 'eco2mix',
    hint: () => maintenanceHint(new Date()),
    signal: ctx.signal,
    onProgress: (done, total) => ctx.progress({ step: 'fetch', done, total }),
    client,
  });
  return { ...window, ...got };
}
