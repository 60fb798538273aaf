/**
 * `ecluse generate stations`: realistic station data in the real delivery formats (docs/pipelines/stations.md, "Inputs").
 *
 * - one InfoClimat open-data response per UTC day (`infoclimat-YYYY-MM-DD.json`) covering all stations:
 *   static (amateur) stations every 10 minutes, synop stations hourly with the extra fields; every value
 *   a string or null, with the gaps, missing sensors and null/"" mixture of the real API;
 * - one Weather Underground workbook per configured WU station (rows every 5 minutes, local days,
 *   imperial units, daily rain total that resets once a day).
 *
 * All stations share one regional weather (`weather.ts`), so neighbours see the same fronts a few hours
 * apart. Output is byte-for-byte deterministic for a given seed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_WU_STATIONS, type StationConfig } from '../wunderground/stations.js';
import { writeWundergroundWorkbook, wundergroundFileName, type WundergroundDay, type WundergroundRow } from '../wunderground/workbookWriter.js';
import { hashSeed, Rng } from './random.js';
import { createRegion, relativeHumidity, StationWeather, type Region, type WeatherSample } from './weather.js';
import { INFOCLIMAT_METADATA, INFOCLIMAT_PARAMS } from '../infoclimat/format.js';
import { dayOf } from '../../time/days.js';
import { dayBounds, wallClock } from '../../time/zones.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

export interface GenerateStationsOptions {
  /** Number of InfoClimat stations (the 4 real ones first, then generated ones). */
  stations: number;
  /** Number of UTC days (InfoClimat files) and local days (WU sheets). */
  days: number;
  /** Output folder (created if needed); files are written at its top. */
  out: string;
  /** First day, `YYYY-MM-DD` (default 2024-10-01). */
  start?: string;
  /** Default 1. */
  seed?: number;
  /** Also write the Weather Underground workbooks (default true). */
  wunderground?: boolean;
  /** Called after each file written. */
  onProgress?: (done: number, total: number) => void;
}

export interface GenerateStationsResult {
  /** Paths of the files written (InfoClimat days first, then the WU workbooks). */
  files: string[];
  /** Reports written: InfoClimat rows plus WU rows. */
  reports: number;
  /** Stations written: InfoClimat stations plus WU stations. */
  stations: number;
}

type InfoclimatValue = string | null;

export interface InfoclimatStationJson {
  id: string;
  name: string;
  latitude: number;
  longitude: number;
  elevation: number;
  type: 'static' | 'synop';
  license: { license: string; url: string; source: string; metadonnees: string };
}

type Town = readonly [name: string, latitude: number, longitude: number, elevation: number];

/** The four real InfoClimat stations of the GreenAndCoop project (metadata only). */
const REAL_STATIONS: ReadonlyArray<{ id: string; name: string; lat: number; lon: number; elev: number; type: 'static' | 'synop' }> = [
  { id: '00052', name: 'Armentières', lat: 50.689, lon: 2.877, elev: 16, type: 'static' },
  { id: '000R5', name: 'Bergues', lat: 50.968, lon: 2.434, elev: 6, type: 'static' },
  { id: 'STATIC0010', name: 'Hazebrouck', lat: 50.724, lon: 2.539, elev: 22, type: 'static' },
  { id: '07015', name: 'Lille-Lesquin', lat: 50.57, lon: 3.0975, elev: 47, type: 'synop' },
];

