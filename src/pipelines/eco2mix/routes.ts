import { Type } from '@sinclair/typebox';
import { ECO2MIX_NATURES, ECO2MIX_REGIONS, ECO2MIX_SOURCES, type Eco2mixSource } from '../../connectors/opendatasoft/eco2mix/fields.js';
import { dayBounds, DEFAULT_TIME_ZONE, parseDay } from '../../time/zones.js';
import type { SqlParam, Warehouse } from '../../warehouse/warehouse.js';
import { badRequest, defineRoute, notFound, type RouteSpec } from '../kit/routeSpec.js';
import { ErrorBody, isoInstant, nullable, Paging, rowsOrEmpty, sqlInstant } from '../kit/routeHelpers.js';

/**
 * The eco2mix API (docs/pipelines/eco2mix.md, _API_): regions, their statistics from
 * `regional_energy_stats_latest`, the production mix, and their staging observations downsampled for
 * charts. SQL here runs on DuckDB and PostgreSQL alike, every value from the request a parameter.
 */

/** The national totals' region code: rows of `regional_energy_stats` only, no staging rows. */
const FRANCE = 'FR';
const FRANCE_NAME = 'France';

/**
 * The mix's production sources: `wind` is `wind_onshore + wind_offshore`, so counting it as well would
 * count wind twice; pumping and battery charge draw power, exchanges are signed flows.
 */
const MIX_SOURCES: readonly Eco2mixSource[] = ['thermal', 'nuclear', 'wind_onshore', 'wind_offshore', 'solar', 'hydro', 'bioenergy', 'battery_discharge'];

const DEFAULT_MAX_POINTS = 500;
const MAX_POINTS = 5000;
/**
 * Bucket widths a chart reads well: staging's paces (15 and 30 minutes) and hours that divide a day, then
 * whole days. A width of the pace or a multiple of it keeps each bucket start on an observation's instant.
 */
