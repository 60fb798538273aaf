import type { ApiGet, ApiItem } from '../../lib/api.js';

/** The eco2mix pipeline's answers, as the Energy page reads them (types from the server's OpenAPI). */

/** A region with data (`FR`: France, the national totals, when the stats hold them; it has no instants). */
export type EnergyRegion = ApiItem<'/energy/regions'>;
/** A source over an hour (`period`: the UTC instant it starts) or a Paris day (`YYYY-MM-DD`). */
export type EnergyStat = ApiItem<'/energy/regions/{code}/stats'>;
/** The production sources' energy over a range, and their shares. */
export type EnergyMix = ApiGet<'/energy/mix'>;
export type MixItem = ApiItem<'/energy/mix'>;
/** A region's instants (or buckets' means, `bucket_seconds` wide), power in MW by source. */
export type EnergyObservations = ApiGet<'/energy/regions/{code}/observations'>;
export type EnergyObservation = ApiItem<'/energy/regions/{code}/observations'>;