/** Towns of Hauts-de-France (approximate coordinates and elevations) for the generated stations. */
const TOWNS: readonly Town[] = [
  ['Dunkerque', 51.034, 2.377, 4],
  ['Calais', 50.951, 1.858, 5],
  ['Boulogne-sur-Mer', 50.726, 1.614, 40],
  ['Saint-Omer', 50.75, 2.252, 23],
  ['Béthune', 50.53, 2.64, 26],
  ['Lens', 50.432, 2.833, 38],
  ['Arras', 50.291, 2.777, 70],
  ['Douai', 50.37, 3.08, 25],
  ['Valenciennes', 50.357, 3.523, 35],
  ['Cambrai', 50.176, 3.235, 60],
  ['Maubeuge', 50.278, 3.973, 140],
  ['Avesnes-sur-Helpe', 50.123, 3.928, 160],
  ['Roubaix', 50.69, 3.181, 35],
  ['Tourcoing', 50.724, 3.161, 40],
  ["Villeneuve-d'Ascq", 50.623, 3.145, 35],
  ['Seclin', 50.549, 3.031, 30],
  ['Bailleul', 50.739, 2.735, 40],
  ['Cassel', 50.8, 2.486, 170],
  ['Gravelines', 50.986, 2.128, 3],
  ['Étaples', 50.513, 1.64, 10],
  ['Montreuil-sur-Mer', 50.464, 1.764, 40],
  ['Hesdin', 50.373, 2.038, 30],
  ['Saint-Pol-sur-Ternoise', 50.381, 2.336, 90],
  ['Bapaume', 50.103, 2.851, 120],
  ['Doullens', 50.157, 2.341, 60],
  ['Péronne', 49.932, 2.936, 55],
  ['Guise', 49.901, 3.628, 110],
  ['Hirson', 49.922, 4.083, 200],
  ['Fourmies', 50.016, 4.053, 190],
  ['Le Cateau-Cambrésis', 50.104, 3.542, 120],
  ['Caudry', 50.125, 3.412, 120],
  ['Denain', 50.329, 3.395, 35],
  ['Orchies', 50.474, 3.243, 30],
  ['Comines', 50.761, 3.008, 15],
  ['Halluin', 50.784, 3.126, 25],
  ['Wattrelos', 50.701, 3.217, 30],
  ['Hénin-Beaumont', 50.421, 2.951, 30],
  ['Liévin', 50.422, 2.778, 60],
  ['Bruay-la-Buissière', 50.482, 2.55, 50],
  ['Aire-sur-la-Lys', 50.639, 2.396, 20],
  ['Lillers', 50.561, 2.482, 40],
  ['Merville', 50.643, 2.641, 16],
  ['Estaires', 50.646, 2.723, 17],
  ['Steenvoorde', 50.81, 2.583, 40],
  ['Wormhout', 50.881, 2.468, 20],
  ['Hondschoote', 50.978, 2.585, 5],
  ['Bourbourg', 50.947, 2.196, 3],
  ['Ardres', 50.856, 1.981, 10],
  ['Guînes', 50.87, 1.87, 15],
  ['Marquise', 50.813, 1.703, 40],
  ['Wimereux', 50.769, 1.611, 10],
  ['Desvres', 50.668, 1.835, 110],
  ['Fruges', 50.515, 2.133, 130],
  ['Le Crotoy', 50.216, 1.625, 5],
  ['Rue', 50.272, 1.669, 10],
  ['Auxi-le-Château', 50.231, 2.117, 50],
  ['Albert', 50.002, 2.652, 70],
  ['Corbie', 49.909, 2.509, 40],
  ['Saint-Amand-les-Eaux', 50.448, 3.428, 20],
  ["Condé-sur-l'Escaut", 50.456, 3.589, 20],
  ['Le Quesnoy', 50.248, 3.638, 120],
  ['Bavay', 50.298, 3.794, 140],
  ['Solesmes', 50.184, 3.499, 70],
  ['Landrecies', 50.125, 3.691, 130],
  ['Trélon', 50.058, 4.103, 200],
  ['Marchiennes', 50.404, 3.281, 20],
  ['Templeuve-en-Pévèle', 50.528, 3.176, 35],
  ['La Bassée', 50.534, 2.808, 22],
  ['Carvin', 50.492, 2.958, 30],
  ['Lomme', 50.643, 2.987, 20],
  ['Marcq-en-Barœul', 50.671, 3.097, 25],
  ['Wervicq-Sud', 50.771, 3.043, 15],
  ['Saint-Valery-sur-Somme', 50.187, 1.632, 10],
  ['Aubigny-en-Artois', 50.351, 2.589, 110],
  ['Lumbres', 50.707, 2.121, 50],
  ['Fauquembergues', 50.6, 2.093, 120],
  ['Licques', 50.783, 1.937, 80],
  ['Samer', 50.638, 1.745, 80],
  ['Audruicq', 50.878, 2.08, 5],
  ['Coudekerque-Branche', 51.022, 2.393, 2],
  ['Bray-Dunes', 51.076, 2.518, 5],
  ['Flixecourt', 50.015, 2.083, 20],
  ['Beaurainville', 50.424, 1.899, 20],
  ['Avesnes-le-Comte', 50.277, 2.528, 130],
  ['Pas-en-Artois', 50.153, 2.494, 130],
  ['Marquion', 50.212, 3.085, 60],
  ['Bohain-en-Vermandois', 49.985, 3.454, 130],
  ['Le Nouvion-en-Thiérache', 50.015, 3.783, 180],
  ['La Capelle', 49.972, 3.915, 220],
];

