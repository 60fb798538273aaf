import type { MeasureInfo } from '../../lib/units.js';

/** What each station measure is called and measured in, for chart titles, axes and tooltips. */
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
