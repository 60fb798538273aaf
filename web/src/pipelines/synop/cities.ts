import type { City } from './api.js';

/**
 * The Cities page's names for a city. A synop station without a name has neither name nor slug (both are
 * null in the API's answer): its station number stands in for both, and the API's `{city}` takes it too.
 */

type CityNames = Pick<City, 'numer_sta' | 'name' | 'slug'>;

/** The city's key in links, the select's values and `/curated/cities/{city}`. */
export function cityKey(c: CityNames): string {
  return c.slug ?? c.numer_sta;
}

/** What the page calls the city. */
export function cityName(c: CityNames): string {
  return c.name ?? c.numer_sta;
}

/** The city a link names, by slug, station number or name (case ignored), or undefined. */
export function findCity<C extends CityNames>(cities: readonly C[], wanted: string | undefined): C | undefined {
  if (wanted === undefined) return undefined;
  const lower = wanted.toLowerCase();
  return cities.find((c) => c.slug === lower || c.numer_sta === wanted || c.name?.toLowerCase() === lower);
}
