/**
 * Home → office distances, through providers tried in order: the HR file's distance column when it has one,
 * else the geocoder when one is configured, else none (the declaration is accepted, shown as unchecked).
 */
import type { Distance } from './rules.js';

/** What a provider needs of an employee. */
export interface DistanceQuery {
  employee_id: number;
  home_address: string | null;
  declared_distance_km: number | null;
}

export interface DistanceProvider {
  readonly name: string;
  /** A distance per employee id: `km` null with a reason when this provider knows none. */
  distances(employees: readonly DistanceQuery[]): Promise<Map<number, Distance>>;
}

const none = (reason: string): Distance => ({ km: null, source: null, reason });

/** Rounded to 0.1 km: more would be a precision no address has. */
export const roundKm = (km: number) => Math.round(km * 10) / 10;

/** (a) The HR file's `declared_distance_km`, when present. */
export const hrFileDistances: DistanceProvider = {
  name: 'hr-file',
  distances(employees) {
    const out = new Map<number, Distance>();
    for (const e of employees) {
      const declared = e.declared_distance_km;
      out.set(
        e.employee_id,
        declared !== null && Number.isFinite(declared) && declared >= 0
          ? { km: roundKm(declared), source: 'hr-file', reason: null }
          : none('no distance in the HR file'),
      );
    }
    return Promise.resolve(out);
  },
};

/** (c) No provider configured: the offline default. */
export const noDistances: DistanceProvider = {
  name: 'none',
  distances(employees) {
    return Promise.resolve(new Map(employees.map((e) => [e.employee_id, none('no distance in the HR file and no geocoder configured')])));
  },
};

/**
 * The first distance each employee gets from the providers, in order (an employee the HR file gives a
 * distance is never asked to the next ones); without any, the last provider's reason.
 */
export function chainDistances(providers: readonly DistanceProvider[]): DistanceProvider {
  return {
    name: providers.map((p) => p.name).join(' → '),
    async distances(employees) {
      const out = new Map<number, Distance>();
      let left = [...employees];
      for (const p of providers) {
        if (left.length === 0) break;
        const got = await p.distances(left);
        for (const e of left) out.set(e.employee_id, got.get(e.employee_id) ?? none(`no distance from ${p.name}`));
        left = left.filter((e) => out.get(e.employee_id)?.km === null);
      }
      for (const e of left) if (!out.has(e.employee_id)) out.set(e.employee_id, none('no distance provider'));
      return out;
    },
  };
}

const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle distance between two [longitude, latitude] points (degrees), km. */
export function haversineKm([lon1, lat1]: readonly [number, number], [lon2, lat2]: readonly [number, number]): number {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}
