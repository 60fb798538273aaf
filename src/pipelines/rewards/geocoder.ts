/**
 * (b) Distances from the French national address API (`GET /search?q=…&limit=1`, GeoJSON): each address,
 * the office's included, is geocoded once and kept in `rewards_geocodes` — "not found" too, as null
 * coordinates, so it is not asked again; the distance is the great circle × the rules' road factor.
 */
import type { Logger } from 'pino';
import { request, type RequestFailure } from '../../connectors/http/request.js';
import type { SqlParam, Warehouse } from '../../warehouse/warehouse.js';
import { haversineKm, roundKm, type DistanceProvider } from './distance.js';
import type { Distance } from './rules.js';
import { REWARDS_GEOCODES } from './schema.js';

class GeocoderError extends Error {
  override name = 'GeocoderError';
}

/** A cached answer: coordinates, or null ones for an address the API did not find. */
export interface Geocode {
  address: string;
  coordinates: [lon: number, lat: number] | null;
  label: string | null;
  score: number | null;
}

export interface GeocoderOptions {
  /** The API's base URL (`https://api-adresse.data.gouv.fr`); `/search` is appended. */
  url: string;
  warehouse: Warehouse;
  office: string;
  roadFactor: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  log?: Logger;
  timeoutMs?: number;
  attempts?: number;
  backoffMs?: number;
}

/** The key addresses are cached under: spacing does not make another address. */
const addressKey = (address: string) => address.trim().replace(/\s+/g, ' ');

interface FeatureCollection {
  features?: { geometry?: { coordinates?: unknown }; properties?: { label?: unknown; score?: unknown } }[];
}

function parseAnswer(address: string, body: FeatureCollection): Geocode {
  const f = body.features?.[0];
  const c = f?.geometry?.coordinates;
  if (!Array.isArray(c) || typeof c[0] !== 'number' || typeof c[1] !== 'number') return { address, coordinates: null, label: null, score: null };
  return {
    address,
    coordinates: [c[0], c[1]],
    label: typeof f?.properties?.label === 'string' ? f.properties.label : null,
    score: typeof f?.properties?.score === 'number' ? f.properties.score : null,
  };
}

/** One address asked to the API (timeouts, retries on 5xx, 429 and network errors). */
async function geocodeAddress(
  address: string,
  opts: Pick<GeocoderOptions, 'url' | 'fetch' | 'signal' | 'timeoutMs' | 'attempts' | 'backoffMs'>,
): Promise<Geocode> {
  const url = new URL(`${opts.url.replace(/\/+$/, '')}/search`);
  url.searchParams.set('q', address);
  url.searchParams.set('limit', '1');
  const backoff = opts.backoffMs ?? 500;
  const describe = (f: RequestFailure) =>
    f.kind === 'status' ? `HTTP ${f.status}${f.body ? `: ${f.body.slice(0, 200)}` : ''}` : `${f.timedOut ? 'timed out' : f.why} (${f.during})`;
  const body = await request(url, {
    headers: { accept: 'application/json' },
    fetch: opts.fetch,
    signal: opts.signal,
    timeoutMs: opts.timeoutMs ?? 10_000,
    idleTimeout: false,
    attempts: opts.attempts ?? 3,
    delayMs: (i, waitMs) => waitMs ?? backoff * 2 ** i,
    maxServerWaitMs: 30_000,
    waitTooLong: (last, waitMs) => new GeocoderError(`${last.message} (the geocoder asks to retry after ${Math.ceil(waitMs / 1000)} s)`),
    exhausted: (last, attempts) => new GeocoderError(`${last.message} (after ${attempts} attempts)`),
    error: (f, shown) => new GeocoderError(`geocoder ${shown}: ${describe(f)}`),
    onBody: async (res) => (await res.json()) as FeatureCollection,
  });
  return parseAnswer(address, body);
}

