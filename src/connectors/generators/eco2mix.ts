/**
 * `ecluse generate eco2mix`: RTE eCO2mix regional records shaped like the OpenDataSoft datasets
 * `eco2mix-regional-tr` (every 15 minutes) and `eco2mix-regional-cons-def` (every 30 minutes) of
 * odre.opendatasoft.com (docs/pipelines/eco2mix.md), in either layout (current, or 2020 with Import/Export
 * columns), with the quirks a reader must survive.
 *
 * The shapes are a model, not data: per region a consumption curve (daily, weekly, seasonal, a weather
 * anomaly) scaled by the region's size, and per source a production driven by the region's installed
 * capacity (rough 2024 figures, grown or shrunk over the years) and by the sun, the wind and the rivers.
 * Records come one local day at a time, every region per time slot, and are written as a stream: the
 * full consolidated history (~2.7M rows) never sits in memory. Same seed (and same `now`), same bytes.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { csvCell } from '../../engine/csvCell.js';
import { parseDay, zoneOffsetMs } from '../../time/zones.js';
import { ECO2MIX_FIELDS, ECO2MIX_REGIONS, fieldIndex, type Eco2mixNature } from '../opendatasoft/eco2mix/fields.js';
import { Rng } from './random.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const PARIS = 'Europe/Paris';

export const ECO2MIX_FORMATS = ['api-json', 'json', 'jsonl', 'csv', 'csv-labels'] as const;
export type Eco2mixFormat = (typeof ECO2MIX_FORMATS)[number];

export interface GenerateEco2mixOptions {
  /** The first `n` of the 12 regions (INSEE code order), or all of them. */
  regions: number | 'all';
  /** First local (Europe/Paris) day, `YYYY-MM-DD`. */
  from: string;
  /** Last local day, inclusive. */
  to: string;
  /** `tr`: real time, 15 minutes; `cons-def`: consolidated and definitive, 30 minutes. */
  dataset: 'tr' | 'cons-def';
  /** Default 1. */
  seed?: number;
  /** `current` (default): batteries, onshore/offshore wind, a trailing empty column; `2020`: Import/Export columns instead. */
  layout?: 'current' | '2020';
  /**
   * `tr` only: the last `n` slots of `to` published ahead with every value empty, as the portal does for
   * the rest of today. Default: the slots after `now` when `to` is today in Paris, else none.
   */
  futureSlots?: number;
  /** The clock (ms) for "today" and for which years are definitive; default Date.now(). Tests pin it. */
  now?: number;
}

/** One record by ECO2MIX_FIELDS index: text keys, MW and % as numbers, or quirks (a string number, `""`, `"-"`, `"ND"`). */
export type Eco2mixRecord = (string | number | null)[];

interface RegionModel {
  code: string;
  name: string;
  /** Annual mean consumption, MW. */
  consumption: number;
  /** Winter-over-summer swing of consumption (electric heating; PACA's summer air conditioning flattens it). */
  seasonAmp: number;
  lat: number;
  lon: number;
  nuclear: (t: number) => number;
  hydro: number;
  /** Installed pumped storage, MW drawn when pumping. */
  pumping: number;
  /** Onshore wind in 2024, MW. */
  wind: number;
  offshore: { mw: number; from: number } | null;
  /** Solar in 2024, MW. */
  solar: number;
  thermal: number;
  /** Share of thermal capacity running at the least (cogeneration, must-run). */
  thermalBase: number;
  bioenergy: number;
  battery: number;
}

const at = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const flat = (mw: number) => () => mw;

/**
 * Nuclear plants, by region (common knowledge, rounded): Centre-Val de Loire (Belleville, Dampierre,
 * Saint-Laurent, Chinon), Normandie (Flamanville — its EPR from autumn 2024 —, Paluel, Penly),
 * Hauts-de-France (Gravelines), Grand Est (Cattenom, Chooz, Nogent; Fessenheim until mid-2020),
 * Nouvelle-Aquitaine (Blayais, Civaux), Occitanie (Golfech), Auvergne-Rhône-Alpes (Bugey, Saint-Alban,
 * Cruas, Tricastin). None in Île-de-France, Bourgogne-Franche-Comté, Pays de la Loire, Bretagne
 * (Brennilis closed in 1985) or Provence-Alpes-Côte d'Azur: their `nucleaire` is empty.
 */
