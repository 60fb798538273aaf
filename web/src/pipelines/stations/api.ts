import type { ApiGet, ApiItem } from '../../lib/api.js';

/** The stations pipeline's answers, as its pages read them (types from the server's OpenAPI). */
export type StationStat = ApiItem<'/dashboard/stations'>;
export type Station = ApiGet<'/stations/{id}'>;
export type Report = ApiItem<'/stations/{id}/reports'>;
