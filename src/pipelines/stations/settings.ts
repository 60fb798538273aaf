import { z } from 'zod';
import { DEFAULT_WU_STATIONS, stationConfigSchema, type StationConfig } from '../../connectors/wunderground/stations.js';
import { pipelineConfig } from '../kit/settings.js';

export interface StationsSettings {
  /** Stations described by configuration: the Weather Underground ones (their exports carry no metadata), and any the user describes. */
  stations: readonly StationConfig[];
  infoclimatUrl: string;
  /** InfoClimat open-data token (secret); scheduled runs fetch the previous day when it is set. */
  infoclimatToken: string | undefined;
}

/** `pipelines.stations` of `ecluse.config.json`. */
export const stationsConfig = pipelineConfig({
  name: 'stations',
  schema: z
    .object({
      /** Replaces the default list (the two GreenAndCoop Weather Underground stations): repeat them to keep them. */
      stations: z.array(stationConfigSchema).optional(),
      infoclimat_url: z.string().min(1).optional(),
      infoclimat_token: z.string().min(1).optional(),
    })
    .strict(),
  env: [
    { name: 'ECLUSE_INFOCLIMAT_URL', key: 'infoclimat_url', description: 'InfoClimat open-data API (default https://www.infoclimat.fr/opendata/)' },
    {
      name: 'ECLUSE_INFOCLIMAT_TOKEN',
      key: 'infoclimat_token',
      description: 'InfoClimat open-data token: scheduled runs fetch the previous day',
      secret: true,
    },
  ],
  resolve: (s): StationsSettings => ({
    stations: s.stations ?? DEFAULT_WU_STATIONS,
    infoclimatUrl: s.infoclimat_url ?? 'https://www.infoclimat.fr/opendata/',
    infoclimatToken: s.infoclimat_token,
  }),
});