const MODELS: Readonly<Record<string, Omit<RegionModel, 'code' | 'name'>>> = {
  // prettier-ignore
  '11': { consumption: 7600, seasonAmp: 0.25, lat: 48.85, lon: 2.35, nuclear: flat(0), hydro: 20, pumping: 0, wind: 100, offshore: null, solar: 350, thermal: 1200, thermalBase: 0.15, bioenergy: 250, battery: 10 },
  // prettier-ignore
  '24': { consumption: 2200, seasonAmp: 0.25, lat: 47.5, lon: 1.7, nuclear: flat(11_600), hydro: 90, pumping: 0, wind: 1400, offshore: null, solar: 800, thermal: 100, thermalBase: 0.1, bioenergy: 80, battery: 5 },
  // prettier-ignore
  '27': { consumption: 2300, seasonAmp: 0.25, lat: 47.2, lon: 5.0, nuclear: flat(0), hydro: 550, pumping: 0, wind: 1000, offshore: null, solar: 650, thermal: 150, thermalBase: 0.1, bioenergy: 90, battery: 5 },
  // prettier-ignore
  '28': { consumption: 3000, seasonAmp: 0.22, lat: 49.2, lon: 0.4, nuclear: (t) => (t >= at('2024-10-01') ? 12_000 : 10_400), hydro: 50, pumping: 0, wind: 950, offshore: { mw: 497, from: at('2024-01-01') }, solar: 450, thermal: 600, thermalBase: 0.1, bioenergy: 110, battery: 5 },
  // prettier-ignore
  '32': { consumption: 5600, seasonAmp: 0.22, lat: 50.3, lon: 2.8, nuclear: flat(5400), hydro: 5, pumping: 0, wind: 6000, offshore: null, solar: 550, thermal: 2600, thermalBase: 0.3, bioenergy: 200, battery: 10 },
  // prettier-ignore
  '44': { consumption: 5100, seasonAmp: 0.24, lat: 48.7, lon: 6.2, nuclear: (t) => (t >= at('2020-07-01') ? 10_800 : 12_600), hydro: 2300, pumping: 800, wind: 4200, offshore: null, solar: 1300, thermal: 2000, thermalBase: 0.2, bioenergy: 220, battery: 15 },
  // prettier-ignore
  '52': { consumption: 3000, seasonAmp: 0.24, lat: 47.4, lon: -0.8, nuclear: flat(0), hydro: 10, pumping: 0, wind: 1150, offshore: { mw: 480, from: at('2023-01-01') }, solar: 1100, thermal: 1500, thermalBase: 0.15, bioenergy: 120, battery: 10 },
  // prettier-ignore
  '53': { consumption: 2500, seasonAmp: 0.26, lat: 48.2, lon: -2.9, nuclear: flat(0), hydro: 240, pumping: 0, wind: 1250, offshore: { mw: 496, from: at('2024-01-01') }, solar: 550, thermal: 600, thermalBase: 0.1, bioenergy: 100, battery: 10 },
  // prettier-ignore
  '75': { consumption: 4800, seasonAmp: 0.23, lat: 45.2, lon: 0.2, nuclear: flat(6600), hydro: 2200, pumping: 0, wind: 1700, offshore: null, solar: 4600, thermal: 300, thermalBase: 0.05, bioenergy: 250, battery: 20 },
  // prettier-ignore
  '76': { consumption: 4400, seasonAmp: 0.2, lat: 43.7, lon: 2.3, nuclear: flat(2600), hydro: 5400, pumping: 900, wind: 1900, offshore: null, solar: 3600, thermal: 300, thermalBase: 0.05, bioenergy: 150, battery: 20 },
  // prettier-ignore
  '84': { consumption: 7100, seasonAmp: 0.22, lat: 45.5, lon: 4.9, nuclear: flat(13_400), hydro: 11_500, pumping: 3000, wind: 750, offshore: null, solar: 2100, thermal: 500, thermalBase: 0.05, bioenergy: 250, battery: 30 },
  // prettier-ignore
  '93': { consumption: 4700, seasonAmp: 0.15, lat: 43.7, lon: 5.9, nuclear: flat(0), hydro: 3200, pumping: 0, wind: 100, offshore: { mw: 25, from: at('2024-01-01') }, solar: 2300, thermal: 2000, thermalBase: 0.2, bioenergy: 120, battery: 40 },
};

