import type { Dataset } from '../../warehouse/dataset.js';

/** The canonical `stations` and `reports` tables (docs/pipelines/stations.md, _Tables_). */

export const MEASURES = [
  'temperature_c',
  'dew_point_c',
  'humidity_pct',
  'wind_direction_deg',
  'wind_speed_kmh',
  'wind_gust_kmh',
  'pressure_hpa',
  'precip_1h_mm',
  'precip_3h_mm',
  'precip_rate_mm_h',
  'precip_accum_mm',
  'snow_depth_cm',
  'cloud_cover_okta',
  'visibility_m',
  'weather_code',
  'uv_index',
  'solar_w_m2',
] as const;
export type Measure = (typeof MEASURES)[number];

/** Physical ranges: a value outside is rejected (and the report kept with that field null). */
export const RANGES: Record<Measure, { min?: number; max?: number; integer?: boolean }> = {
  temperature_c: { min: -60, max: 60 },
  dew_point_c: { min: -60, max: 60 },
  humidity_pct: { min: 0, max: 100 },
  wind_direction_deg: { min: 0, max: 360 },
  wind_speed_kmh: { min: 0 },
  wind_gust_kmh: { min: 0 },
  pressure_hpa: { min: 850, max: 1100 },
  precip_1h_mm: { min: 0 },
  precip_3h_mm: { min: 0 },
  precip_rate_mm_h: { min: 0 },
  precip_accum_mm: { min: 0 },
  snow_depth_cm: { min: 0 },
  cloud_cover_okta: { min: 0, max: 9 },
  visibility_m: { min: 0 },
  weather_code: { min: 0, max: 199, integer: true },
  uv_index: { min: 0, max: 20 },
  solar_w_m2: { min: 0, max: 2000 },
};

export const REPORT_COLUMNS = ['station_id', 'observed_at', ...MEASURES, 'source', 'raw_file'] as const;

export const STATION_COLUMNS = ['id', 'name', 'city', 'latitude', 'longitude', 'elevation_m', 'type', 'hardware', 'software', 'timezone', 'license'] as const;

/** `reports`, keyed by (station_id, observed_at); instants are UTC. */
export const REPORTS: Dataset = {
  name: 'reports',
  columns: [
    ['station_id', 'VARCHAR'],
    ['observed_at', 'TIMESTAMP'],
    ...MEASURES.map((m) => [m, m === 'weather_code' ? 'INTEGER' : 'DOUBLE PRECISION'] as const),
    ['source', 'VARCHAR'],
    ['raw_file', 'VARCHAR'],
  ],
  primaryKey: ['station_id', 'observed_at'],
  required: ['source', 'raw_file'],
};

export const STATIONS: Dataset = {
  name: 'stations',
  columns: STATION_COLUMNS.map((c) => [c, ['latitude', 'longitude', 'elevation_m'].includes(c) ? 'DOUBLE PRECISION' : 'VARCHAR'] as const),
  primaryKey: ['id'],
};

export interface StationRow {
  id: string;
  name: string | null;
  city: string | null;
  latitude: number | null;
  longitude: number | null;
  elevation_m: number | null;
  type: string | null;
  hardware: string | null;
  software: string | null;
  timezone: string | null;
  license: string | null;
}
