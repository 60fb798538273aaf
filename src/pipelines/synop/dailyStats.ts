import { literal } from '../../engine/duckdb.js';
import type { Dataset } from '../../warehouse/dataset.js';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';

/** Three-hourly SYNOP slots: the observations a complete day holds are the 00, 03, … 21 UTC ones inside it. */
const SLOT_SECONDS = 3 * 3600;

/** Columns of `synop.daily_city_stats`, in order; the key is (numer_sta, day). */
export const DAILY_STATS_COLUMNS = [
  'numer_sta',
  'day',
  'temperature_min_c',
  'temperature_avg_c',
  'temperature_max_c',
  'pressure_min_hpa',
  'pressure_avg_hpa',
  'pressure_max_hpa',
  'wind_avg_kmh',
  'wind_max_kmh',
  'gust_max_kmh',
  'rainfall_mm',
  'hours_with_rain',
  'observations',
  'completeness',
] as const;

/** The curated table: recomputed for the days a run touches, replacing what was there. */
export const DAILY_CITY_STATS: Dataset = {
  name: 'daily_city_stats',
  columns: DAILY_STATS_COLUMNS.map(
    (c) =>
      [c, c === 'numer_sta' ? 'VARCHAR' : c === 'day' ? 'DATE' : c === 'hours_with_rain' || c === 'observations' ? 'INTEGER' : 'DOUBLE PRECISION'] as const,
  ),
  primaryKey: ['numer_sta', 'day'],
};

/**
 * DuckDB SQL computing the daily statistics of the observations in `source` (a table or a parenthesised
 * query with the staging columns `numer_sta, observed_at` (UTC), `temperature_c`, `pressure_sea_hpa`,
 * `wind_speed_kmh`, `gust_kmh`, `precip_3h_mm`, `precip_3h_trace`), per station and calendar day in `timeZone`:
 * - temperatures from the observations' own `temperature_c`, never the period extremes `tn*`/`tx*`;
 * - rainfall = sum of `rr3` (a trace counts 0; NULL when every value is missing);
 * - `hours_with_rain` = 3 × observations with `rr3` > 0 or a trace;
 * - `completeness` = observations ÷ the 3-hourly UTC slots inside the local day (8 on a day of 24, 23 or 25
 *   hours in Paris; a zone off the 3-hour grid gets its own count).
 * Sums and averages run in time order: a floating-point sum depends on its order, and the rows come in
 * whatever order the run, the lake or the warehouse hold them; the same day must give the same figures.
 * The time zone is a literal (an IANA name checked by the caller), since DuckDB does not bind it as a parameter in `AT TIME ZONE`.
 */
export function dailyStatsSql(source: string, timeZone = DEFAULT_TIME_ZONE): string {
  const tz = literal(timeZone);
  return `
    WITH o AS (
      SELECT *, CAST(timezone(${tz}, timezone('UTC', observed_at)) AS DATE) AS day
      FROM ${source}
    ), d AS (
      SELECT numer_sta, day,
        min(temperature_c) AS temperature_min_c, avg(temperature_c ORDER BY observed_at) AS temperature_avg_c, max(temperature_c) AS temperature_max_c,
        min(pressure_sea_hpa) AS pressure_min_hpa, avg(pressure_sea_hpa ORDER BY observed_at) AS pressure_avg_hpa, max(pressure_sea_hpa) AS pressure_max_hpa,
        avg(wind_speed_kmh ORDER BY observed_at) AS wind_avg_kmh, max(wind_speed_kmh) AS wind_max_kmh,
        max(gust_kmh) AS gust_max_kmh,
        sum(precip_3h_mm ORDER BY observed_at) AS rainfall_mm,
        3 * count(*) FILTER (WHERE precip_3h_mm > 0 OR precip_3h_trace) AS hours_with_rain,
        count(*) AS observations
      FROM o GROUP BY numer_sta, day
    ), b AS (
      SELECT *, epoch(timezone(${tz}, day::TIMESTAMP)) AS start_s, epoch(timezone(${tz}, (day + 1)::TIMESTAMP)) AS end_s FROM d
    )
    SELECT ${DAILY_STATS_COLUMNS.filter((c) => c !== 'completeness').join(', ')},
      observations / (ceil(end_s / ${SLOT_SECONDS}) - ceil(start_s / ${SLOT_SECONDS})) AS completeness
    FROM b`;
}
