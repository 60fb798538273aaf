/**
 * The eco2mix pipeline's answers, as the Energy page reads them (docs/API.md, the energy routes). Written
 * from the routes' contract until the server's OpenAPI document carries them.
 */

/** A region of `GET /energy/regions` (`FR`: France, the sum of the regions, when the server computes it). */
export interface EnergyRegion {
  code: string;
  name: string;
  first_observed_at: string | null;
  last_observed_at: string | null;
}

/** One row of `GET /energy/regions/{code}/stats`: a source over an hour (UTC instant) or a Paris day. */
export interface EnergyStat {
  region: string;
  source: string;
  period: string;
  grain: 'hour' | 'day';
  avg_mw: number | null;
  min_mw: number | null;
  max_mw: number | null;
  energy_mwh: number | null;
  samples: number;
  completeness: number | null;
  share_of_consumption: number | null;
  nature: string | null;
  processed_at: string;
}

/** One source of `GET /energy/mix`: its energy over the range and its shares. */
export interface MixItem {
  region: string;
  source: string;
  energy_mwh: number | null;
  share_of_production: number | null;
  share_of_consumption: number | null;
}

export interface EnergyMix {
  from: string;
  to: string;
  items: MixItem[];
}

/** One instant of `GET /energy/regions/{code}/observations`, power in MW by source. */
export interface EnergyObservation {
  observed_at: string;
  nature: string | null;
  consumption: number | null;
  thermal: number | null;
  nuclear: number | null;
  wind: number | null;
  wind_onshore: number | null;
  wind_offshore: number | null;
  solar: number | null;
  hydro: number | null;
  pumping: number | null;
  bioenergy: number | null;
  battery_charge: number | null;
  battery_discharge: number | null;
  exchanges: number | null;
}

export interface EnergyObservations {
  region: string;
  from: string;
  to: string;
  bucket_seconds: number | null;
  items: EnergyObservation[];
}