/** Grid batteries appear in the data from 2021; before, the battery columns of the current layout are empty. */
const BATTERIES_FROM = at('2021-01-01');

function regionModels(n: number | 'all'): RegionModel[] {
  const codes = [...ECO2MIX_REGIONS.keys()];
  const count = n === 'all' ? codes.length : n;
  if (!Number.isInteger(count) || count < 1 || count > codes.length)
    throw new Error(`regions must be 'all' or an integer from 1 to ${codes.length} (got ${n})`);
  return codes.slice(0, count).map((code) => ({ code, name: ECO2MIX_REGIONS.get(code) as string, ...(MODELS[code] as Omit<RegionModel, 'code' | 'name'>) }));
}

/** Installed wind and solar grew several-fold since 2013: a linear ramp to the 2024 figures, then on. */
function growth(t: number, in2013: number): number {
  const years = (t - at('2013-01-01')) / (365.25 * DAY);
  return Math.max(in2013 * 0.8, in2013 + ((1 - in2013) * years) / 11);
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

function dayString(utcMidnight: number): string {
  const d = new Date(utcMidnight);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

interface Slot {
  /** The UTC instant the row's `date_heure` means. */
  instant: number;
  /** Local wall time, hours from midnight (drives human activity). */
  localHour: number;
  heure: string;
  dateHeure: string;
}

/**
 * The time slots of one local day. The autumn day has 25 hours (02:00 and 02:30 twice, told apart by
 * their offsets). The spring day lists all 24 wall hours, as the datasets do: the 02:xx slots, which
 * never happened in Paris, are written with the summer instants that follow (`03:00+02:00`), so those
 * `date_heure` values appear twice in real exports (the modelling of test/pipelines/eco2mix/dst.test.ts).
 */
function daySlots(day: string, stepMin: number): Slot[] {
  const midnight = parseDay(day) as number;
  // Clocks change at 01:00 UTC, so two hours before either local midnight the offset is the day's first one.
  const start = midnight - zoneOffsetMs(midnight - 2 * HOUR, PARIS);
  const end = midnight + DAY - zoneOffsetMs(midnight + DAY - 2 * HOUR, PARIS);
  const slots: Slot[] = [];
  const step = stepMin * MIN;
  const spring = end - start < DAY;
  const count = spring ? DAY / step : (end - start) / step;
  for (let k = 0; k < count; k++) {
    let instant: number;
    let wall: number;
    if (spring) {
      wall = k * step;
      const skipped = wall >= 2 * HOUR && wall < 3 * HOUR;
      instant = midnight + wall - (wall < 2 * HOUR ? 1 : 2) * HOUR + (skipped ? HOUR : 0);
    } else {
      instant = start + k * step;
      // Only the autumn day needs the zone at each slot; any other day keeps its midnight offset.
      wall = end - start === DAY ? k * step : instant + zoneOffsetMs(instant, PARIS) - midnight;
    }
    const shown = spring && wall >= 2 * HOUR && wall < 3 * HOUR ? wall + HOUR : wall;
    const offsetH = (midnight + shown - instant) / HOUR;
    const heure = `${pad2(Math.floor(wall / HOUR))}:${pad2((wall % HOUR) / MIN)}`;
    const shownTime = `${pad2(Math.floor(shown / HOUR))}:${pad2((shown % HOUR) / MIN)}`;
    slots.push({ instant, localHour: wall / HOUR, heure, dateHeure: `${day}T${shownTime}:00+0${offsetH}:00` });
  }
  return slots;
}

interface RegionState {
  m: RegionModel;
  rng: Rng;
  /** Temperature anomaly, °C (AR(1)): a cold spell raises consumption. */
  cold: number;
  /** Cloud cover's departure from its seasonal mean (AR(1)), so a run starting in any month starts in its season. */
  cloudDev: number;
  /** The region's own part of the wind (the shared weather system comes from the national state). */
  wind: number;
  /** Hydrology: a wet or dry year. */
  water: number;
  /** Nuclear availability's departure from its seasonal mean: outages come and go over weeks. */
  nuclearDev: number;
}

const I = Object.fromEntries(ECO2MIX_FIELDS.map((f, i) => [f.name, i])) as Record<string, number>;
// A typo in a name below throws here rather than writing into index `undefined`.
for (const n of ['code_insee_region', 'date_heure', 'pompage', 'eolien_offshore', 'tch_bioenergies']) fieldIndex(n);

const gauss = (x: number, mu: number, sigma: number) => Math.exp(-((x - mu) ** 2) / (2 * sigma * sigma));

/** Relative consumption over the local day: night trough, morning rise, midday plateau, evening peak (stronger in winter), the 23:00 off-peak water heaters. */
function dailyProfile(h: number, winter: number): number {
  return (
    0.8 +
    0.2 * gauss(h, 10.5, 2.8) +
    0.1 * gauss(h, 13.5, 4) +
    (0.08 + 0.1 * winter) * gauss(h, 19.5, 1.6) +
    0.06 * (gauss(h, 23.5, 1.1) + gauss(h, -0.5, 1.1)) -
    0.04 * gauss(h, 4, 1.5)
  );
}

/** Sine of the sun's elevation at an instant and place (declination and hour angle; good to a degree). */
function sunSine(instant: number, doy: number, lat: number, lon: number): number {
  const decl = ((23.44 * Math.PI) / 180) * Math.sin((2 * Math.PI * (284 + doy)) / 365);
  const utcHours = (instant % DAY) / HOUR;
  const hourAngle = ((utcHours + lon / 15 - 12) * Math.PI) / 12;
  const phi = (lat * Math.PI) / 180;
  return Math.sin(phi) * Math.sin(decl) + Math.cos(phi) * Math.cos(decl) * Math.cos(hourAngle);
}

const round2 = (x: number) => Math.round(x * 100) / 100;
/** MW as the datasets write them: whole numbers, and never `-0`. */
const mw = (x: number) => Math.round(x) + 0;

/** What a time slot means for every region alike: computed once per slot, not once per row. */
interface SlotContext {
  t: number;
  doy: number;
  /** 1 in mid-January, 0 in mid-July. */
  winter: number;
  /** Consumption factor of the local hour, weekday and season (without the region's heating). */
  demand: number;
  river: number;
  lakes: number;
  nightPump: number;
  weekendPump: number;
  thermalPeak: number;
  charge: number | null;
  discharge: number | null;
  windGrowth: number;
  solarGrowth: number;
}

function slotContext(slot: Slot, weekday: number): SlotContext {
  const t = slot.instant;
  const year = new Date(t).getUTCFullYear();
  const doy = (t - Date.UTC(year, 0, 1)) / DAY;
  const winter = 0.5 + 0.5 * Math.cos((2 * Math.PI * (doy - 20)) / 365.25);
  const h = slot.localHour;
  const weekFactor = weekday === 0 ? 0.86 : weekday === 6 ? 0.91 : 1;
  const august = 1 - 0.06 * gauss(doy, 222, 10);
  const weekend = weekday === 0 || weekday === 6;
  const batteries = t >= BATTERIES_FROM;
  return {
    t,
    doy,
    winter,
    demand: weekFactor * august * dailyProfile(h, winter),
    // Rivers run high with the spring snowmelt and the winter rains; lakes follow the demand peaks.
    river: 0.2 + 0.22 * gauss(doy, 145, 30) + 0.1 * winter,
    lakes: (0.12 + 0.18 * winter) * (gauss(h, 19, 2) + 0.6 * gauss(h, 11, 2)),
    // Pumped storage draws power in the off-peak night and, on weekends, at midday when the sun shines.
    nightPump: gauss(h, 3.5, 2),
    weekendPump: weekend ? 0.4 * gauss(h, 13.5, 2) : 0,
    thermalPeak: 0.35 * winter * winter + 0.15 * winter * gauss(h, 19, 2),
    // Batteries charge around midday and give back at the evening peak.
    charge: batteries ? -Math.max(0, gauss(h, 13, 2) - 0.2) : null,
    discharge: batteries ? Math.max(0, gauss(h, 19.5, 1.5) - 0.2) : null,
    windGrowth: growth(t, 0.4),
    solarGrowth: growth(t, 0.2),
  };
}

/** AR(1) weights for processes whose memory is in hours, whatever the step. */
interface Persistence {
  cold: number;
  cloud: number;
  wind: number;
  nuclear: number;
}

function persistence(stepMin: number): Persistence {
  const keep = (tauHours: number) => Math.exp(-stepMin / 60 / tauHours);
  return { cold: keep(72), cloud: keep(8), wind: keep(12), nuclear: keep(24 * 20) };
}

const F = {
  consommation: I.consommation as number,
  thermique: I.thermique as number,
  nucleaire: I.nucleaire as number,
  eolien: I.eolien as number,
  solaire: I.solaire as number,
  hydraulique: I.hydraulique as number,
  pompage: I.pompage as number,
  bioenergies: I.bioenergies as number,
  ech_physiques: I.ech_physiques as number,
  stockage_batterie: I.stockage_batterie as number,
  destockage_batterie: I.destockage_batterie as number,
  eolien_terrestre: I.eolien_terrestre as number,
  eolien_offshore: I.eolien_offshore as number,
};
/** The sources with `tco_` and `tch_` columns: [MW field, tco field, tch field]. */
const RATIOS = (['thermique', 'nucleaire', 'eolien', 'solaire', 'hydraulique', 'bioenergies'] as const).map(
  (n) => [I[n] as number, I[`tco_${n}`] as number, I[`tch_${n}`] as number] as const,
);
const ar = (k: number, x: number, mean: number, noise: number) => k * x + (1 - k) * mean + Math.sqrt(1 - k * k) * noise;

/** Fills the MW and % fields of one record from the region's state at a slot. */
function fillValues(v: Eco2mixRecord, s: RegionState, c: SlotContext, k: Persistence, sharedWind: number): void {
  const { m, rng } = s;
  const { t, winter } = c;
  s.cold = ar(k.cold, s.cold, 0, rng.normal(0, 3));
  // Cloudier in winter and in the north: the Mediterranean south sees the most sun.
  s.cloudDev = ar(k.cloud, s.cloudDev, 0, rng.normal(0, 0.25));
  const cloud = Math.min(1, Math.max(0, 0.33 + 0.3 * winter + 0.03 * (m.lat - 46) + s.cloudDev));
  s.wind = ar(k.wind, s.wind, 0, rng.normal(0, 0.6));
  // Reactors are refuelled and maintained in the summer, when demand is low: about 60 % available then, 80 % in winter.
  s.nuclearDev = ar(k.nuclear, s.nuclearDev, 0, rng.normal(0, 0.08));
  const nuclearAvail = 0.6 + 0.22 * winter + s.nuclearDev;

  const heating = 1 + m.seasonAmp * (2 * winter - 1) - 0.012 * s.cold * (0.3 + winter);
  const consumption = m.consumption * heating * c.demand * (1 + rng.normal(0, 0.008));

  const nuclearCap = m.nuclear(t);
  const nuclear = nuclearCap === 0 ? null : nuclearCap * Math.min(0.97, Math.max(0.35, nuclearAvail)) * (1 + rng.normal(0, 0.004));

  const gust = sharedWind + s.wind;
  const windLoad = Math.min(0.85, Math.max(0.01, 0.12 + 0.12 * winter + 0.1 * gust + 0.025 * gust * gust));
  const onshoreCap = m.wind * c.windGrowth;
  const offshoreCap = m.offshore && t >= m.offshore.from ? m.offshore.mw : 0;
  const onshore = onshoreCap * windLoad * (1 + rng.normal(0, 0.02));
  const offshore = m.offshore === null ? null : offshoreCap * Math.min(0.95, windLoad * 1.3);
  const wind = onshore + (offshore ?? 0);

  const sun = sunSine(t, c.doy, m.lat, m.lon);
  const solarCap = m.solar * c.solarGrowth;
  const solar = sun <= 0 ? 0 : solarCap * 0.85 * sun ** 1.15 * (1 - 0.75 * cloud);

  const hydro = m.hydro * Math.min(0.95, (c.river + c.lakes) * s.water * (1 + rng.normal(0, 0.03)));
  const pumping = m.pumping === 0 ? 0 : -m.pumping * Math.min(0.9, (c.nightPump + c.weekendPump * (1 - cloud)) * rng.uniform(0.4, 0.9));
  const thermal = m.thermal * Math.min(0.95, m.thermalBase + c.thermalPeak + 0.004 * Math.max(0, s.cold)) * (1 + rng.normal(0, 0.02));
  const bioenergy = m.bioenergy * (0.7 + 0.1 * winter) * (1 + rng.normal(0, 0.01));
  const charge = c.charge === null ? null : m.battery * c.charge;
  const discharge = c.discharge === null ? null : m.battery * c.discharge;

  const produced = thermal + (nuclear ?? 0) + wind + solar + hydro + bioenergy + pumping + (charge ?? 0) + (discharge ?? 0);
  // Negative when the region exports: what it consumes beyond what it produces, plus a little loss.
  const exchanges = consumption * 1.02 - produced;

  v[F.consommation] = mw(consumption);
  v[F.thermique] = mw(thermal);
  v[F.nucleaire] = nuclear === null ? null : mw(nuclear);
  v[F.eolien] = mw(wind);
  v[F.solaire] = mw(solar);
  v[F.hydraulique] = mw(hydro);
  v[F.pompage] = mw(pumping);
  v[F.bioenergies] = mw(bioenergy);
  v[F.ech_physiques] = mw(exchanges);
  v[F.stockage_batterie] = charge === null ? null : mw(charge);
  v[F.destockage_batterie] = discharge === null ? null : mw(discharge);
  v[F.eolien_terrestre] = mw(onshore);
  v[F.eolien_offshore] = offshore === null ? null : mw(offshore);
  const cons = v[F.consommation] as number;
  const caps = [m.thermal, nuclearCap, onshoreCap + offshoreCap, solarCap, m.hydro, m.bioenergy];
  for (let r = 0; r < RATIOS.length; r++) {
    const [field, tco, tch] = RATIOS[r] as readonly [number, number, number];
    const written = v[field] as number | null;
    const cap = caps[r] as number;
    v[tco] = written === null ? null : round2((100 * written) / cons);
    v[tch] = written === null || cap === 0 ? null : round2((100 * written) / cap);
  }
}

const MW_FIELDS = ECO2MIX_FIELDS.flatMap((f, i) => (f.type === 'mw' ? [i] : []));

/** The reader-facing quirks: a number now and then as a string (`"-6"`), a missing value now and then as `""`, `"-"` or `"ND"`. */
function addQuirks(v: Eco2mixRecord, rng: Rng): void {
  for (const i of MW_FIELDS) {
    const x = v[i];
    if (typeof x !== 'number') continue;
    const r = rng.next();
    if (r < 0.002) v[i] = String(x);
    else if (r < 0.0035) v[i] = rng.pick(['', '-', 'ND']);
  }
}

function natureOf(dataset: 'tr' | 'cons-def', day: string, now: number): Eco2mixNature {
  if (dataset === 'tr') return 'Données temps réel';
  // RTE makes a year definitive once the next one is complete: before the last complete year, definitive.
  const lastComplete = new Date(now).getUTCFullYear() - 1;
  return Number(day.slice(0, 4)) < lastComplete ? 'Données définitives' : 'Données consolidées';
}

interface Plan {
  days: string[];
  stepMin: number;
  regions: RegionModel[];
  future: number;
  rows: number;
}

function plan(opts: GenerateEco2mixOptions): Plan {
  const from = parseDay(opts.from);
  const to = parseDay(opts.to);
  if (from === null) throw new Error(`from "${opts.from}" is not a YYYY-MM-DD date`);
  if (to === null) throw new Error(`to "${opts.to}" is not a YYYY-MM-DD date`);
  if (to < from) throw new Error(`to (${opts.to}) is before from (${opts.from})`);
  const days: string[] = [];
  for (let d = from; d <= to; d += DAY) days.push(dayString(d));
  const stepMin = opts.dataset === 'tr' ? 15 : 30;
  const regions = regionModels(opts.regions);
  const perDay = days.map((d) => daySlots(d, stepMin).length);
  const lastDay = perDay[perDay.length - 1] as number;
  let future = 0;
  if (opts.futureSlots !== undefined) {
    if (opts.dataset !== 'tr' && opts.futureSlots > 0) throw new Error('futureSlots: only the real-time dataset (tr) publishes slots ahead');
    if (!Number.isInteger(opts.futureSlots) || opts.futureSlots < 0 || opts.futureSlots > lastDay)
      throw new Error(`futureSlots must be an integer from 0 to ${lastDay} (the slots of ${opts.to})`);
    future = opts.futureSlots;
  } else if (opts.dataset === 'tr') {
    const now = opts.now ?? Date.now();
    const today = dayString(now + zoneOffsetMs(now, PARIS));
    if (today === opts.to) future = daySlots(opts.to, stepMin).filter((s) => s.instant > now).length;
  }
  return { days, stepMin, regions, future, rows: regions.length * perDay.reduce((a, b) => a + b, 0) };
}

/** The records of a generation, day by day, each slot for every region in turn; each record is a fresh array. */
export function* eco2mixRecords(opts: GenerateEco2mixOptions): Generator<Eco2mixRecord> {
  const p = plan(opts);
  const seed = opts.seed ?? 1;
  const now = opts.now ?? Date.now();
  const nationalRng = new Rng(seed, 'eco2mix-weather', opts.dataset);
  let sharedWind = nationalRng.normal(0, 1);
  const kSharedWind = Math.exp(-p.stepMin / 60 / 18);
  const keep = persistence(p.stepMin);
  const states: RegionState[] = p.regions.map((m) => {
    const profile = new Rng(seed, 'eco2mix-profile', m.code);
    return {
      m,
      rng: new Rng(seed, 'eco2mix', opts.dataset, m.code),
      cold: profile.normal(0, 2),
      cloudDev: profile.normal(0, 0.2),
      wind: profile.normal(0, 0.5),
      water: profile.uniform(0.8, 1.2),
      nuclearDev: profile.normal(0, 0.05),
    };
  });
  const quirks = new Rng(seed, 'eco2mix-quirks', opts.dataset);
  const lastDay = p.days[p.days.length - 1];
  for (const day of p.days) {
    const nature = natureOf(opts.dataset, day, now);
    const slots = daySlots(day, p.stepMin);
    const weekday = new Date(parseDay(day) as number).getUTCDay();
    // A wet or dry year for the rivers, drawn each new year.
    if (day.endsWith('-01-01')) for (const s of states) s.water = s.rng.uniform(0.75, 1.25);
    const firstEmpty = day === lastDay ? slots.length - p.future : slots.length;
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[k] as Slot;
      const context = k < firstEmpty ? slotContext(slot, weekday) : null;
      sharedWind = ar(kSharedWind, sharedWind, 0, nationalRng.normal(0, 1));
      for (const s of states) {
        const v: Eco2mixRecord = new Array<null>(ECO2MIX_FIELDS.length).fill(null);
        v[I.code_insee_region as number] = s.m.code;
        v[I.libelle_region as number] = s.m.name;
        v[I.nature as number] = nature;
        v[I.date as number] = day;
        v[I.heure as number] = slot.heure;
        v[I.date_heure as number] = slot.dateHeure;
        if (context !== null) {
          fillValues(v, s, context, keep, sharedWind);
          addQuirks(v, quirks);
        }
        yield v;
      }
    }
  }
}

const NAME_SLUG = (name: string) =>
  name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .toLowerCase();

interface Column {
  name: string;
  label: string;
  /** The record field the column shows, or null (the trailing empty column, or an Import/Export flow). */
  field: number | null;
  /** Import/Export columns: the region whose rows fill it, and which sign of `ech_physiques` it shows. */
  flow: { code: string; sign: 1 | -1 } | null;
}

/**
 * The columns of a layout. 2020: the 2020 files carried `Import <region>` / `Export <region>` instead of
 * the battery and offshore columns; modelled here as each generated region's own imports and exports
 * (the two signs of `ech_physiques`), filled on that region's rows only. Current: the trailing column
 * that is always empty.
 */
function columns(layout: 'current' | '2020', regions: readonly RegionModel[]): Column[] {
  const fields: Column[] = ECO2MIX_FIELDS.flatMap((f, i) =>
    layout === '2020' && f.currentOnly ? [] : [{ name: f.name, label: f.label, field: i, flow: null }],
  );
  if (layout === 'current') return [...fields, { name: 'column_68', label: 'Column 68', field: null, flow: null }];
  const exchanges = regions.flatMap((r): Column[] => [
    { name: `import_${NAME_SLUG(r.name)}`, label: `Import ${r.name}`, field: null, flow: { code: r.code, sign: 1 } },
    { name: `export_${NAME_SLUG(r.name)}`, label: `Export ${r.name}`, field: null, flow: { code: r.code, sign: -1 } },
  ]);
  // After the exchanges, where the 2020 files put them: before the percentages.
  const pos = fields.findIndex((c) => c.name.startsWith('tco_'));
  return [...fields.slice(0, pos), ...exchanges, ...fields.slice(pos)];
}

function cellValue(v: Eco2mixRecord, col: Column): string | number | null {
  if (col.field !== null) return v[col.field] ?? null;
  if (col.flow === null) return null;
  const x = v[I.ech_physiques as number];
  if (v[I.code_insee_region as number] !== col.flow.code || typeof x !== 'number') return null;
  return Math.max(0, col.flow.sign * x) + 0;
}

/** JSON spellings of the texts that repeat on every row (names, natures, dates, times); cleared now and then. */
const jsonTexts = new Map<string, string>();
function jsonText(x: string): string {
  let j = jsonTexts.get(x);
  if (j === undefined) {
    if (jsonTexts.size > 10_000) jsonTexts.clear();
    j = JSON.stringify(x);
    jsonTexts.set(x, j);
  }
  return j;
}

function jsonLine(v: Eco2mixRecord, cols: readonly Column[], keys: readonly string[]): string {
  let out = '{';
  for (let c = 0; c < cols.length; c++) {
    const x = cellValue(v, cols[c] as Column);
    out += keys[c] as string;
    out += x === null ? 'null' : typeof x === 'number' ? String(x) : jsonText(x);
  }
  return out + '}';
}

function csvLine(v: Eco2mixRecord, cols: readonly Column[]): string {
  let out = '';
  for (let c = 0; c < cols.length; c++) {
    const x = cellValue(v, cols[c] as Column);
    if (c > 0) out += ';';
    if (x !== null) out += typeof x === 'number' ? String(x) : csvCell(x, ';');
  }
  return out;
}

/** Writes a generation to `path` in `format`, streaming; returns the number of records written. */
export async function writeEco2mix(path: string, format: Eco2mixFormat, opts: GenerateEco2mixOptions): Promise<{ rows: number }> {
  const p = plan(opts);
  const cols = columns(opts.layout ?? 'current', p.regions);
  const keys = cols.map((c, k) => `${k === 0 ? '' : ','}${JSON.stringify(c.name)}:`);
  const out = createWriteStream(path);
  const failed = once(out, 'error').then(([err]) => {
    throw err as Error;
  });
  failed.catch(() => undefined);
  let buffer = '';
  const flush = async (force = false) => {
    if (!force && buffer.length < 1 << 20) return;
    const ok = out.write(buffer);
    buffer = '';
    if (!ok) await Promise.race([once(out, 'drain'), failed]);
  };
  // The slot count is known up front, so the API's total_count comes first without a counting pass.
  if (format === 'api-json') buffer += `{"total_count":${p.rows},"results":[`;
  else if (format === 'json') buffer += '[';
  else if (format === 'csv') buffer += `\uFEFF${cols.map((c) => c.name).join(';')}\n`;
  else if (format === 'csv-labels') buffer += `\uFEFF${cols.map((c) => csvCell(c.label, ';')).join(';')}\n`;
  let rows = 0;
  for (const v of eco2mixRecords(opts)) {
    if (format === 'csv' || format === 'csv-labels') buffer += `${csvLine(v, cols)}\n`;
    else if (format === 'jsonl') buffer += `${jsonLine(v, cols, keys)}\n`;
    else buffer += `${rows === 0 ? '\n' : ',\n'}${jsonLine(v, cols, keys)}`;
    rows++;
    if (buffer.length >= 1 << 20) await flush();
  }
  if (format === 'api-json') buffer += '\n]}\n';
  else if (format === 'json') buffer += '\n]\n';
  await flush(true);
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  if (rows !== p.rows) throw new Error(`eco2mix generator: wrote ${rows} rows, planned ${p.rows}`);
  return { rows };
}
