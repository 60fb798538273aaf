import type { ApiItem } from '../../lib/api.js';

/** The synop pipeline's answers, as its pages read them (types from the server's OpenAPI). */
export type City = ApiItem<'/curated/cities'>;
/** One day of a city's curated statistics. */
export type CityDay = ApiItem<'/curated/cities/{city}'>;
