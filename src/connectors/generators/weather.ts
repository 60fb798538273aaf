/**
 * A weather model for Hauts-de-France and western Belgium, good enough to make realistic test data.
 *
 * A `Region` holds what all stations share: a slow synoptic background (pressure, temperature anomaly,
 * wind, cloud, wind direction) and a list of fronts crossing the region from the west every few days.
 * A `StationWeather` turns it into one station's continuous series at a fixed time step: seasonal and
 * diurnal temperature cycle (minimum near sunrise, maximum mid-afternoon), the front passing at the
 * station a few hours earlier or later than at its neighbours (pressure trough, wind and gusts, rain
 * burst, warm sector then colder and drier air, wind veering), plus the station's own offsets and noise.
 * Values stay physical: dew point ≤ temperature, humidity from the Magnus formula, gusts ≥ speed,
 * solar radiation following the sun, UV from the sun height and the cloud cover.
 */
import { Rng } from './random.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const RAD = Math.PI / 180;

/** Where a station is. `coastal`, `urban`, `exposure` are derived or defaulted when absent. */
export interface Site {
  latitude: number;
  longitude: number;
  /** Metres above sea level. */
  elevation: number;
  /** 0 (inland) … 1 (on the shore): milder nights, smaller daily range, more wind. */
  coastal?: number;
  /** 0 … 1: urban heat island (warmer nights), sheltered wind. */
  urban?: number;
  /** Wind exposure of the anemometer, around 1 (0.5 sheltered garden … 1.4 open field or mast). */
  exposure?: number;
}

export interface WeatherSample {
  /** Epoch milliseconds, UTC. */
  time: number;
  /** °C */
  temperature: number;
  /** °C, ≤ temperature */
  dewPoint: number;
  /** %, 0…100, from temperature and dew point (Magnus) */
  humidity: number;
  /** Mean sea-level pressure, hPa */
  pressure: number;
  /** Mean wind, km/h, ≥ 0 (0 = calm) */
  windSpeed: number;
  /** Gust, km/h, ≥ windSpeed (0 when calm) */
  windGust: number;
  /** Direction the wind blows from, degrees [0, 360) */
  windDirection: number;
  /** Instantaneous precipitation rate, mm/h */
  precipRate: number;
  /** Precipitation fallen during the step ending at `time`, mm */
  precipitation: number;
  /** True when the precipitation is showery (convective) */
  showers: boolean;
  /** Fraction of sky covered, 0…1 */
  cloudCover: number;
  /** Global horizontal irradiance, W/m², 0 at night */
  solar: number;
  /** UV index, ≥ 0 */
  uv: number;
  /** Horizontal visibility, m */
  visibility: number;
  /** Snow depth, cm */
  snowDepth: number;
  /** WMO present-weather code (ww) when there is significant weather, else null */
  weatherCode: number | null;
}

interface Front {
  /** Passage at the reference point (50.6 N, 3.0 E), epoch ms. */
  time: number;
  /** Ground speed of the front, km/h. */
  speedKmh: number;
  /** Direction of motion, radians counter-clockwise from east (fronts move towards the E or ENE). */
  heading: number;
  /** Depth of the pressure trough, hPa. */
  pressureDrop: number;
  /** Half-widths of the trough before and after passage, hours. */
  troughBeforeH: number;
  troughAfterH: number;
  /** Extra mean wind at passage, km/h. */
  windBoost: number;
  /** Peak rain rate, mm/h, and half-width of the rain band, hours. */
  rainRate: number;
  rainWidthH: number;
  /** Warm-sector bump before passage and cooling after, °C. */
  warm: number;
  cold: number;
  /** Backing of the wind ahead, veering behind, degrees. */
  backing: number;
  veer: number;
  /** Post-frontal shower potential, 0…1. */
  showers: number;
}

interface Wave {
  amp: number;
  omega: number;
  phase: number;
}

export interface Region {
  seed: number;
  /** Period covered by the fronts (a few days of margin are added on both sides). */
  start: number;
  end: number;
  fronts: Front[];
  pressureWaves: Wave[];
  temperatureWaves: Wave[];
  windWaves: Wave[];
  cloudWaves: Wave[];
  directionWaves: Wave[];
}

function waves(rng: Rng, specs: Array<[amp: number, minDays: number, maxDays: number]>): Wave[] {
  return specs.map(([amp, minDays, maxDays]) => ({
    amp: amp * rng.uniform(0.7, 1.3),
    omega: (2 * Math.PI) / (rng.uniform(minDays, maxDays) * DAY),
    phase: rng.uniform(0, 2 * Math.PI),
  }));
}

