import { isDay } from './days.js';

/** An instant with its offset: a bare local time would have to be read in some zone, a guess. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/** True for an ISO 8601 instant carrying `Z` or an offset, that names a real time. */
export function isInstant(value: string): boolean {
  return INSTANT.test(value) && !Number.isNaN(Date.parse(value)) && isDay(value.slice(0, 10));
}