async function cached(warehouse: Warehouse, addresses: readonly string[]): Promise<Map<string, Geocode>> {
  const out = new Map<string, Geocode>();
  if (addresses.length === 0) return out;
  const wanted = new Set(addresses);
  // The cache holds the company's addresses (hundreds): read whole, filtered here.
  for (const r of await warehouse.query(`SELECT address, longitude, latitude, label, score FROM rewards_geocodes`)) {
    const address = String(r.address);
    if (!wanted.has(address)) continue;
    const lon = r.longitude === null ? null : Number(r.longitude);
    const lat = r.latitude === null ? null : Number(r.latitude);
    out.set(address, {
      address,
      coordinates: lon === null || lat === null ? null : [lon, lat],
      label: r.label === null ? null : String(r.label),
      score: r.score === null ? null : Number(r.score),
    });
  }
  return out;
}

/**
 * Geocodes the addresses not cached yet and stores the answers (found or not); an address the API could not
 * answer (down after the retries) is not stored, and the ones after it are not asked: the next refresh
 * tries again. Returns every address's geocode known now.
 */
export async function geocodeAll(addresses: readonly string[], opts: GeocoderOptions): Promise<{ geocodes: Map<string, Geocode>; failure: string | null }> {
  const { warehouse } = opts;
  await warehouse.ensureDataset(REWARDS_GEOCODES);
  const unique = [...new Set(addresses.map(addressKey).filter((a) => a.length > 0))];
  const geocodes = await cached(warehouse, unique);
  const fresh: Geocode[] = [];
  let failure: string | null = null;
  for (const address of unique) {
    if (geocodes.has(address)) continue;
    try {
      const g = await geocodeAddress(address, opts);
      geocodes.set(address, g);
      fresh.push(g);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      failure = err instanceof Error ? err.message : String(err);
      opts.log?.warn({ err }, 'geocoder unavailable: the remaining distances stay unchecked until the next refresh');
      break;
    }
  }
  if (fresh.length > 0) {
    const at = new Date().toISOString().slice(0, 23).replace('T', ' ');
    const rows: SqlParam[][] = fresh.map((g) => [g.address, g.coordinates?.[0] ?? null, g.coordinates?.[1] ?? null, g.label, g.score, at]);
    await warehouse.transaction(async () => {
      for (let i = 0; i < rows.length; i += 500) await warehouse.upsert(REWARDS_GEOCODES, rows.slice(i, i + 500));
    });
    opts.log?.info({ geocoded: fresh.length, found: fresh.filter((g) => g.coordinates).length }, 'addresses geocoded');
  }
  return { geocodes, failure };
}

/** The geocoder as a distance provider. */
export function geocoderDistances(opts: GeocoderOptions): DistanceProvider {
  return {
    name: 'geocoder',
    async distances(employees) {
      const out = new Map<number, Distance>();
      const office = addressKey(opts.office);
      const { geocodes, failure } = await geocodeAll([office, ...employees.map((e) => e.home_address ?? '')], opts);
      const officeAt = geocodes.get(office);
      for (const e of employees) {
        const home = addressKey(e.home_address ?? '');
        const at = geocodes.get(home);
        let d: Distance;
        if (!home) d = { km: null, source: null, reason: 'no home address' };
        else if (!officeAt) d = { km: null, source: null, reason: `the geocoder could not be asked (${failure ?? 'office not geocoded'})` };
        else if (!officeAt.coordinates) d = { km: null, source: null, reason: `office address not found by the geocoder: ${office}` };
        else if (!at) d = { km: null, source: null, reason: `the geocoder could not be asked (${failure ?? 'not geocoded'})` };
        else if (!at.coordinates) d = { km: null, source: null, reason: `home address not found by the geocoder: ${home}` };
        else d = { km: roundKm(haversineKm(at.coordinates, officeAt.coordinates) * opts.roadFactor), source: 'geocoder', reason: null };
        out.set(e.employee_id, d);
      }
      return out;
    },
  };
}