function sumWaves(ws: readonly Wave[], t: number): number {
  let s = 0;
  for (const w of ws) s += w.amp * Math.sin(w.omega * t + w.phase);
  return s;
}

const backgroundCache = new WeakMap<Region, Map<number, Float64Array>>();

/** The region's background at `t` (pressure, temperature, wind, cloud, direction), cached: all stations ask for the same times. */
function background(region: Region, t: number): Float64Array {
  let cache = backgroundCache.get(region);
  if (!cache) {
    cache = new Map();
    backgroundCache.set(region, cache);
  }
  let bg = cache.get(t);
  if (!bg) {
    if (cache.size > 20_000) cache.clear();
    const p = sumWaves(region.pressureWaves, t);
    const sun = solarDay(t);
    bg = new Float64Array([
      p,
      sumWaves(region.temperatureWaves, t),
      Math.max(3, 11 + sumWaves(region.windWaves, t) - 0.25 * p),
      0.55 + sumWaves(region.cloudWaves, t) - 0.02 * p,
      225 + sumWaves(region.directionWaves, t),
      seasonCos(t),
      Math.sin(sun.declination),
      Math.cos(sun.declination),
      Math.tan(sun.declination),
      sun.eotHours,
    ]);
    cache.set(t, bg);
  }
  return bg;
}

/** The weather shared by all stations of the region between `start` and `end` (epoch ms). */
export function createRegion(opts: { seed: number; start: number; end: number }): Region {
  const rng = new Rng(opts.seed, 'region');
  const fronts: Front[] = [];
  let t = opts.start - rng.uniform(2, 5) * DAY;
  const last = opts.end + 5 * DAY;
  while (t < last) {
    const season = seasonCos(t);
    const strength = rng.uniform(0.6, 1.2) * (1 + 0.25 * season);
    fronts.push({
      time: Math.round(t),
      speedKmh: rng.uniform(30, 60),
      heading: rng.uniform(-10, 30) * RAD,
      pressureDrop: Math.min(25, Math.max(10, 17 * strength + rng.normal(0, 2))),
      troughBeforeH: rng.uniform(12, 18),
      troughAfterH: rng.uniform(8, 13),
      windBoost: rng.uniform(12, 30) * strength,
      rainRate: rng.uniform(0.5, 2.8) * strength,
      rainWidthH: rng.uniform(1.8, 4),
      warm: rng.uniform(0.5, 3),
      cold: rng.uniform(1.5, 4.5) * strength,
      backing: rng.uniform(10, 40),
      veer: rng.uniform(45, 110),
      showers: rng.uniform(0.1, 0.9),
    });
    t += rng.uniform(2.2, 5.5) * DAY;
  }
  return {
    seed: opts.seed,
    start: opts.start,
    end: opts.end,
    fronts,
    pressureWaves: waves(rng, [
      [5, 12, 25],
      [3.5, 6, 11],
      [2, 25, 45],
    ]),
    temperatureWaves: waves(rng, [
      [1.6, 8, 16],
      [1.2, 3, 6],
      [1.0, 20, 40],
    ]),
    windWaves: waves(rng, [
      [3, 4, 9],
      [2, 1.5, 3],
    ]),
    cloudWaves: waves(rng, [
      [0.18, 2, 5],
      [0.12, 0.8, 1.6],
    ]),
    directionWaves: waves(rng, [
      [45, 6, 12],
      [25, 2, 4],
    ]),
  };
}

/** cos of the annual cycle: 1 in mid-January (coldest), −1 in mid-July. Continuous across years. */
function seasonCos(t: number): number {
  return Math.cos((2 * Math.PI * (dayOfYear(t) - 16)) / 365.2425);
}

/** Fractional day of year (1 = 1 January 00:00 UTC), continuous (±½ day across leap years). */
function dayOfYear(t: number): number {
  const days = t / DAY;
  return (((days % 365.2425) + 365.2425) % 365.2425) + 1;
}

export interface SunPosition {
  /** cos of the solar zenith angle (≤ 0 at night). */
  cosZenith: number;
  /** Local solar hour, [0, 24). */
  solarHour: number;
  /** Solar hour of sunrise (0 … 12). */
  sunrise: number;
}