/** Generated synop stations: Abbeville is real; the others get WMO-like ids in an unused block. */
const SYNOP_EXTRA: readonly Town[] = [['Abbeville', 50.136, 1.834, 69]];

/** Cities with a marked heat island. */
const URBAN = new Set([
  'Lille-Lesquin',
  'Roubaix',
  'Tourcoing',
  "Villeneuve-d'Ascq",
  'Lomme',
  'Marcq-en-Barœul',
  'Lens',
  'Douai',
  'Valenciennes',
  'Dunkerque',
  'Calais',
  'Arras',
]);

interface GenStation {
  meta: InfoclimatStationJson;
  synop: boolean;
  weather: StationWeather;
  rng: Rng;
  /** Probability that a missing value is written "" rather than null. */
  emptyShare: number;
  hasBarometer: boolean;
  hasRainGauge: boolean;
  reportsRain3h: boolean;
  /** Rain gauge resolution in tenths of mm. */
  tipTenths: number;
  rainCarry: number;
  /** Tenths of mm per step, last 3 hours (ring buffer). */
  rainRing: Int32Array;
  rainPos: number;
  rain1h: number;
  rain3h: number;
  gapLeft: number;
  sensorLeft: Record<SensorGroup, number>;
  sensorToken: Record<SensorGroup, InfoclimatValue>;
  nebulosityShare: number;
  /** `{"id_station":"…","dh_utc":"` */
  rowPrefix: string;
}

type SensorGroup = 'thermo' | 'wind' | 'baro' | 'rain';
const SENSOR_GROUPS: readonly SensorGroup[] = ['thermo', 'thermo', 'wind', 'wind', 'baro', 'rain'];

const LICENSE_STATIC = { license: 'CC BY', url: 'https://creativecommons.org/licenses/by/4.0/', source: 'infoclimat.fr' };
const LICENSE_SYNOP = {
  license: 'Licence Ouverte v2.0 (Etalab)',
  url: 'https://www.etalab.gouv.fr/licence-ouverte-open-licence',
  source: 'Météo-France',
};

function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/** One decimal, always written (`7.0`, `-0.5`), never `-0.0`. */
function fixed1(x: number): string {
  const tenths = Math.round(x * 10);
  if (tenths === 0) return '0.0';
  const a = tenths < 0 ? -tenths : tenths;
  const whole = Math.floor(a / 10);
  return `${tenths < 0 ? '-' : ''}${whole}.${a - whole * 10}`;
}

