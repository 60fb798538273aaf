/**
 * Stations described by configuration (`pipelines.stations.stations`): Weather Underground exports carry no
 * metadata, and a user may describe any station herself. Here, not in the stations pipeline, because the
 * Weather Underground reader and the sample generator (connectors) need them too.
 */
import { z } from 'zod';
import { DEFAULT_TIME_ZONE } from '../../time/zones.js';

/** A station whose metadata is not in its data files (Weather Underground) or that we want to describe ourselves. */
export const stationConfigSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  city: z.string(),
  country: z.string().length(2).optional(),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  elevation_m: z.number().nullable().default(null),
  type: z.string().default('wunderground'),
  hardware: z.string().nullable().default(null),
  software: z.string().nullable().default(null),
  timezone: z.string().default(DEFAULT_TIME_ZONE),
  license: z.string().nullable().default(null),
});
export type StationConfig = z.infer<typeof stationConfigSchema>;

/** The two amateur stations GreenAndCoop integrates; their metadata is not in the WU exports. */
export const DEFAULT_WU_STATIONS: StationConfig[] = [
  {
    id: 'IICHTE19',
    name: 'WeerstationBS',
    city: 'Ichtegem',
    country: 'BE',
    latitude: 51.092,
    longitude: 2.999,
    elevation_m: 15,
    type: 'wunderground',
    hardware: 'other',
    software: 'EasyWeatherV1.6.6',
    timezone: 'Europe/Brussels',
    license: null,
  },
  {
    id: 'ILAMAD25',
    name: 'La Madeleine',
    city: 'La Madeleine',
    country: 'FR',
    latitude: 50.659,
    longitude: 3.07,
    elevation_m: 23,
    type: 'wunderground',
    hardware: 'other',
    software: 'EasyWeatherPro_V5.1.6',
    timezone: DEFAULT_TIME_ZONE,
    license: null,
  },
];