/** Solar declination (radians) and equation of time (hours) at `t`. */
function solarDay(t: number): { declination: number; eotHours: number } {
  const doy = dayOfYear(t);
  const declination = 23.44 * RAD * Math.sin((2 * Math.PI * (284 + doy)) / 365.2425);
  const b = (2 * Math.PI * (doy - 81)) / 364;
  const eotMin = 9.87 * Math.sin(2 * b) - 7.53 * Math.cos(b) - 1.5 * Math.sin(b);
  return { declination, eotHours: eotMin / 60 };
}

function sunFrom(
  t: number,
  sinPhi: number,
  cosPhi: number,
  tanPhi: number,
  lonHours: number,
  sinDecl: number,
  cosDecl: number,
  tanDecl: number,
  eotHours: number,
): SunPosition {
  const utcHour = (((t % DAY) + DAY) % DAY) / HOUR;
  const solarHour = (((utcHour + lonHours + eotHours) % 24) + 24) % 24;
  const hourAngle = (solarHour - 12) * 15 * RAD;
  const cosZenith = sinPhi * sinDecl + cosPhi * cosDecl * Math.cos(hourAngle);
  const x = Math.max(-1, Math.min(1, -tanPhi * tanDecl));
  const sunrise = 12 - Math.acos(x) / (15 * RAD);
  return { cosZenith, solarHour, sunrise };
}

export function sunPosition(t: number, latitude: number, longitude: number): SunPosition {
  const { declination, eotHours } = solarDay(t);
  const phi = latitude * RAD;
  return sunFrom(t, Math.sin(phi), Math.cos(phi), Math.tan(phi), longitude / 15, Math.sin(declination), Math.cos(declination), Math.tan(declination), eotHours);
}

/** Diurnal shape in [−1, 1]: −1 at sunrise, +1 at `peak` solar hour, quick evening cooling then slower. */
export function diurnalShape(solarHour: number, sunrise: number, peak = 14.5): number {
  const sr = Math.min(sunrise, peak - 2);
  if (solarHour >= sr && solarHour < peak) return -Math.cos((Math.PI * (solarHour - sr)) / (peak - sr));
  const elapsed = (((solarHour - peak) % 24) + 24) % 24;
  const span = 24 - (peak - sr);
  return Math.cos(Math.PI * Math.pow(Math.min(1, elapsed / span), 0.75));
}

const MAGNUS_B = 17.62;
const MAGNUS_C = 243.12;

/** Relative humidity (%) from temperature and dew point (°C), Magnus formula, clamped to 0…100. */
export function relativeHumidity(temperature: number, dewPoint: number): number {
  const rh = 100 * Math.exp((MAGNUS_B * dewPoint) / (MAGNUS_C + dewPoint) - (MAGNUS_B * temperature) / (MAGNUS_C + temperature));
  return Math.max(0, Math.min(100, rh));
}

/** Dew point (°C) from temperature (°C) and relative humidity (%), Magnus formula. */
export function dewPointFrom(temperature: number, humidity: number): number {
  const g = Math.log(Math.max(humidity, 0.1) / 100) + (MAGNUS_B * temperature) / (MAGNUS_C + temperature);
  return Math.min(temperature, (MAGNUS_C * g) / (MAGNUS_B - g));
}

