/** What each measure is called and measured in, for chart titles, axes and tooltips. */

export interface MeasureInfo {
  label: string;
  unit: string;
  decimals: number;
}

export const STATION_MEASURES: Record<string, MeasureInfo> = {
  temperature_c: { label: 'Temperature', unit: '°C', decimals: 1 },
  dew_point_c: { label: 'Dew point', unit: '°C', decimals: 1 },
  humidity_pct: { label: 'Humidity', unit: '%', decimals: 0 },
  wind_speed_kmh: { label: 'Wind', unit: 'km/h', decimals: 1 },
  wind_gust_kmh: { label: 'Gusts', unit: 'km/h', decimals: 1 },
  pressure_hpa: { label: 'Pressure', unit: 'hPa', decimals: 1 },
  precip_1h_mm: { label: 'Precipitation (1 h)', unit: 'mm', decimals: 1 },
};

/** The station page's charts: one per physical quantity, so series on a chart share a unit. */
export const STATION_CHARTS: ReadonlyArray<{ id: string; title: string; unit: string; measures: readonly string[]; kind: 'line' | 'bar' }> = [
  { id: 'temperature', title: 'Temperature and dew point', unit: '°C', measures: ['temperature_c', 'dew_point_c'], kind: 'line' },
  { id: 'humidity', title: 'Humidity', unit: '%', measures: ['humidity_pct'], kind: 'line' },
  { id: 'wind', title: 'Wind and gusts', unit: 'km/h', measures: ['wind_speed_kmh', 'wind_gust_kmh'], kind: 'line' },
  { id: 'pressure', title: 'Pressure', unit: 'hPa', measures: ['pressure_hpa'], kind: 'line' },
  { id: 'precipitation', title: 'Precipitation', unit: 'mm', measures: ['precip_1h_mm'], kind: 'bar' },
];

export type CityMetric = 'temperature' | 'pressure' | 'wind' | 'rainfall';

/** The Cities page's metrics: which daily columns make the min/avg/max band, and the callouts' words. */
export interface CityMetricInfo {
  label: string;
  unit: string;
  min: string | null;
  avg: string | null;
  max: string;
  /** "Maximum temperature", "Maximum gust"… */
  maxLabel: string;
  minLabel: string | null;
}

export const CITY_METRICS: Record<CityMetric, CityMetricInfo> = {
  temperature: {
    label: 'Temperature',
    unit: '°C',
    min: 'temperature_min_c',
    avg: 'temperature_avg_c',
    max: 'temperature_max_c',
    maxLabel: 'Maximum temperature',
    minLabel: 'Minimum temperature',
  },
  pressure: {
    label: 'Pressure',
    unit: 'hPa',
    min: 'pressure_min_hpa',
    avg: 'pressure_avg_hpa',
    max: 'pressure_max_hpa',
    maxLabel: 'Maximum pressure',
    minLabel: 'Minimum pressure',
  },
  wind: { label: 'Wind', unit: 'km/h', min: null, avg: 'wind_avg_kmh', max: 'gust_max_kmh', maxLabel: 'Strongest gust', minLabel: null },
  rainfall: { label: 'Rainfall', unit: 'mm', min: null, avg: null, max: 'rainfall_mm', maxLabel: 'Wettest day', minLabel: null },
};

export function isCityMetric(s: string | null | undefined): s is CityMetric {
  return s === 'temperature' || s === 'pressure' || s === 'wind' || s === 'rainfall';
}

/** "Temperature (°C)" for an axis name. */
export function axisLabel(label: string, unit: string): string {
  return unit ? `${label} (${unit})` : label;
}