/** At most one decimal, no trailing zero (`0`, `3.6`, `12`). */
function compact1(x: number): string {
  const tenths = Math.round(x * 10);
  if (tenths === 0) return '0';
  const a = tenths < 0 ? -tenths : tenths;
  const whole = Math.floor(a / 10);
  const frac = a - whole * 10;
  return `${tenths < 0 ? '-' : ''}${whole}${frac === 0 ? '' : `.${frac}`}`;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function isoDate(t: number): string {
  const d = new Date(t);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

function parseStart(start: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(start);
  const t = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(t) || isoDate(t) !== start) throw new Error(`start "${start}" is not a YYYY-MM-DD date`);
  return t;
}

/** The station list for `n` stations: the 4 real ones, then generated ones (1 in 25 synop). Independent of the seed. */
export function stationList(n: number): InfoclimatStationJson[] {
  const layout = new Rng('ecluse-station-layout');
  const out: InfoclimatStationJson[] = [];
  const metaUrl = (id: string) => `https://www.infoclimat.fr/stations-meteo/metadonnees.php?id=${id}`;
  for (const s of REAL_STATIONS.slice(0, n)) {
    const lic = s.type === 'synop' ? LICENSE_SYNOP : LICENSE_STATIC;
    out.push({ id: s.id, name: s.name, latitude: s.lat, longitude: s.lon, elevation: s.elev, type: s.type, license: { ...lic, metadonnees: metaUrl(s.id) } });
  }
  let staticNo = 11;
  let synopNo = 0;
  let townNo = 0;
  const used = new Map<string, number>();
  const nextTown = (): Town => {
    const base = TOWNS[townNo % TOWNS.length] as Town;
    const round_ = Math.floor(townNo / TOWNS.length);
    townNo++;
    if (round_ === 0) return base;
    const [name, lat, lon, elev] = base;
    const k = (used.get(name) ?? 1) + 1;
    used.set(name, k);
    return [
      `${name} ${k}`,
      Math.min(51.1, Math.max(49.9, round(lat + layout.uniform(-0.04, 0.04), 3))),
      Math.min(4.2, Math.max(1.6, round(lon + layout.uniform(-0.06, 0.06), 3))),
      Math.max(1, Math.round(elev + layout.uniform(-10, 15))),
    ];
  };
  for (let i = out.length; i < n; i++) {
    const synop = i % 25 === 3;
    let id: string;
    let town: Town;
    if (synop) {
      town = SYNOP_EXTRA[synopNo] ?? nextTown();
      id = synopNo === 0 ? '07005' : `079${pad2(synopNo)}`;
      synopNo++;
    } else {
      town = nextTown();
      id = `STATIC${String(staticNo++).padStart(4, '0')}`;
    }
    const [name, latitude, longitude, elevation] = town;
    const lic = synop ? LICENSE_SYNOP : LICENSE_STATIC;
    out.push({ id, name, latitude, longitude, elevation, type: synop ? 'synop' : 'static', license: { ...lic, metadonnees: metaUrl(id) } });
  }
  return out;
}

function makeStation(meta: InfoclimatStationJson, region: Region, start: number, seed: number): GenStation {
  const synop = meta.type === 'synop';
  const real = REAL_STATIONS.some((r) => r.id === meta.id);
  const rng = new Rng(seed, 'infoclimat-station', meta.id);
  const profile = new Rng('ecluse-station-profile', meta.id);
  const stepMinutes = synop ? 60 : 10;
  const weather = new StationWeather(
    region,
    {
      latitude: meta.latitude,
      longitude: meta.longitude,
      elevation: meta.elevation,
      urban: URBAN.has(meta.name) ? 0.8 : profile.uniform(0, 0.3),
      exposure: synop ? 1.15 : profile.uniform(0.55, 1.2),
    },
    { start, stepMinutes, seed: hashSeed(seed, 'weather', meta.id) },
  );
  return {
    meta,
    synop,
    weather,
    rng,
    emptyShare: profile.uniform(0.2, 0.8),
    // The real stations have all their sensors; 00052 reports no 3-hour rain.
    hasBarometer: synop || real || profile.chance(0.93),
    hasRainGauge: synop || real || profile.chance(0.95),
    reportsRain3h: synop || (real ? meta.id !== '00052' : profile.chance(0.3)),
    tipTenths: synop ? 1 : profile.pick([2, 2, 2, 3]),
    rainCarry: 0,
    rainRing: new Int32Array(synop ? 3 : 18),
    rainPos: 0,
    rain1h: 0,
    rain3h: 0,
    gapLeft: 0,
    sensorLeft: { thermo: 0, wind: 0, baro: 0, rain: 0 },
    sensorToken: { thermo: null, wind: null, baro: null, rain: null },
    nebulosityShare: profile.uniform(0.6, 0.95),
    rowPrefix: `{"id_station":${JSON.stringify(meta.id)},"dh_utc":"`,
  };
}

/** Records the step's rain (quantised to the gauge) and returns the totals over 1 h and 3 h, in tenths of mm. */
function recordRain(s: GenStation, w: WeatherSample): { h1: number; h3: number } {
  s.rainCarry += w.precipitation * 10;
  const tips = Math.floor(s.rainCarry / s.tipTenths);
  s.rainCarry -= tips * s.tipTenths;
  const ring = s.rainRing;
  const len = ring.length;
  const per1h = s.synop ? 1 : 6;
  const fresh = tips * s.tipTenths;
  // Running sums in integer tenths: exact.
  s.rain1h += fresh - (ring[(s.rainPos - per1h + len) % len] ?? 0);
  s.rain3h += fresh - (ring[s.rainPos] ?? 0);
  ring[s.rainPos] = fresh;
  s.rainPos = (s.rainPos + 1) % len;
  return { h1: s.rain1h, h3: s.rain3h };
}

/** A value as JSON: our values are digits, signs and dots only, never needing escapes. */
function q(v: InfoclimatValue): string {
  return v === null ? 'null' : `"${v}"`;
}

/** Builds one day of a station (advancing its weather through the whole day, written or not). */
function stationDay(s: GenStation, dayStart: number, datePrefix: string, times: readonly string[]): string[] {
  const rows: string[] = [];
  const { rng, synop } = s;
  const perDay = synop ? 24 : 144;
  const stepMs = synop ? HOUR : 10 * MINUTE;
  const token = (): InfoclimatValue => (rng.next() < s.emptyShare ? '' : null);
  // Whole-day chance of a sensor failing for hours.
  const sensorChance = synop ? 0.02 / perDay : 0.05 / perDay;
  for (let k = 0; k < perDay; k++) {
    const w = s.weather.next();
    const rain = recordRain(s, w);
    if (w.time !== dayStart + k * stepMs) throw new Error(`station ${s.meta.id}: weather out of step`);
    // Sensor failures (hours).
    if (rng.next() < sensorChance) {
      const g = rng.pick(SENSOR_GROUPS);
      s.sensorLeft[g] = rng.int(synop ? 2 : 6, synop ? 8 : 72);
      s.sensorToken[g] = token();
    }
    // Missing records: short gaps, and now and then an outage of a few hours.
    if (s.gapLeft === 0) {
      const u = rng.next();
      if (u < (synop ? 0.002 : 0.0012)) s.gapLeft = rng.int(1, synop ? 2 : 4);
      else if (u < (synop ? 0.0025 : 0.0014)) s.gapLeft = rng.int(synop ? 2 : 6, synop ? 5 : 36);
    }
    const skip = s.gapLeft > 0;
    if (skip) s.gapLeft--;
    const thermoOut = s.sensorLeft.thermo > 0;
    const windOut = s.sensorLeft.wind > 0;
    const baroOut = s.sensorLeft.baro > 0;
    const rainOut = s.sensorLeft.rain > 0;
    if (thermoOut) s.sensorLeft.thermo--;
    if (windOut) s.sensorLeft.wind--;
    if (baroOut) s.sensorLeft.baro--;
    if (rainOut) s.sensorLeft.rain--;
    if (skip) continue;

    // Values, rounded as the API writes them; humidity recomputed from the rounded values.
    const t1 = round(w.temperature, 1);
    const td1 = Math.min(round(w.dewPoint, 1), t1);
    const rh = Math.min(100, Math.round(relativeHumidity(t1, td1)));
    let temperature: InfoclimatValue = fixed1(t1);
    let dewPoint: InfoclimatValue = fixed1(td1);
    let humidity: InfoclimatValue = String(rh);
    if (thermoOut) {
      temperature = dewPoint = humidity = s.sensorToken.thermo;
    } else if (rng.next() < 0.002) {
      // A single bad read: the hygrometer drops out, and the dew point with it.
      humidity = dewPoint = token();
    }

    let windSpeed: InfoclimatValue;
    let windGust: InfoclimatValue;
    let windDirection: InfoclimatValue;
    if (synop) {
      // Synop wind comes in whole m/s; direction in tens of degrees, 360 for north, 0 when calm.
      const ms = Math.round(w.windSpeed / 3.6);
      const gms = Math.max(ms, Math.round(w.windGust / 3.6));
      windSpeed = compact1(ms * 3.6);
      windGust = ms === 0 ? null : compact1(gms * 3.6);
      const dd = Math.round(w.windDirection / 10) * 10;
      windDirection = ms === 0 ? '0' : String(dd === 0 ? 360 : dd);
    } else {
      const sp = w.windSpeed < 1.5 ? 0 : round(w.windSpeed, 1);
      windSpeed = compact1(sp);
      windGust = sp === 0 ? null : compact1(Math.max(sp, w.windGust));
      windDirection = String(Math.round(w.windDirection) % 360);
    }
    if (windOut) windSpeed = windGust = windDirection = s.sensorToken.wind;

    let pressure: InfoclimatValue = s.hasBarometer ? fixed1(w.pressure) : '';
    if (baroOut) pressure = s.sensorToken.baro;

    let pluie1h: InfoclimatValue = null;
    let pluie3h: InfoclimatValue = null;
    if (s.hasRainGauge && !rainOut) {
      pluie1h = compact1(rain.h1 / 10);
      if (synop) pluie3h = k % 3 === 0 ? compact1(rain.h3 / 10) : null;
      else if (s.reportsRain3h) pluie3h = compact1(rain.h3 / 10);
    } else if (rainOut) {
      pluie1h = s.sensorToken.rain;
    }

    if (rng.next() < 0.0015) {
      // An isolated missing value.
      switch (rng.int(0, 3)) {
        case 0:
          temperature = token();
          break;
        case 1:
          pressure = token();
          break;
        case 2:
          windGust = token();
          break;
        default:
          windDirection = token();
      }
    }

    const dh = datePrefix + (times[k] as string);
    // Written by hand (values are our own digits, ids plain): much faster than JSON.stringify of objects.
    let row = `${s.rowPrefix}${dh}","temperature":${q(temperature)},"pression":${q(pressure)},"humidite":${q(humidity)}` + `,"point_de_rosee":${q(dewPoint)}`;
    if (synop) {
      const v = w.visibility;
      let visibility: InfoclimatValue = String(v < 5000 ? Math.round(v / 100) * 100 : v < 30000 ? Math.round(v / 1000) * 1000 : Math.round(v / 5000) * 5000);
      if (rng.next() < 0.01) visibility = token();
      row += `,"visibilite":${q(visibility)}`;
    }
    row +=
      `,"vent_moyen":${q(windSpeed)},"vent_rafales":${q(windGust)},"vent_direction":${q(windDirection)}` + `,"pluie_3h":${q(pluie3h)},"pluie_1h":${q(pluie1h)}`;
    if (synop) {
      const octas = w.visibility < 400 && w.weatherCode === 45 ? 9 : Math.round(w.cloudCover * 8);
      const nebulosite: InfoclimatValue = rng.next() < s.nebulosityShare ? String(octas) : '';
      const snow: InfoclimatValue = w.snowDepth >= 0.5 ? String(Math.round(w.snowDepth)) : null;
      const ww: InfoclimatValue = w.weatherCode === null ? null : String(w.weatherCode);
      row += `,"neige_au_sol":${q(snow)},"nebulosite":${q(nebulosite)},"temps_omm":${q(ww)}`;
    }
    rows.push(`${row}}`);
  }
  return rows;
}

const COMPASS = ['North', 'NNE', 'NE', 'ENE', 'East', 'ESE', 'SE', 'SSE', 'South', 'SSW', 'SW', 'WSW', 'West', 'WNW', 'NW', 'NNW'];

/** 16-point compass word for a direction in degrees (cardinal points spelled out, as WU does). */
export function compassWord(deg: number): string {
  const i = Math.round((((deg % 360) + 360) % 360) / 22.5) % 16;
  return COMPASS[i] as string;
}

/** Local day and minute of the day of instant `t` in `timeZone`. */
function localParts(t: number, timeZone: string): { date: string; minutes: number } {
  const w = wallClock(t, timeZone);
  return { date: dayOf(new Date(t), timeZone), minutes: w.hour * 60 + w.minute };
}

/** The UTC instant of local midnight starting `date` (`YYYY-MM-DD`) in `timeZone`. */
function zonedMidnight(date: string, timeZone: string): number {
  return dayBounds(date, timeZone).from.getTime();
}

/** Rows of one WU station, grouped by local day, for `days` local days from `start`. */
function wundergroundDays(station: StationConfig, index: number, region: Region, start: number, days: number, seed: number): WundergroundDay[] {
  const tz = station.timezone;
  const firstDate = isoDate(start);
  const endDate = isoDate(start + days * DAY);
  const firstMinute = index === 0 ? 4 : 1 + (hashSeed(station.id) % 4);
  // The console's rain counter resets once a day, not always at local midnight.
  const resetMinutes = index % 2 === 0 ? 0 : 60;
  const t0 = zonedMidnight(firstDate, tz) + firstMinute * MINUTE;
  const tEnd = zonedMidnight(endDate, tz);
  const weather = new StationWeather(
    region,
    { latitude: station.latitude, longitude: station.longitude, elevation: station.elevation_m ?? 10, exposure: 0.85 },
    { start: t0, stepMinutes: 5, seed: hashSeed(seed, 'wunderground', station.id) },
  );
  const rng = new Rng(seed, 'wunderground-gaps', station.id);
  const out: WundergroundDay[] = [];
  let current: WundergroundDay | null = null;
  let accumHundredths = 0;
  let carry = 0;
  let accumKey = '';
  let gapLeft = 0;
  let windOutLeft = 0;
  for (let t = t0; t < tEnd; t += 5 * MINUTE) {
    const w = weather.next();
    const local = localParts(t, tz);
    if (!current || current.date !== local.date) {
      current = { date: local.date, rows: [] };
      out.push(current);
    }
    // Daily total: resets when the wall clock passes `resetMinutes`.
    const key = localParts(t - resetMinutes * MINUTE, tz).date;
    if (key !== accumKey) {
      accumKey = key;
      accumHundredths = 0;
    }
    carry += (w.precipitation / 25.4) * 100;
    const tips = Math.floor(carry);
    carry -= tips;
    accumHundredths += tips;

    if (gapLeft === 0 && rng.next() < 0.003) gapLeft = rng.int(1, 3);
    if (windOutLeft === 0 && rng.next() < 0.0004) windOutLeft = rng.int(12, 48);
    const windOut = windOutLeft > 0;
    if (windOut) windOutLeft--;
    if (gapLeft > 0) {
      gapLeft--;
      continue;
    }
    const tf = round((w.temperature * 9) / 5 + 32, 1);
    const dpf = Math.min(tf, round((w.dewPoint * 9) / 5 + 32, 1));
    const speed = round(w.windSpeed / 1.609344, 1);
    const gust = Math.max(speed, round(w.windGust / 1.609344, 1));
    const row: WundergroundRow = {
      localMinutes: local.minutes,
      temperature_f: tf,
      dew_point_f: dpf,
      humidity_pct: Math.min(100, Math.round(relativeHumidity(w.temperature, w.dewPoint))),
      wind_dir: windOut ? null : speed === 0 && rng.next() < 0.5 ? null : compassWord(w.windDirection),
      speed_mph: windOut ? null : speed,
      gust_mph: windOut ? null : gust,
      pressure_inhg: round(w.pressure / 33.8639, 2),
      precip_rate_in: round(w.precipRate / 25.4, 2),
      precip_accum_in: accumHundredths / 100,
      uv: Math.round(w.uv),
      solar_w_m2: round(w.solar, 1),
    };
    current.rows.push(row);
  }
  return out;
}

/** Writes `days` InfoClimat daily responses for `stations` stations, and the WU workbooks, into `out`. */
export async function generateStations(opts: GenerateStationsOptions): Promise<GenerateStationsResult> {
  const { stations: n, days, out } = opts;
  if (!Number.isInteger(n) || n < 1) throw new Error(`stations must be a positive integer (got ${n})`);
  if (!Number.isInteger(days) || days < 1) throw new Error(`days must be a positive integer (got ${days})`);
  const start = parseStart(opts.start ?? '2024-10-01');
  const seed = opts.seed ?? 1;
  const withWu = opts.wunderground ?? true;
  const wuStations = withWu ? DEFAULT_WU_STATIONS : [];
  const total = days + wuStations.length;
  await mkdir(out, { recursive: true });

  const region = createRegion({ seed, start: start - DAY, end: start + (days + 1) * DAY });
  const metas = stationList(n);
  const gens = metas.map((m) => makeStation(m, region, start, seed));
  const times10: string[] = [];
  for (let m = 0; m < 1440; m += 10) times10.push(`${pad2(Math.floor(m / 60))}:${pad2(m % 60)}:00`);
  const times60 = times10.filter((_, i) => i % 6 === 0);

  const files: string[] = [];
  let reports = 0;
  let done = 0;

  let pending: Promise<void> | null = null;
  for (let d = 0; d < days; d++) {
    const dayStart = start + d * DAY;
    const date = isoDate(dayStart);
    const parts: string[] = [
      `{"status":"OK","errors":[],"data":[],"stations":${JSON.stringify(metas)},"metadata":${JSON.stringify(INFOCLIMAT_METADATA)},"hourly":{`,
    ];
    for (const s of gens) {
      const rows = stationDay(s, dayStart, `${date} `, s.synop ? times60 : times10);
      reports += rows.length;
      parts.push(`${JSON.stringify(s.meta.id)}:[${rows.join(',')}],`);
    }
    parts.push(`"_params":${JSON.stringify(INFOCLIMAT_PARAMS)}}}`);
    const body = parts.join('');
    const path = join(out, `infoclimat-${date}.json`);
    if (pending) await pending;
    pending = writeFile(path, body).then(() => {
      files.push(path);
      opts.onProgress?.(++done, total);
    });
  }
  if (pending) await pending;

  for (let i = 0; i < wuStations.length; i++) {
    const station = wuStations[i] as StationConfig;
    const wuDays = wundergroundDays(station, i, region, start, days, seed);
    for (const day of wuDays) reports += day.rows.length;
    const path = join(out, wundergroundFileName(station));
    await writeWundergroundWorkbook(path, station, wuDays);
    files.push(path);
    opts.onProgress?.(++done, total);
  }
  return { files, reports, stations: n + wuStations.length };
}