/** How close a point is to the North Sea / Channel coast: 1 on the shore, ~0 beyond 40 km inland. */
function coastalIndex(latitude: number, longitude: number): number {
  const kmPerLon = 111.32 * Math.cos(latitude * RAD);
  // North Sea coast: ~51.0 N from Calais to Dunkirk, then running NE along the Belgian coast.
  const coastLat = longitude < 2.55 ? 50.98 + (longitude - 1.85) * 0.1 : 51.05 + (longitude - 2.55) * 0.38;
  const dNorth = longitude >= 1.8 ? Math.max(0, (coastLat - latitude) * 110.6) : Infinity;
  // Channel coast: ~1.6 E from the Somme bay to Cap Gris-Nez.
  const dWest = latitude <= 50.9 ? Math.max(0, (longitude - 1.6) * kmPerLon) : Infinity;
  const d = Math.min(dNorth, dWest);
  return Math.exp(-d / 12);
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** An AR(1) process with time constant `tauH` hours and stationary standard deviation 1. */
class Ar1 {
  value: number;
  private readonly phi: number;
  private readonly innov: number;
  constructor(
    private readonly rng: Rng,
    stepH: number,
    tauH: number,
  ) {
    this.phi = Math.exp(-stepH / tauH);
    this.innov = Math.sqrt(1 - this.phi * this.phi);
    this.value = rng.normal();
  }
  step(): number {
    this.value = this.phi * this.value + this.innov * this.rng.normal();
    return this.value;
  }
}

export interface StationWeatherOptions {
  /** First sample time, epoch ms UTC. */
  start: number;
  /** Time step in minutes. */
  stepMinutes: number;
  /** Seed of the station's own noise (offsets, turbulence, showers). */
  seed: number;
}

/** One station's continuous series: call `next()` for the sample at `start`, then every `stepMinutes`. */
export class StationWeather {
  private t: number;
  private readonly stepMs: number;
  private readonly stepH: number;
  private readonly rng: Rng;
  private readonly coastal: number;
  private readonly urban: number;
  private readonly exposure: number;
  private readonly tempOffset: number;
  private readonly pressureOffset: number;
  private readonly directionOffset: number;
  private readonly gustiness: number;
  private readonly lags: Float64Array;
  private readonly sinPhi: number;
  private readonly cosPhi: number;
  private readonly tanPhi: number;
  private frontLo = 0;
  private snow = 0;
  private readonly nTemp: Ar1;
  private readonly nTempFast: Ar1;
  private readonly nDew: Ar1;
  private readonly nWind: Ar1;
  private readonly nDir: Ar1;
  private readonly nCloud: Ar1;
  private readonly nRain: Ar1;
  private readonly nShower: Ar1;
  private readonly nVis: Ar1;
  private readonly nPress: Ar1;

  constructor(
    private readonly region: Region,
    private readonly site: Site,
    opts: StationWeatherOptions,
  ) {
    if (!(opts.stepMinutes > 0)) throw new Error('stepMinutes must be > 0');
    this.t = opts.start;
    this.stepMs = opts.stepMinutes * 60_000;
    this.stepH = opts.stepMinutes / 60;
    const rng = new Rng(opts.seed, 'station-weather');
    this.rng = rng;
    this.coastal = site.coastal ?? coastalIndex(site.latitude, site.longitude);
    this.urban = site.urban ?? 0;
    this.exposure = (site.exposure ?? 1) * (1 + 0.35 * this.coastal);
    this.tempOffset = rng.normal(0, 0.35) + 0.9 * this.urban;
    this.pressureOffset = rng.normal(0, 0.5);
    this.directionOffset = rng.normal(0, 8);
    this.gustiness = rng.uniform(0, 1);
    this.sinPhi = Math.sin(site.latitude * RAD);
    this.cosPhi = Math.cos(site.latitude * RAD);
    this.tanPhi = Math.tan(site.latitude * RAD);
    const lat0 = 50.6;
    const lon0 = 3.0;
    const dx = (site.longitude - lon0) * 111.32 * Math.cos(lat0 * RAD);
    const dy = (site.latitude - lat0) * 110.57;
    this.lags = new Float64Array(region.fronts.length);
    region.fronts.forEach((f, i) => {
      const along = dx * Math.cos(f.heading) + dy * Math.sin(f.heading);
      this.lags[i] = (along / f.speedKmh) * HOUR;
    });
    const h = this.stepH;
    this.nTemp = new Ar1(rng, h, 3);
    this.nTempFast = new Ar1(rng, h, 0.3);
    this.nDew = new Ar1(rng, h, 4);
    this.nWind = new Ar1(rng, h, 0.5);
    this.nDir = new Ar1(rng, h, 0.7);
    this.nCloud = new Ar1(rng, h, 2);
    this.nRain = new Ar1(rng, h, 0.6);
    this.nShower = new Ar1(rng, h, 0.5);
    this.nVis = new Ar1(rng, h, 3);
    this.nPress = new Ar1(rng, h, 1);
  }

  /** Time of the next sample. */
  get time(): number {
    return this.t;
  }

  next(): WeatherSample {
    const t = this.t;
    this.t += this.stepMs;
    const { region, site } = this;
    // Shared background.
    const bg = background(region, t);
    const season = bg[5] as number;
    const bgP = bg[0] as number;
    const bgT = bg[1] as number;
    const bgW = bg[2] as number;
    const bgC = bg[3] as number;
    const bgD = bg[4] as number;

    // Fronts near this time, passing here at their own time plus this station's lag.
    let pFront = 0;
    let tFront = 0;
    let wFront = 0;
    let rainFront = 0;
    let cloudFront = 0;
    let dirFront = 0;
    let showerPot = 0;
    let dry = 0;
    const fronts = region.fronts;
    while (this.frontLo < fronts.length && (fronts[this.frontLo] as Front).time < t - 5 * DAY) this.frontLo++;
    for (let i = this.frontLo; i < fronts.length; i++) {
      const f = fronts[i] as Front;
      if (f.time > t + 4 * DAY) break;
      const dtH = (t - f.time - (this.lags[i] ?? 0)) / HOUR;
      const wb = dtH < 0 ? dtH / f.troughBeforeH : dtH / f.troughAfterH;
      pFront -= f.pressureDrop * Math.exp(-wb * wb);
      const after = sigmoid(dtH / 2);
      const decay = Math.exp(-Math.max(0, dtH) / 42);
      const wx = (dtH + 8) / 10;
      tFront += f.warm * Math.exp(-wx * wx) - f.cold * after * decay;
      const ww = (dtH - 1) / 9;
      wFront += f.windBoost * Math.exp(-ww * ww);
      const rx = (dtH - 0.5) / f.rainWidthH;
      rainFront += f.rainRate * Math.exp(-rx * rx);
      const cx = (dtH + 4) / 9;
      cloudFront = Math.max(cloudFront, Math.exp(-cx * cx));
      const bx = (dtH + 9) / 9;
      dirFront += -f.backing * Math.exp(-bx * bx) + f.veer * sigmoid(dtH / 2.5) * Math.exp(-Math.max(0, dtH) / 30);
      if (dtH > 0) showerPot += f.showers * (1 - Math.exp(-dtH / 2)) * Math.exp(-dtH / 20);
      dry += after * Math.exp(-Math.max(0, dtH) / 30);
    }
    showerPot = Math.min(1, showerPot);
    dry = Math.min(1.5, dry);

    const sun = sunFrom(t, this.sinPhi, this.cosPhi, this.tanPhi, site.longitude / 15, bg[6] as number, bg[7] as number, bg[8] as number, bg[9] as number);
    const shape = diurnalShape(sun.solarHour, sun.sunrise);
    const daytime = sun.cosZenith > 0 ? Math.min(1, sun.cosZenith * 2) : 0;

    // Precipitation: the frontal band, broken up by station noise, plus post-frontal and stray showers.
    const nRain = this.nRain.step();
    let rate = rainFront * Math.max(0, 1 + 0.75 * nRain);
    if (rate < 0.08) rate = 0;
    const nShower = this.nShower.step();
    const threshold = 2.4 - 1.5 * showerPot * (0.5 + 0.5 * daytime);
    let showers = false;
    if (nShower > threshold) {
      const showerRate = (nShower - threshold) * (1.5 + 5 * showerPot);
      if (showerRate >= 0.1 && showerRate > rate) {
        showers = true;
      }
      rate += showerRate;
    }
    rate = Math.min(rate, 60);

    // Cloud cover.
    const nCloud = this.nCloud.step();
    const cb = Math.max(0, Math.min(1, bgC + 0.15 * nCloud + 0.3 * showerPot - 0.15 * dry));
    let cloud = 1 - (1 - cb) * (1 - cloudFront);
    if (rate > 0) cloud = Math.max(cloud, showers ? 0.75 : 0.9);
    cloud = Math.max(0, Math.min(1, cloud));

    // Temperature.
    const seasonal = 11.2 + 7.3 * -season + 0.4 * this.coastal * season;
    const amplitude = (4 - 1.5 * season) * (1 - 0.35 * this.coastal);
    const nightWarming = 0.6 * this.urban * (shape < 0 ? -shape : 0);
    const nTemp = this.nTemp.step();
    const nTempFast = this.nTempFast.step();
    let temperature =
      seasonal -
      0.0065 * site.elevation +
      this.tempOffset +
      bgT +
      tFront +
      amplitude * (1 - 0.6 * cloud) * shape +
      nightWarming +
      0.5 * nTemp +
      0.12 * nTempFast -
      1.2 * Math.min(1, rate / 3);
    temperature = Math.max(-45, Math.min(45, temperature));

    // Dew point: small depression at night and in rain, larger in the afternoon and in post-frontal air.
    const depressionBase = 4.25 - 1.75 * season;
    let depression = depressionBase * (0.18 + 0.82 * ((shape + 1) / 2)) * (1 - 0.4 * cloud) + 1.5 * dry + 0.6 * this.nDew.step();
    if (rate > 0) depression *= 0.25;
    depression = Math.max(0, depression);
    const dewPoint = temperature - depression;
    const humidity = relativeHumidity(temperature, dewPoint);

    // Pressure (mean sea level): background, fronts, semi-diurnal tide.
    const utcHour = (((t % DAY) + DAY) % DAY) / HOUR;
    let pressure = 1014 + bgP + pFront + 0.5 * Math.cos((2 * Math.PI * (utcHour - 10)) / 12) + this.pressureOffset + 0.1 * this.nPress.step();
    pressure = Math.max(950, Math.min(1050, pressure));

    // Wind.
    const mixing = 0.9 + 0.3 * shape * (1 - 0.5 * cloud);
    const nWind = this.nWind.step();
    const windRaw = (bgW + wFront + (showers ? 5 : 0)) * this.exposure * (1 - 0.3 * this.urban) * mixing * Math.max(0, 1 + 0.2 * nWind);
    // Saturate smoothly: storms yes, hurricanes no.
    let windSpeed = 70 * Math.tanh(windRaw / 70);
    if (windSpeed < 1) windSpeed = 0;
    let windGust = 0;
    if (windSpeed > 0) {
      const factor = 1.35 + 0.35 * this.gustiness + 0.2 * Math.min(1, rate) + 0.12 * Math.abs(this.rng.normal());
      windGust = Math.max(windSpeed + 1, windSpeed * factor);
    }
    const calm = Math.exp(-windSpeed / 5);
    let windDirection = bgD + dirFront + this.directionOffset + this.nDir.step() * (12 + 35 * calm);
    windDirection = ((windDirection % 360) + 360) % 360;

    // Sun.
    let solar = 0;
    let uv = 0;
    if (sun.cosZenith > 0.01) {
      const cz = sun.cosZenith;
      const clear = 1098 * cz * Math.exp(-0.057 / cz);
      const cloudFactor = (1 - 0.75 * Math.pow(cloud, 3.4)) * (rate > 0 ? 0.55 : 1);
      solar = Math.max(0, clear * cloudFactor * (1 + 0.03 * nTempFast));
      uv = Math.max(0, 10 * Math.pow(cz, 2.5) * (1 - 0.6 * Math.pow(cloud, 2.5)));
    }

    // Visibility.
    const nVis = this.nVis.step();
    let visibility: number;
    if (rate > 0) visibility = 15000 / (1 + 0.8 * rate) + 1500 * nVis;
    else if (depression < 0.4 && windSpeed < 8) visibility = 500 + 350 * nVis;
    else if (depression < 1.5) visibility = 4500 + 1800 * nVis;
    else visibility = 25000 * Math.exp(0.3 * nVis) * (1 + 0.3 * dry) * (1 - 0.5 * Math.max(0, (humidity - 75) / 25));
    visibility = Math.max(100, Math.min(60000, visibility));

    // Snow on the ground.
    const precipitation = rate * this.stepH;
    const snowing = rate > 0 && temperature < 0.8;
    if (snowing) this.snow += precipitation;
    else if (this.snow > 0 && temperature > 1) this.snow = Math.max(0, this.snow - 0.15 * (temperature - 1) * this.stepH);
    if (this.snow > 0 && rate > 0 && !snowing) this.snow = Math.max(0, this.snow - precipitation * 0.5);

    let weatherCode: number | null = null;
    if (rate > 0) {
      if (snowing) weatherCode = rate < 1 ? 71 : 73;
      else if (showers) weatherCode = rate < 2 ? 80 : rate < 8 ? 81 : 82;
      else weatherCode = rate < 1 ? 61 : rate < 4 ? 63 : 65;
    } else if (visibility < 1000) weatherCode = 45;
    else if (visibility < 5000) weatherCode = 10;

    return {
      time: t,
      temperature,
      dewPoint,
      humidity,
      pressure,
      windSpeed,
      windGust,
      windDirection,
      precipRate: rate,
      precipitation,
      showers,
      cloudCover: cloud,
      solar,
      uv,
      visibility,
      snowDepth: this.snow,
      weatherCode,
    };
  }
}

/** `count` consecutive samples of one station, from `opts.start` every `opts.stepMinutes`. */
export function weatherSeries(region: Region, site: Site, opts: StationWeatherOptions & { count: number }): WeatherSample[] {
  const gen = new StationWeather(region, site, opts);
  const out: WeatherSample[] = [];
  for (let i = 0; i < opts.count; i++) out.push(gen.next());
  return out;
}
