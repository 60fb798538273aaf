import { Type } from '@sinclair/typebox';
import { assertTimeZone, dayBounds, parseDay, UnknownTimeZoneError } from '../../time/zones.js';
import { badRequest, defineRoute, notFound, type RouteSpec } from '../kit/routeSpec.js';
import { ErrorBody, instantParam, isoInstant, list, MAX_LIMIT, nullable, Paging, rowsOrEmpty, sqlInstant } from '../kit/routeHelpers.js';
import type { SqlParam, Warehouse } from '../../warehouse/warehouse.js';
import { MEASURES, REPORT_COLUMNS, STATION_COLUMNS, type StationRow } from './schema.js';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';

/** The stations API (docs/API.md): stations, their reports by day or instant range, the day document. */

const Station = Type.Object(
  {
    id: Type.String(),
    name: nullable(Type.String()),
    city: nullable(Type.String()),
    latitude: nullable(Type.Number()),
    longitude: nullable(Type.Number()),
    elevation_m: nullable(Type.Number()),
    type: nullable(Type.String()),
    hardware: nullable(Type.String()),
    software: nullable(Type.String()),
    timezone: nullable(Type.String()),
    license: nullable(Type.String()),
  },
  { $id: 'Station' },
);

const measureProps = Object.fromEntries(MEASURES.map((m) => [m, nullable(m === 'weather_code' ? Type.Integer() : Type.Number())]));
const reportTail = { source: Type.String(), raw_file: Type.String({ description: 'raw-zone key of the file the report came from' }) };
const Report = Type.Object({
  station_id: Type.String(),
  observed_at: Type.String({ description: 'instant, UTC, YYYY-MM-DDTHH:MM:SSZ' }),
  ...measureProps,
  ...reportTail,
});
const DocumentReport = Type.Object({ observed_at: Type.String(), ...measureProps, ...reportTail });

const IdParams = Type.Object({ id: Type.String({ minLength: 1 }) });
const Day = Type.String({ description: 'a calendar day YYYY-MM-DD in the station’s time zone (or tz)', examples: ['2024-10-05'] });
const Tz = Type.String({ description: 'IANA time zone overriding the station’s (default Europe/Paris)', examples: [DEFAULT_TIME_ZONE] });

const STATION_SELECT = `SELECT ${STATION_COLUMNS.join(', ')} FROM stations`;
const REPORT_SELECT = `SELECT ${REPORT_COLUMNS.join(', ')} FROM reports`;

async function station(warehouse: Warehouse, id: string): Promise<StationRow> {
  const [row] = await rowsOrEmpty(warehouse, `${STATION_SELECT} WHERE id = $1`, [id]);
  if (!row) throw notFound(`no station "${id}"`);
  return row as unknown as StationRow;
}

function zone(tz: string): string {
  try {
    assertTimeZone(tz);
    return tz;
  } catch (err) {
    if (err instanceof UnknownTimeZoneError) throw badRequest(err.message);
    throw err;
  }
}

function day(date: string, tz: string): { from: Date; to: Date } {
  if (parseDay(date) === null) throw badRequest(`date must be a calendar day YYYY-MM-DD, got "${date}"`);
  return dayBounds(date, zone(tz));
}

/** The time window of a reports request: a day, or an instant range (from inclusive, to exclusive). */
function window(s: StationRow, q: { date?: string; tz?: string; from?: string; to?: string }): { from?: Date; to?: Date } {
  if (q.date !== undefined) {
    if (q.from !== undefined || q.to !== undefined) throw badRequest('give either date or from/to, not both');
    return day(q.date, q.tz ?? s.timezone ?? DEFAULT_TIME_ZONE);
  }
  if (q.from === undefined && q.to === undefined) throw badRequest('give date=YYYY-MM-DD, or from and/or to (ISO instants)');
  const from = q.from === undefined ? undefined : instantParam('from', q.from);
  const to = q.to === undefined ? undefined : instantParam('to', q.to);
  if (from && to && from > to) throw badRequest('from must not be after to');
  return { from, to };
}

async function reportsIn(warehouse: Warehouse, id: string, w: { from?: Date; to?: Date }, limit: number, offset: number) {
  const where = ['station_id = $1'];
  const params: SqlParam[] = [id];
  if (w.from) {
    params.push(sqlInstant(w.from));
    where.push(`observed_at >= $${params.length}::TIMESTAMP`);
  }
  if (w.to) {
    params.push(sqlInstant(w.to));
    where.push(`observed_at < $${params.length}::TIMESTAMP`);
  }
  const cond = where.join(' AND ');
  // limit and offset are integers checked by the route schema.
  const items = await rowsOrEmpty(warehouse, `${REPORT_SELECT} WHERE ${cond} ORDER BY observed_at LIMIT ${limit} OFFSET ${offset}`, params);
  // A first page shorter than the limit is the whole list: no count query needed (the common day request).
  const total =
    offset === 0 && items.length < limit
      ? items.length
      : Number((await rowsOrEmpty(warehouse, `SELECT count(*) AS n FROM reports WHERE ${cond}`, params))[0]?.n ?? 0);
  return { items, total };
}

/**
 * `max_points`: when the window holds more reports than that, the window is cut into max_points/2 equal
 * time buckets and each gives two items: its minima (every measure's minimum, at the bucket's first
 * instant) and its maxima (at its last instant), so a chart keeps the peaks a plain sample would lose.
 */