const BUCKET_LADDER_S = [900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
/** Sums run in an order neither warehouse promises: 6 decimals, as curated rounds, make them equal on both. */
const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

function regionName(code: string): string | undefined {
  return code === FRANCE ? FRANCE_NAME : ECO2MIX_REGIONS.get(code);
}

/** `{code}`: an INSEE region code of the datasets, or FR; a region without data yet is still known. */
function region(code: string): string {
  if (regionName(code) === undefined) {
    throw notFound(`no region "${code}": give an INSEE region code (${[...ECO2MIX_REGIONS.keys()].join(', ')}) or ${FRANCE} (see /energy/regions)`);
  }
  return code;
}

function day(name: string, value: string): string {
  if (parseDay(value) === null) throw badRequest(`${name} must be a calendar day YYYY-MM-DD, got "${value}"`);
  return value;
}

const nextDay = (d: string) => new Date((parseDay(d) ?? 0) + 86_400_000).toISOString().slice(0, 10);

/** Paris days, both inclusive, as the UTC instants `[from, to)` they span (a DST day lasts 23 or 25 hours). */
function dayRange(from: string, to: string): { from: string; to: string; start: Date; end: Date } {
  day('from', from);
  day('to', to);
  if (from > to) throw badRequest(`from (${from}) must not be after to (${to})`);
  return { from, to, start: dayBounds(from, DEFAULT_TIME_ZONE).from, end: dayBounds(to, DEFAULT_TIME_ZONE).to };
}

/** `sources=consumption,wind`: every one checked; none (or empty) is all of them. */
function sourcesParam(value: string | undefined): readonly Eco2mixSource[] {
  const wanted = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (wanted.length === 0) return ECO2MIX_SOURCES;
  const known = new Set<string>(ECO2MIX_SOURCES);
  const unknown = wanted.filter((s) => !known.has(s));
  if (unknown.length > 0) {
    throw badRequest(
      `sources: unknown source${unknown.length > 1 ? 's' : ''} ${unknown.map((s) => `"${s}"`).join(', ')}; known: ${ECO2MIX_SOURCES.join(', ')}`,
    );
  }
  return ECO2MIX_SOURCES.filter((s) => wanted.includes(s));
}

/** `$k, $k+1, …` placeholders for `values`, appended to `params`. */
function placeholders(params: SqlParam[], values: readonly SqlParam[]): string {
  return values
    .map((v) => {
      params.push(v);
      return `$${params.length}`;
    })
    .join(', ');
}

/** FR first (the whole before its parts), then the INSEE codes in order. */
const regionOrder = (a: string, b: string) => (a === FRANCE ? -1 : b === FRANCE ? 1 : a < b ? -1 : a > b ? 1 : 0);

const RegionParams = Type.Object({
  code: Type.String({ minLength: 1, description: `INSEE region code, or ${FRANCE} for the national totals`, examples: ['53'] }),
});
const Day = (what: string) => Type.String({ description: `${what}, YYYY-MM-DD (Europe/Paris day), inclusive`, examples: ['2024-01-01'] });

const Region = Type.Object({
  code: Type.String({ examples: ['53'] }),
  name: Type.String({ examples: ['Bretagne'] }),
  first_observed_at: nullable(Type.String({ description: 'instant, UTC' })),
  last_observed_at: nullable(Type.String({ description: 'instant, UTC' })),
});

const EnergyStat = Type.Object({
  region: Type.String(),
  source: Type.String(),
  period: Type.String({ description: 'YYYY-MM-DD (Paris day) for grain day; the hour’s start, UTC instant, for grain hour' }),
  grain: Type.String(),
  avg_mw: nullable(Type.Number()),
  min_mw: nullable(Type.Number()),
  max_mw: nullable(Type.Number()),
  energy_mwh: nullable(Type.Number()),
  samples: Type.Integer(),
  completeness: nullable(Type.Number()),
  share_of_consumption: nullable(Type.Number()),
  nature: nullable(Type.String()),
  processed_at: Type.String({ description: 'instant, UTC' }),
});

const MixItem = Type.Object({
  region: Type.String(),
  source: Type.String(),
  energy_mwh: Type.Number(),
  share_of_production: nullable(Type.Number({ description: 'energy ÷ the energy of every production source of the region over the period' })),
  share_of_consumption: nullable(Type.Number({ description: 'energy ÷ the consumption’s energy of the region over the period' })),
});

const Observation = Type.Object({
  observed_at: Type.String({ description: 'UTC instant; with buckets, the bucket’s start' }),
  nature: nullable(Type.String({ description: 'with buckets, the lowest nature among the bucket’s rows' })),
  ...Object.fromEntries(ECO2MIX_SOURCES.map((s) => [s, nullable(Type.Number({ description: 'MW; with buckets, the mean of the bucket’s values' }))])),
});

const STAT_FIGURES = ['avg_mw', 'min_mw', 'max_mw', 'energy_mwh', 'completeness', 'share_of_consumption'] as const;

function statItem(r: Record<string, unknown>) {
  return {
    region: String(r.region_code),
    source: String(r.source),
    period: String(r.period),
    grain: String(r.grain),
    ...Object.fromEntries(STAT_FIGURES.map((c) => [c, num(r[c])])),
    samples: Number(r.samples),
    nature: (r.nature as string | null) ?? null,
    processed_at: isoInstant(r.processed_at),
  };
}

/** Each region's staging span, and FR's statistics span when it has statistics. */
async function regions(warehouse: Warehouse) {
  const [spans, france] = await Promise.all([
    rowsOrEmpty(
      warehouse,
      `SELECT region_code, max(region_name) AS region_name, min(observed_at) AS first_at, max(observed_at) AS last_at
       FROM regional_observations GROUP BY region_code`,
    ),
    rowsOrEmpty(warehouse, `SELECT min(period_start) AS first_at, max(period_start) AS last_at FROM regional_energy_stats WHERE region_code = $1`, [FRANCE]),
  ]);
  const items = spans.map((r) => {
    const code = String(r.region_code);
    return {
      code,
      name: regionName(code) ?? String(r.region_name),
      first_observed_at: isoInstant(r.first_at),
      last_observed_at: isoInstant(r.last_at),
    };
  });
  const fr = france[0];
  if (fr && fr.first_at !== null && fr.first_at !== undefined) {
    items.push({ code: FRANCE, name: FRANCE_NAME, first_observed_at: isoInstant(fr.first_at), last_observed_at: isoInstant(fr.last_at) });
  }
  return items.sort((a, b) => regionOrder(a.code, b.code));
}

/** The smallest ladder width (then whole days) that cuts `[start, end)` into at most `maxPoints` buckets. */
export function bucketSeconds(start: Date, end: Date, maxPoints: number): number {
  const least = (end.getTime() - start.getTime()) / 1000 / maxPoints;
  return BUCKET_LADDER_S.find((w) => w >= least) ?? Math.ceil(least / 86_400) * 86_400;
}

const OBSERVATION_COLUMNS = ['observed_at', 'nature', ...ECO2MIX_SOURCES];

async function observations(warehouse: Warehouse, code: string, start: Date, end: Date, maxPoints: number) {
  const params: SqlParam[] = [code, sqlInstant(start), sqlInstant(end)];
  const where = 'region_code = $1 AND observed_at >= CAST($2 AS TIMESTAMP) AND observed_at < CAST($3 AS TIMESTAMP)';
  const count = Number((await rowsOrEmpty(warehouse, `SELECT count(*) AS n FROM regional_observations WHERE ${where}`, params))[0]?.n ?? 0);
  const row = (r: Record<string, unknown>, at: unknown) => ({
    observed_at: isoInstant(at),
    nature: (r.nature as string | null) ?? null,
    ...Object.fromEntries(ECO2MIX_SOURCES.map((s) => [s, num(r[s])])),
  });
  if (count <= maxPoints) {
    const rows = await rowsOrEmpty(
      warehouse,
      `SELECT ${OBSERVATION_COLUMNS.join(', ')} FROM regional_observations WHERE ${where} ORDER BY observed_at`,
      params,
    );
    return { bucket_seconds: null, items: rows.map((r) => row(r, r.observed_at)) };
  }
  const width = bucketSeconds(start, end, maxPoints);
  params.push(start.getTime() / 1000, width);
  const [origin, size] = [params.length - 1, params.length];
  // Natures compare by precedence, not by spelling: the bucket's lowest is the one it may be revised from.
  const rankOf = `CASE nature ${ECO2MIX_NATURES.map((n) => `WHEN ${placeholders(params, [n])} THEN ${ECO2MIX_NATURES.indexOf(n) + 1}`).join(' ')} ELSE 0 END`;
  const sql = `SELECT b, min(${rankOf}) AS nature_rank, max(CASE WHEN nature IS NULL THEN 1 ELSE 0 END) AS any_null,
      ${ECO2MIX_SOURCES.map((s) => `avg(${s}) AS ${s}`).join(', ')}
    FROM (SELECT *, floor((extract(epoch FROM observed_at) - CAST($${origin} AS DOUBLE PRECISION)) / CAST($${size} AS DOUBLE PRECISION)) AS b
          FROM regional_observations WHERE ${where}) w
    GROUP BY b ORDER BY b`;
  const rows = await rowsOrEmpty(warehouse, sql, params);
  const items = rows.map((r) => {
    const rank = Number(r.nature_rank);
    const nature = Number(r.any_null) === 1 || rank === 0 ? null : (ECO2MIX_NATURES[rank - 1] ?? null);
    return row({ ...r, nature }, new Date(start.getTime() + Number(r.b) * width * 1000));
  });
  return { bucket_seconds: width, items };
}

export const eco2mixRoutes: readonly RouteSpec[] = [
  defineRoute({
    method: 'GET',
    url: '/energy/regions',
    summary: 'eco2mix regions that have data, with the first and last instant loaded',
    description:
      `Regions with staging rows, by INSEE code, with the first and last \`observed_at\` of \`regional_observations\`; a region without any is left out. ` +
      `\`${FRANCE}\` (France, the national totals) comes first when \`regional_energy_stats\` holds rows for it: it has no staging rows, so its span is the first and last \`period_start\` of its statistics.`,
    tags: ['eco2mix'],
    cacheable: true,
    schema: { response: { 200: Type.Object({ items: Type.Array(Region) }) } },
    async handler({ warehouse }) {
      return { items: await regions(warehouse) };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/energy/regions/:code/stats',
    summary: 'Hourly or daily statistics of a region per source (the latest figures of regional_energy_stats), paged',
    description:
      'Periods ascending, then sources in alphabetical order. `from`/`to` are Paris days, both inclusive: for grain `hour`, the hours from the start of `from` to the end of `to` in Paris time (a DST day has 23 or 25). ' +
      '`sources`: comma-separated, default every source. Definitions: docs/pipelines/eco2mix.md, _Curated statistics_.',
    tags: ['eco2mix'],
    cacheable: true,
    schema: {
      params: RegionParams,
      querystring: Type.Object({
        from: Type.Optional(Day('first day')),
        to: Type.Optional(Day('last day')),
        grain: Type.Union([Type.Literal('hour'), Type.Literal('day')], { default: 'day', description: 'hour or day (default)' }),
        sources: Type.Optional(
          Type.String({ description: `comma-separated, among ${ECO2MIX_SOURCES.join(', ')}; default all`, examples: ['consumption,wind'] }),
        ),
        ...Paging,
      }),
      response: {
        200: Type.Object({ items: Type.Array(EnergyStat), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }),
        400: ErrorBody,
        404: ErrorBody,
      },
    },
    async handler({ warehouse, params, query }) {
      const code = region(params.code);
      const sources = sourcesParam(query.sources);
      const p: SqlParam[] = [code, query.grain];
      const where = ['region_code = $1', 'grain = $2', `source IN (${placeholders(p, sources)})`];
      // The bounds are given twice: on `period_start`, which decides, and on `period`, a column the view
      // partitions by, which PostgreSQL pushes below the view's window onto the primary key's index.
      const periodOf = (local: string, d: Date) => (query.grain === 'day' ? local : (isoInstant(d) ?? ''));
      if (query.from !== undefined) {
        const start = dayBounds(day('from', query.from), DEFAULT_TIME_ZONE).from;
        p.push(sqlInstant(start), periodOf(query.from, start));
        where.push(`period_start >= CAST($${p.length - 1} AS TIMESTAMP)`, `period >= $${p.length}`);
      }
      if (query.to !== undefined) {
        const end = dayBounds(day('to', query.to), DEFAULT_TIME_ZONE).to;
        // The day after `to` for grain day: `period < next day` as text is `period <= to`.
        p.push(sqlInstant(end), query.grain === 'day' ? nextDay(query.to) : periodOf(query.to, end));
        where.push(`period_start < CAST($${p.length - 1} AS TIMESTAMP)`, `period < $${p.length}`);
      }
      if (query.from !== undefined && query.to !== undefined && query.from > query.to)
        throw badRequest(`from (${query.from}) must not be after to (${query.to})`);
      const cond = where.join(' AND ');
      const cols = `region_code, source, grain, period, ${STAT_FIGURES.join(', ')}, samples, nature, processed_at`;
      // limit and offset are integers checked by the route schema.
      const rows = await rowsOrEmpty(
        warehouse,
        `SELECT ${cols} FROM regional_energy_stats_latest WHERE ${cond} ORDER BY period_start, source LIMIT ${query.limit} OFFSET ${query.offset}`,
        p,
      );
      // A first page shorter than the limit is the whole list: no count query needed.
      const total =
        query.offset === 0 && rows.length < query.limit
          ? rows.length
          : Number((await rowsOrEmpty(warehouse, `SELECT count(*) AS n FROM regional_energy_stats_latest WHERE ${cond}`, p))[0]?.n ?? 0);
      return { items: rows.map(statItem), total, limit: query.limit, offset: query.offset };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/energy/mix',
    summary: 'Production mix per region over Paris days: each production source’s energy and its shares of production and consumption',
    description:
      `From the day-grain latest rows of \`regional_energy_stats\` whose day is in \`from\`…\`to\` (inclusive): per region (and ${FRANCE} when it has rows) and production source ` +
      `(${MIX_SOURCES.join(', ')}; not \`wind\`, the sum of onshore and offshore, which would count wind twice), the energy summed over the days, ` +
      'its share of the region’s production (the sum of those sources) and of its consumption (null without consumption). Days missing a source count nothing for it. ' +
      `Regions ${FRANCE} first, then by code; sources in the order above; a source without energy in the period is left out.`,
    tags: ['eco2mix'],
    cacheable: true,
    schema: {
      querystring: Type.Object({
        from: Day('first day'),
        to: Day('last day'),
        region: Type.Optional(Type.String({ minLength: 1, description: `INSEE region code or ${FRANCE}; default every region`, examples: ['53'] })),
      }),
      response: {
        200: Type.Object({ from: Type.String(), to: Type.String(), items: Type.Array(MixItem) }),
        400: ErrorBody,
        404: ErrorBody,
      },
    },
    async handler({ warehouse, query }) {
      const range = dayRange(query.from, query.to);
      const p: SqlParam[] = [range.from, range.to];
      const where = ["grain = 'day'", 'period >= $1', 'period <= $2', `source IN (${placeholders(p, ['consumption', ...MIX_SOURCES])})`];
      if (query.region !== undefined) {
        p.push(region(query.region));
        where.push(`region_code = $${p.length}`);
      }
      const rows = await rowsOrEmpty(
        warehouse,
        `SELECT region_code, source, sum(energy_mwh) AS energy_mwh FROM regional_energy_stats_latest WHERE ${where.join(' AND ')} GROUP BY region_code, source`,
        p,
      );
      const byRegion = new Map<string, Map<string, number>>();
      for (const r of rows) {
        const energy = num(r.energy_mwh);
        if (energy === null) continue;
        const code = String(r.region_code);
        const sources = byRegion.get(code) ?? new Map<string, number>();
        sources.set(String(r.source), energy);
        byRegion.set(code, sources);
      }
      const items = [...byRegion.keys()].sort(regionOrder).flatMap((code) => {
        const energies = byRegion.get(code) ?? new Map<string, number>();
        const production = MIX_SOURCES.reduce((sum, s) => sum + (energies.get(s) ?? 0), 0);
        const consumption = energies.get('consumption');
        return MIX_SOURCES.filter((s) => energies.has(s)).map((s) => {
          const energy = energies.get(s) ?? 0;
          return {
            region: code,
            source: s,
            energy_mwh: round6(energy),
            share_of_production: production > 0 ? round6(energy / production) : null,
            share_of_consumption: consumption !== undefined && consumption > 0 ? round6(energy / consumption) : null,
          };
        });
      });
      return { from: range.from, to: range.to, items };
    },
  }),
  defineRoute({
    method: 'GET',
    url: '/energy/regions/:code/observations',
    summary: 'Staging observations of a region over Paris days, downsampled to at most max_points by time buckets',
    description:
      '`from`/`to`: Paris days, both inclusive. When the window holds at most `max_points` rows they come as they are (`bucket_seconds` null); ' +
      'otherwise the window is cut, from the start of `from`, into buckets of `bucket_seconds` (15 or 30 minutes, 1, 2, 3, 6 or 12 hours, or whole days: the smallest giving at most `max_points`) ' +
      'and each bucket with rows gives one item at its start: every source the plain mean of its rows’ values, `nature` the lowest among them. ' +
      `${FRANCE} has no staging rows: its items are empty.`,
    tags: ['eco2mix'],
    cacheable: true,
    schema: {
      params: RegionParams,
      querystring: Type.Object({
        from: Day('first day'),
        to: Day('last day'),
        max_points: Type.Integer({ minimum: 1, maximum: MAX_POINTS, default: DEFAULT_MAX_POINTS, description: 'at most this many items' }),
      }),
      response: {
        200: Type.Object({
          region: Type.String(),
          from: Type.String(),
          to: Type.String(),
          bucket_seconds: nullable(Type.Integer({ description: 'the buckets’ width; null when the rows come as they are' })),
          items: Type.Array(Observation),
        }),
        400: ErrorBody,
        404: ErrorBody,
      },
    },
    async handler({ warehouse, params, query }) {
      const code = region(params.code);
      const range = dayRange(query.from, query.to);
      const { bucket_seconds, items } = await observations(warehouse, code, range.start, range.end, query.max_points);
      return { region: code, from: range.from, to: range.to, bucket_seconds, items };
    },
  }),
];
