/**
 * The Slack congratulation, in French: `Bravo Juliette Mendes ! Vous avez fait 2 heures de Randonnée le
 * dimanche 17 août 2025`, with the distance first for distance sports (`10,4 km de Runing en 58 minutes`).
 */

/** Who to congratulate. */
export interface EmployeeName {
  first_name: string;
  last_name: string;
}

/** What of an activity the message tells. */
export interface ActivityFacts {
  employee_id: number;
  /** An instant (Date, or ISO string as the change events carry it). */
  started_at: Date | string;
  elapsed_s: number;
  /** As declared (`Runing` stays `Runing`: it is the employee's word). */
  sport: string;
  /** Metres, for distance sports; null (or absent) otherwise. */
  distance_m?: number | null;
}

const PARIS = 'Europe/Paris';

const dateFormat = new Intl.DateTimeFormat('fr-FR', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: PARIS });

/** One decimal, decimal comma, no grouping (a narrow no-break space reads oddly in a chat line). */
const kmFormat = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1, useGrouping: false });

/**
 * A duration in French words, to the nearest minute (at least one): under an hour `1 minute`, `45 minutes`;
 * whole hours `1 heure`, `2 heures`; otherwise hours and two-digit minutes as said aloud, `1 heure 30`,
 * `2 heures 05`.
 */
export function frenchDuration(seconds: number): string {
  const total = Math.max(1, Math.round(seconds / 60));
  const hours = Math.floor(total / 60);
  const minutes = total % 60;
  if (hours === 0) return `${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`;
  const h = `${hours} ${hours === 1 ? 'heure' : 'heures'}`;
  return minutes === 0 ? h : `${h} ${String(minutes).padStart(2, '0')}`;
}

/**
 * The day of an instant in Paris, `dimanche 17 août 2025`; the first of a month is `1er` as French writes it
 * (ICU of Node 20 prints a bare `1`).
 */
export function frenchDate(instant: Date): string {
  return dateFormat
    .formatToParts(instant)
    .map((p) => (p.type === 'day' && p.value === '1' ? '1er' : p.value))
    .join('');
}

/** Kilometres with one decimal and a decimal comma: `10,4 km`, `5 km`. */
export function frenchKm(metres: number): string {
  return `${kmFormat.format(metres / 1000)} km`;
}

/** `de Randonnée`, but `d'Escalade`, `d'Équitation` (elision before a vowel; an h is left alone, aspirated or not). */
function ofSport(sport: string): string {
  return /^[aeiouàâäéèêëîïôöùûüœæ]/i.test(sport) ? `d'${sport}` : `de ${sport}`;
}

/**
 * The message for one activity. `name` null (an employee HR has not imported yet) names them by id,
 * `l'employé·e 42`, rather than holding the congratulation back.
 */
export function congratulation(name: EmployeeName | null | undefined, activity: ActivityFacts): string {
  const who = name ? `${name.first_name} ${name.last_name}`.trim() : `l'employé·e ${activity.employee_id}`;
  const duration = frenchDuration(activity.elapsed_s);
  const day = frenchDate(new Date(activity.started_at));
  const distance = activity.distance_m;
  const what =
    distance !== null && distance !== undefined && distance > 0
      ? `${frenchKm(distance)} ${ofSport(activity.sport)} en ${duration}`
      : `${duration} ${ofSport(activity.sport)}`;
  return `Bravo ${who} ! Vous avez fait ${what} le ${day}`;
}