async function downsampled(warehouse: Warehouse, id: string, w: { from: Date; to: Date }, maxPoints: number) {
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const width = Math.max(1e-3, (w.to.getTime() - w.from.getTime()) / 1000 / buckets);
  const params: SqlParam[] = [id, sqlInstant(w.from), sqlInstant(w.to), w.from.getTime() / 1000, width];
  const pick = (agg: 'min' | 'max', k: number) =>
    `SELECT station_id, ${agg}(observed_at) AS observed_at, ${MEASURES.map((m) => `${agg}(${m}) AS ${m}`).join(', ')},
       ${agg}(source) AS source, ${agg}(raw_file) AS raw_file, b, ${k} AS k
     FROM w GROUP BY station_id, b`;
  const sql = `WITH w AS (
      SELECT *, floor((extract(epoch FROM observed_at) - $4::DOUBLE PRECISION) / $5::DOUBLE PRECISION) AS b
      FROM reports WHERE station_id = $1 AND observed_at >= $2::TIMESTAMP AND observed_at < $3::TIMESTAMP
    )
    SELECT ${REPORT_COLUMNS.join(', ')} FROM (${pick('min', 0)} UNION ALL ${pick('max', 1)}) x ORDER BY b, k`;
  return rowsOrEmpty(warehouse, sql, params);
}

const StationStat = Type.Object({
  id: Type.String(),
  name: nullable(Type.String()),
  type: nullable(Type.String()),
  latitude: nullable(Type.Number()),
  longitude: nullable(Type.Number()),
  reports: Type.Integer(),
  first_report: nullable(Type.String()),
  last_report: nullable(Type.String()),
});

export const stationsRoutes: readonly RouteSpec[] = [
  defineRoute({
    method: 'GET',
    url: '/dashboard/stations',
    summary: 'Every station with its report count and first/last report instant (the dashboard’s Stations table and map)',
    tags: ['dashboard'],
    schema: { response: { 200: list(StationStat) } },
    async handler({ warehouse }) {
      const rows = await rowsOrEmpty(
        warehouse,
        `SELECT s.id, s.name, s.type, s.latitude, s.longitude, count(r.observed_at) AS reports,
                min(r.observed_at) AS first_report, max(r.observed_at) AS last_report
         FROM stations s LEFT JOIN reports r ON r.station_id = s.id
         GROUP BY s.id, s.name, s.type, s.latitude, s.longitude ORDER BY s.id`,
      );
      const items = rows.map((r) => ({
        id: String(r.id),
        name: (r.name as string | null) ?? null,
        type: (r.type as string | null) ?? null,
        latitude: r.latitude === null ? null : Number(r.latitude),
        longitude: r.longitude === null ? null : Number(r.longitude),
        reports: Number(r.reports),
        first_report: isoInstant(r.first_report),
        last_report: isoInstant(r.last_report),
      }));
      return { items, total: items.length, limit: items.length, offset: 0 };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/stations',
    summary: 'List stations',
    tags: ['stations'],
    schema: { querystring: Type.Object(Paging), response: { 200: list(Station) } },
    async handler({ warehouse, query }) {
      const items = await rowsOrEmpty(warehouse, `${STATION_SELECT} ORDER BY id LIMIT ${query.limit} OFFSET ${query.offset}`, []);
      const total = Number((await rowsOrEmpty(warehouse, 'SELECT count(*) AS n FROM stations', []))[0]?.n ?? 0);
      return { items, total, limit: query.limit, offset: query.offset };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/stations/:id',
    summary: 'One station',
    tags: ['stations'],
    schema: { params: IdParams, response: { 200: Station, 404: ErrorBody } },
    async handler({ warehouse, params }) {
      return station(warehouse, params.id);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/stations/:id/reports',
    summary: 'Reports of a station: a calendar day (date, in the station’s time zone unless tz) or an instant range (from inclusive, to exclusive)',
    tags: ['stations'],
    cacheable: true,
    schema: {
      params: IdParams,
      querystring: Type.Object({
        date: Type.Optional(Day),
        tz: Type.Optional(Tz),
        from: Type.Optional(Type.String({ description: 'ISO 8601 instant, inclusive', examples: ['2024-10-05T00:00:00Z'] })),
        to: Type.Optional(Type.String({ description: 'ISO 8601 instant, exclusive' })),
        max_points: Type.Optional(
          Type.Integer({ minimum: 2, maximum: MAX_LIMIT, description: 'downsample to at most this many items: min and max of each time bucket' }),
        ),
        ...Paging,
      }),
      response: { 200: list(Report), 400: ErrorBody, 404: ErrorBody },
    },
    async handler({ warehouse, params, query }) {
      const s = await station(warehouse, params.id);
      const w = window(s, query);
      const { items, total } = await reportsIn(warehouse, s.id, w, query.limit, query.offset);
      if (query.max_points === undefined || total <= query.max_points) return { items, total, limit: query.limit, offset: query.offset };
      if (!w.from || !w.to) throw badRequest('max_points needs a bounded window: date, or both from and to');
      const points = await downsampled(warehouse, s.id, { from: w.from, to: w.to }, query.max_points);
      return { items: points, total: points.length, limit: query.limit, offset: 0 };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/stations/:id/document',
    summary: 'A station and its reports of one day, as one embedded document (the shape the former MongoDB held)',
    tags: ['stations'],
    cacheable: true,
    schema: {
      params: IdParams,
      querystring: Type.Object({ date: Day, tz: Type.Optional(Tz) }),
      response: {
        200: Type.Object({ ...Station.properties, date: Type.String(), reports: Type.Array(DocumentReport) }),
        400: ErrorBody,
        404: ErrorBody,
      },
    },
    async handler({ warehouse, params, query }) {
      const s = await station(warehouse, params.id);
      const { items } = await reportsIn(warehouse, s.id, day(query.date, query.tz ?? s.timezone ?? DEFAULT_TIME_ZONE), MAX_LIMIT, 0);
      // The document embeds its reports: the station id is the document's own.
      const reports = items.map(({ station_id: _id, ...r }) => r);
      return { ...s, date: query.date, reports };
    },
  }),
];
