import { Type } from '@sinclair/typebox';
import { dayBounds, parseDay } from '../../time/zones.js';
import { badRequest, defineRoute, notFound, type RouteSpec } from '../kit/routeSpec.js';
import { ErrorBody, list, nullable, Paging, rowsOrEmpty, sqlInstant } from '../kit/routeHelpers.js';
import { isInstant } from '../../time/instants.js';
import type { SqlParam, Warehouse } from '../../warehouse/warehouse.js';
import { DAILY_STATS_COLUMNS } from './dailyStats.js';
import { OBSERVATIONS } from './schema.js';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';

/**
 * The synop API (docs/API.md, _The synop API_): stations ("cities") of the staging `observations` and of the curated
 * `daily_city_stats`, their observations and daily statistics. SQL here runs on DuckDB and PostgreSQL alike.
 */

/** Days of a request are Paris days, the ones `daily_city_stats` is keyed by. */
const SLOTS_PER_UTC_DAY = 8;

/** Folds case and accents: `Montélimar` and `MONTELIMAR` compare equal. */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().trim();
}

/** `LILLE-LESQUIN` → `lille-lesquin`, `RENNES-ST JACQUES` → `rennes-st-jacques`. */
export function slugOf(name: string): string {
  return fold(name)
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export interface SynopStation {
  numer_sta: string;
  name: string | null;
  slug: string | null;
  latitude: number | null;
  longitude: number | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * The stations of `observations`: ~60 rows, but found by a scan of the whole table, so kept until the
 * warehouse's data changes (every city request resolves its `{city}` through it).
 */
const stationCache = new WeakMap<Warehouse, { version: number; stations: Promise<SynopStation[]> }>();

export function synopStations(warehouse: Warehouse): Promise<SynopStation[]> {
  const version = warehouse.dataVersion();
  const hit = stationCache.get(warehouse);
  if (hit && hit.version === version) return hit.stations;
  const stations = rowsOrEmpty(
    warehouse,
    `SELECT numer_sta, max(nom) AS nom, max(latitude) AS latitude, max(longitude) AS longitude
     FROM observations GROUP BY numer_sta ORDER BY numer_sta`,
  ).then((rs) =>
    rs.map((r) => {
      const name = r.nom === null || r.nom === undefined ? null : String(r.nom);
      return { numer_sta: String(r.numer_sta), name, slug: name === null ? null : slugOf(name), latitude: num(r.latitude), longitude: num(r.longitude) };
    }),
  );
  stationCache.set(warehouse, { version, stations });
  // A failed lookup is not kept: the next request tries again.
  stations.catch(() => stationCache.delete(warehouse));
  return stations;
}

/**
 * `{city}`: the station's number (`07015`, or `7015`), its name or its slug, ignoring case, accents and
 * the separators (`Lille Lesquin`, `lille_lesquin`, `LILLE-LESQUIN` are one city).
 */
export function matchCity(stations: readonly SynopStation[], city: string): SynopStation | undefined {
  const wanted = slugOf(city);
  if (wanted === '') return undefined;
  const digits = /^\d+$/.test(wanted) ? Number(wanted) : null;
  return stations.find((s) => s.numer_sta === city || s.slug === wanted || (digits !== null && /^\d+$/.test(s.numer_sta) && Number(s.numer_sta) === digits));
}

async function cityNamed(warehouse: Warehouse, city: string): Promise<SynopStation> {
  const s = matchCity(await synopStations(warehouse), city);
  if (!s) throw notFound(`no city "${city}": give a station name, slug or number (see /staging/cities)`);
  return s;
}

function checkDay(name: string, value: string | undefined): string | undefined {
  if (value !== undefined && parseDay(value) === null) throw badRequest(`${name} must be a calendar day YYYY-MM-DD, got "${value}"`);
  return value;
}

function dayRange(q: { from?: string; to?: string }): { from?: string; to?: string } {
  const from = checkDay('from', q.from);
  const to = checkDay('to', q.to);
  if (from !== undefined && to !== undefined && from > to) throw badRequest(`from (${from}) must not be after to (${to})`);
  return { from, to };
}

/** A bound of an observations window: a Paris day (its start, or for `to` the next day's start) or an ISO instant. */
function bound(name: 'from' | 'to', value: string): Date {
  if (parseDay(value) !== null) {
    const b = dayBounds(value, DEFAULT_TIME_ZONE);
    return name === 'from' ? b.from : b.to;
  }
  if (!isInstant(value)) throw badRequest(`${name} must be a day YYYY-MM-DD or an ISO 8601 instant with a zone, got "${value}"`);
  return new Date(Date.parse(value));
}

const CityParams = Type.Object({
  city: Type.String({ minLength: 1, description: 'station number, name or slug; case, accents and separators ignored', examples: ['lille-lesquin'] }),
});
const StationProps = {
  numer_sta: Type.String({ description: 'WMO station number', examples: ['07015'] }),
  name: nullable(Type.String({ examples: ['LILLE-LESQUIN'] })),
  slug: nullable(Type.String({ examples: ['lille-lesquin'] })),
  latitude: nullable(Type.Number()),
  longitude: nullable(Type.Number()),
};
const StagingCity = Type.Object({
  ...StationProps,
  observations: Type.Integer(),
  first_observed_at: nullable(Type.String({ description: 'instant, UTC' })),
  last_observed_at: nullable(Type.String({ description: 'instant, UTC' })),
});
const CuratedCity = Type.Object({
  ...StationProps,
  days: Type.Integer(),
  first_day: nullable(Type.String({ description: 'YYYY-MM-DD' })),
  last_day: nullable(Type.String({ description: 'YYYY-MM-DD' })),
});
const Observation = Type.Object(Object.fromEntries(OBSERVATIONS.columns.map(([c]) => [c, Type.Unknown()])), {
  description: 'every field of donnees-synop-essentielles-omm and the converted columns; instants as ISO UTC',
  additionalProperties: true,
});
const DailyStats = Type.Object({
  numer_sta: Type.String(),
  day: Type.String({ description: 'YYYY-MM-DD (Europe/Paris, or UTC with tz=UTC)' }),
  ...Object.fromEntries(
    DAILY_STATS_COLUMNS.filter((c) => c !== 'numer_sta' && c !== 'day').map((c) => [
      c,
      c === 'observations' ? Type.Integer() : c === 'hours_with_rain' ? nullable(Type.Integer()) : nullable(Type.Number()),
    ]),
  ),
});
const DayQuery = (what: string) => Type.String({ description: `${what}, YYYY-MM-DD, inclusive`, examples: ['2024-01-01'] });

function page<T>(all: readonly T[], limit: number, offset: number) {
  return { items: all.slice(offset, offset + limit), total: all.length, limit, offset };
}

/** The stored statistics, Paris days. `day` as text: PostgreSQL's driver would read a DATE as a local-midnight Date. */
async function storedStats(warehouse: Warehouse, numerSta: string, r: { from?: string; to?: string }) {
  const where = ['numer_sta = $1'];
  const params: SqlParam[] = [numerSta];
  if (r.from !== undefined) {
    params.push(r.from);
    where.push(`day >= CAST($${params.length} AS DATE)`);
  }
  if (r.to !== undefined) {
    params.push(r.to);
    where.push(`day <= CAST($${params.length} AS DATE)`);
  }
  const cols = DAILY_STATS_COLUMNS.map((c) => (c === 'day' ? 'CAST(day AS VARCHAR) AS day' : c)).join(', ');
  return rowsOrEmpty(warehouse, `SELECT ${cols} FROM daily_city_stats WHERE ${where.join(' AND ')} ORDER BY day`, params);
}

/**
 * The statistics of `dailyStatsSql` recomputed from staging for calendar days at a fixed offset from UTC
 * (0: UTC days, what `tz=UTC` serves), in SQL both warehouses run (no `timezone()`/`epoch()`): such a day
 * always holds the 8 three-hourly slots. The offset is an integer of hours checked here, not user input.
 */
export function fixedOffsetStatsSql(where: string, offsetHours = 0): string {
  if (!Number.isInteger(offsetHours) || Math.abs(offsetHours) > 14) throw new RangeError(`offset of ${offsetHours} hours`);
  const local = offsetHours === 0 ? 'observed_at' : `(observed_at + INTERVAL '${offsetHours} hours')`;
  return `SELECT numer_sta, CAST(CAST(${local} AS DATE) AS VARCHAR) AS day,
      min(temperature_c) AS temperature_min_c, avg(temperature_c) AS temperature_avg_c, max(temperature_c) AS temperature_max_c,
      min(pressure_sea_hpa) AS pressure_min_hpa, avg(pressure_sea_hpa) AS pressure_avg_hpa, max(pressure_sea_hpa) AS pressure_max_hpa,
      avg(wind_speed_kmh) AS wind_avg_kmh, max(wind_speed_kmh) AS wind_max_kmh,
      max(gust_kmh) AS gust_max_kmh,
      sum(precip_3h_mm) AS rainfall_mm,
      CAST(3 * sum(CASE WHEN precip_3h_mm > 0 OR precip_3h_trace THEN 1 ELSE 0 END) AS INTEGER) AS hours_with_rain,
      CAST(count(*) AS INTEGER) AS observations,
      CAST(count(*) AS DOUBLE PRECISION) / ${SLOTS_PER_UTC_DAY} AS completeness
    FROM observations WHERE ${where}
    GROUP BY numer_sta, CAST(${local} AS DATE)
    ORDER BY day`;
}

async function utcStats(warehouse: Warehouse, numerSta: string, r: { from?: string; to?: string }) {
  const where = ['numer_sta = $1'];
  const params: SqlParam[] = [numerSta];
  if (r.from !== undefined) {
    params.push(`${r.from} 00:00:00`);
    where.push(`observed_at >= CAST($${params.length} AS TIMESTAMP)`);
  }
  if (r.to !== undefined) {
    params.push(sqlInstant(new Date((parseDay(r.to) as number) + 86_400_000)));
    where.push(`observed_at < CAST($${params.length} AS TIMESTAMP)`);
  }
  return rowsOrEmpty(warehouse, fixedOffsetStatsSql(where.join(' AND ')), params);
}

const OBSERVATION_SELECT = `SELECT ${OBSERVATIONS.columns.map(([c]) => c).join(', ')} FROM observations`;

export const synopRoutes: readonly RouteSpec[] = [
  defineRoute({
    method: 'GET',
    url: '/staging/cities',
    summary: 'SYNOP stations that have observations in staging, with their span',
    tags: ['synop'],
    cacheable: true,
    schema: { querystring: Type.Object(Paging), response: { 200: list(StagingCity) } },
    async handler({ warehouse, query }) {
      const [stations, counts] = await Promise.all([
        synopStations(warehouse),
        rowsOrEmpty(
          warehouse,
          `SELECT numer_sta, count(*) AS n, min(observed_at) AS first_at, max(observed_at) AS last_at FROM observations GROUP BY numer_sta`,
        ),
      ]);
      const byId = new Map(counts.map((c) => [String(c.numer_sta), c]));
      const all = stations.map((s) => {
        const c = byId.get(s.numer_sta);
        return {
          ...s,
          observations: Number(c?.n ?? 0),
          first_observed_at: (c?.first_at as string | undefined) ?? null,
          last_observed_at: (c?.last_at as string | undefined) ?? null,
        };
      });
      return page(all, query.limit, query.offset);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/staging/cities/:city',
    summary: 'Observations of a SYNOP station, ascending, paged',
    description:
      '`from`/`to` are Paris calendar days (both inclusive) or ISO 8601 instants (`from` inclusive, `to` exclusive). Each item holds every field of the dataset and the converted columns.',
    tags: ['synop'],
    cacheable: true,
    schema: {
      params: CityParams,
      querystring: Type.Object({
        from: Type.Optional(Type.String({ description: 'YYYY-MM-DD (Paris day) or ISO instant, inclusive', examples: ['2024-01-01'] })),
        to: Type.Optional(Type.String({ description: 'YYYY-MM-DD (Paris day, inclusive) or ISO instant (exclusive)', examples: ['2024-01-31'] })),
        ...Paging,
      }),
      response: { 200: list(Observation), 400: ErrorBody, 404: ErrorBody },
    },
    async handler({ warehouse, params, query }) {
      const from = query.from === undefined ? undefined : bound('from', query.from);
      const to = query.to === undefined ? undefined : bound('to', query.to);
      if (from && to && from > to) throw badRequest('from must not be after to');
      const s = await cityNamed(warehouse, params.city);
      const where = ['numer_sta = $1'];
      const p: SqlParam[] = [s.numer_sta];
      if (from) {
        p.push(sqlInstant(from));
        where.push(`observed_at >= CAST($${p.length} AS TIMESTAMP)`);
      }
      if (to) {
        p.push(sqlInstant(to));
        where.push(`observed_at < CAST($${p.length} AS TIMESTAMP)`);
      }
      const cond = where.join(' AND ');
      // limit and offset are integers checked by the route schema.
      const items = await rowsOrEmpty(warehouse, `${OBSERVATION_SELECT} WHERE ${cond} ORDER BY observed_at LIMIT ${query.limit} OFFSET ${query.offset}`, p);
      // A first page shorter than the limit is the whole list: no count query needed.
      const total =
        query.offset === 0 && items.length < query.limit
          ? items.length
          : Number((await rowsOrEmpty(warehouse, `SELECT count(*) AS n FROM observations WHERE ${cond}`, p))[0]?.n ?? 0);
      return { items, total, limit: query.limit, offset: query.offset };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/curated/cities',
    summary: 'SYNOP stations that have daily statistics, with the days covered',
    tags: ['synop'],
    cacheable: true,
    schema: { querystring: Type.Object(Paging), response: { 200: list(CuratedCity) } },
    async handler({ warehouse, query }) {
      const [stations, spans] = await Promise.all([
        synopStations(warehouse),
        rowsOrEmpty(
          warehouse,
          `SELECT numer_sta, count(*) AS days, CAST(min(day) AS VARCHAR) AS first_day, CAST(max(day) AS VARCHAR) AS last_day
           FROM daily_city_stats GROUP BY numer_sta ORDER BY numer_sta`,
        ),
      ]);
      const byId = new Map(stations.map((s) => [s.numer_sta, s]));
      const all = spans.map((r) => {
        const id = String(r.numer_sta);
        const s = byId.get(id) ?? { numer_sta: id, name: null, slug: null, latitude: null, longitude: null };
        return { ...s, days: Number(r.days), first_day: (r.first_day as string | null) ?? null, last_day: (r.last_day as string | null) ?? null };
      });
      return page(all, query.limit, query.offset);
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/curated/cities/:city',
    summary: 'Daily statistics of a SYNOP station: Paris days as stored, or UTC days recomputed from staging (tz=UTC)',
    description:
      'Days ascending, `from` and `to` both inclusive. Definitions: temperatures from each observation (`tc`, or `t` − 273.15), never the period extremes; ' +
      'pressure from `pmer`; wind from `ff`; gust from `raf10` else `rafper`; rainfall = sum of `rr3` (a trace counts 0, null when all missing); ' +
      '`hours_with_rain` = 3 × observations with rain or a trace; `completeness` = observations ÷ the 3-hourly slots of the day.',
    tags: ['synop'],
    cacheable: true,
    schema: {
      params: CityParams,
      querystring: Type.Object({
        from: Type.Optional(DayQuery('first day')),
        to: Type.Optional(DayQuery('last day')),
        tz: Type.Optional(
          Type.Union([Type.Literal('UTC'), Type.Literal(DEFAULT_TIME_ZONE)], {
            description: 'UTC: days recomputed from staging for UTC calendar days; default Europe/Paris (stored)',
          }),
        ),
        ...Paging,
      }),
      response: { 200: list(DailyStats), 400: ErrorBody, 404: ErrorBody },
    },
    async handler({ warehouse, params, query }) {
      const range = dayRange(query);
      const s = await cityNamed(warehouse, params.city);
      const all = query.tz === 'UTC' ? await utcStats(warehouse, s.numer_sta, range) : await storedStats(warehouse, s.numer_sta, range);
      return page(all, query.limit, query.offset);
    },
  }),
];
