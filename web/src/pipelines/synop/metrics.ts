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
