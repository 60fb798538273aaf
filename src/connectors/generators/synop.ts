/**
 * `ecluse generate synop`: Météo-France SYNOP observations shaped like the OpenDataSoft dataset
 * `donnees-synop-essentielles-omm` (docs/pipelines/synop.md): every 3 hours per station, all 82 fields,
 * the real units (K, Pa, m/s, mm with −0.1 for a trace, m), gaps (missing observations, missing values).
 *
 * Records are produced one time step at a time (all stations advance together) and written as a stream,
 * so a year of 62 stations never becomes one string. Same seed, same bytes.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { csvCell } from '../../engine/csvCell.js';
import { SYNOP_FIELDS, fieldIndex } from '../opendatasoft/synop/fields.js';
import { formatCoordinates, formatOffsetDateTime, isoUtc, parseOffsetDateTime, type SynopValues } from '../opendatasoft/synop/values.js';
import { Rng } from './random.js';
import { isDay } from '../../time/days.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const STEP = 3 * HOUR;

export const SYNOP_FORMATS = ['api-json', 'json', 'jsonl', 'csv', 'csv-labels'] as const;
export type SynopFormat = (typeof SYNOP_FORMATS)[number];

export interface SynopStation {
  numer_sta: string;
  nom: string;
  latitude: number;
  longitude: number;
  altitude: number;
  libgeo: string | null;
  codegeo: string | null;
  nom_epci: string | null;
  code_epci: string | null;
  nom_dept: string | null;
  code_dep: string | null;
  nom_reg: string | null;
  code_reg: string | null;
  /** Climate: annual mean °C, half the seasonal range, half the mean daily range. */
  mean: number;
  season: number;
  diurnal: number;
}

type StationRow = readonly [
  id: string,
  nom: string,
  lat: number,
  lon: number,
  alt: number,
  commune: string | null,
  codegeo: string | null,
  dep: string | null,
  reg: string | null,
  mean: number,
  season: number,
  diurnal: number,
];

const DEPARTMENTS: Readonly<Record<string, string>> = {
  '80': 'Somme',
  '59': 'Nord',
  '50': 'Manche',
  '14': 'Calvados',
  '76': 'Seine-Maritime',
  '51': 'Marne',
  '29': 'Finistère',
  '22': "Côtes-d'Armor",
  '35': 'Ille-et-Vilaine',
  '61': 'Orne',
  '94': 'Val-de-Marne',
  '10': 'Aube',
  '88': 'Vosges',
  '67': 'Bas-Rhin',
  '56': 'Morbihan',
  '44': 'Loire-Atlantique',
  '37': 'Indre-et-Loire',
  '18': 'Cher',
  '21': "Côte-d'Or",
  '68': 'Haut-Rhin',
  '17': 'Charente-Maritime',
  '86': 'Vienne',
  '87': 'Haute-Vienne',
  '63': 'Puy-de-Dôme',
  '43': 'Haute-Loire',
  '69': 'Rhône',
  '33': 'Gironde',
  '46': 'Lot',
  '12': 'Aveyron',
  '26': 'Drôme',
  '05': 'Hautes-Alpes',
  '40': 'Landes',
  '64': 'Pyrénées-Atlantiques',
  '65': 'Hautes-Pyrénées',
  '09': 'Ariège',
  '31': 'Haute-Garonne',
  '34': 'Hérault',
  '13': 'Bouches-du-Rhône',
  '83': 'Var',
  '06': 'Alpes-Maritimes',
  '66': 'Pyrénées-Orientales',
  '2A': 'Corse-du-Sud',
  '2B': 'Haute-Corse',
  '971': 'Guadeloupe',
  '972': 'Martinique',
  '973': 'Guyane',
  '974': 'La Réunion',
  '976': 'Mayotte',
};

const REGIONS: Readonly<Record<string, string>> = {
  '32': 'Hauts-de-France',
  '28': 'Normandie',
  '44': 'Grand Est',
  '53': 'Bretagne',
  '11': 'Île-de-France',
  '52': 'Pays de la Loire',
  '24': 'Centre-Val de Loire',
  '27': 'Bourgogne-Franche-Comté',
  '75': 'Nouvelle-Aquitaine',
  '84': 'Auvergne-Rhône-Alpes',
  '76': 'Occitanie',
  '93': "Provence-Alpes-Côte d'Azur",
  '94': 'Corse',
  '01': 'Guadeloupe',
  '02': 'Martinique',
  '03': 'Guyane',
  '04': 'La Réunion',
  '06': 'Mayotte',
};

/**
 * SYNOP stations of the public dataset (WMO numbers and names as it spells them; coordinates, communes
 * and climates approximate). Remote islands and Antarctica carry no commune, as in the dataset.
 */
const STATION_ROWS: readonly StationRow[] = [
  ['07005', 'ABBEVILLE', 50.136, 1.834, 69, 'Abbeville', '80001', '80', '32', 10.8, 6.5, 4],
  ['07015', 'LILLE-LESQUIN', 50.57, 3.0975, 47, 'Lesquin', '59343', '59', '32', 11.2, 7, 4.5],
  ['07020', 'PTE DE LA HAGUE', 49.725, -1.94, 6, 'La Hague', '50041', '50', '28', 11.6, 4.5, 2],
  ['07027', 'CAEN-CARPIQUET', 49.18, -0.456, 67, 'Carpiquet', '14137', '14', '28', 11.1, 6, 4.5],
  ['07037', 'ROUEN-BOOS', 49.383, 1.1817, 151, 'Boos', '76116', '76', '28', 10.5, 6.5, 4.5],
  ['07072', 'REIMS-PRUNAY', 49.2097, 4.1553, 95, 'Prunay', '51449', '51', '44', 11, 8, 5],
  ['07110', 'BREST-GUIPAVAS', 48.4442, -4.412, 94, 'Guipavas', '29075', '29', '53', 11.6, 5, 3.5],
  ['07117', "PLOUMANAC'H", 48.8258, -3.4732, 55, 'Perros-Guirec', '22168', '22', '53', 12.2, 4.5, 2.5],
  ['07130', 'RENNES-ST JACQUES', 48.0688, -1.7339, 36, 'Saint-Jacques-de-la-Lande', '35281', '35', '53', 12.3, 6.5, 5],
  ['07139', 'ALENCON', 48.4455, 0.1102, 143, 'Cerisé', '61077', '61', '28', 11.2, 6.5, 5],
  ['07149', 'ORLY', 48.7167, 2.3842, 89, 'Paray-Vieille-Poste', '91479', '94', '11', 12.5, 7.5, 4.5],
  ['07168', 'TROYES-BARBEREY', 48.3247, 4.02, 112, 'Barberey-Saint-Sulpice', '10030', '10', '44', 11.4, 8, 5.5],
  ['07181', 'NANCY-OCHEY', 48.5812, 5.9598, 336, 'Thuilley-aux-Groseilles', '54523', '88', '44', 10.2, 8.5, 5],
  ['07190', 'STRASBOURG-ENTZHEIM', 48.5495, 7.6402, 150, 'Entzheim', '67124', '67', '44', 11.2, 9, 5],
  ['07207', 'BELLE ILE-LE TALUT', 47.2945, -3.2182, 34, 'Bangor', '56009', '56', '53', 12.9, 5, 2.5],
  ['07222', 'NANTES-BOUGUENAIS', 47.15, -1.6087, 26, 'Bouguenais', '44020', '44', '52', 12.8, 6.5, 5],
  ['07240', 'TOURS', 47.4445, 0.7272, 108, 'Parçay-Meslay', '37175', '37', '24', 12.2, 7.5, 5.5],
  ['07255', 'BOURGES', 47.0588, 2.3595, 161, 'Bourges', '18033', '18', '24', 12.1, 8, 5.5],
  ['07280', 'DIJON-LONGVIC', 47.2678, 5.0882, 219, 'Ouges', '21473', '21', '27', 11.3, 9, 5.5],
  ['07299', 'BALE-MULHOUSE', 47.6142, 7.51, 263, 'Blotzheim', '68042', '68', '44', 11.1, 9, 5],
  ['07314', 'PTE DE CHASSIRON', 46.0467, -1.4115, 11, "Saint-Denis-d'Oléron", '17323', '17', '75', 13.4, 6, 2.5],
  ['07335', 'POITIERS-BIARD', 46.5938, 0.3143, 123, 'Biard', '86027', '86', '75', 12, 7.5, 5.5],
  ['07434', 'LIMOGES-BELLEGARDE', 45.8612, 1.175, 402, 'Limoges', '87085', '87', '75', 11.4, 7.5, 5],
  ['07460', 'CLERMONT-FD', 45.7867, 3.149, 331, 'Clermont-Ferrand', '63113', '63', '84', 12, 8.5, 6],
  ['07471', 'LE PUY-LOUDES', 45.0745, 3.7642, 833, 'Loudes', '43123', '43', '84', 9, 8, 6],
  ['07481', 'LYON-ST EXUPERY', 45.7265, 5.0778, 235, 'Colombier-Saugnieu', '69299', '69', '84', 12.6, 9.5, 5.5],
  ['07510', 'BORDEAUX-MERIGNAC', 44.8307, -0.6913, 47, 'Mérignac', '33281', '33', '75', 14, 7, 5.5],
  ['07535', 'GOURDON', 44.745, 1.3967, 260, 'Gourdon', '46127', '46', '76', 12.5, 8, 6],
  ['07558', 'MILLAU', 44.1185, 3.0195, 712, 'Millau', '12145', '12', '76', 11, 8, 5],
  ['07577', 'MONTELIMAR', 44.5813, 4.733, 73, 'Montélimar', '26198', '26', '84', 14.5, 9, 5.5],
  ['07591', 'EMBRUN', 44.5657, 6.5023, 871, 'Embrun', '05046', '05', '93', 10.5, 9, 6],
  ['07607', 'MONT-DE-MARSAN', 43.9098, -0.5002, 59, 'Mont-de-Marsan', '40192', '40', '75', 13.7, 7, 6.5],
  ['07621', 'TARBES-OSSUN', 43.188, 0.0, 360, 'Ossun', '65344', '65', '76', 12.8, 7, 5.5],
  ['07627', 'ST GIRONS', 43.0053, 1.1068, 414, 'Lorp-Sentaraille', '09289', '09', '76', 12.3, 7, 6],
  ['07630', 'TOULOUSE-BLAGNAC', 43.621, 1.3788, 151, 'Blagnac', '31069', '31', '76', 14.1, 8, 5.5],
  ['07643', 'MONTPELLIER', 43.5762, 3.9632, 2, 'Mauguio', '34154', '34', '76', 15.5, 8, 5],
  ['07650', 'MARIGNANE', 43.4377, 5.2162, 9, 'Marignane', '13054', '13', '93', 15.6, 8.5, 5],
  ['07661', 'CAP CEPET', 43.0798, 5.9408, 115, 'Saint-Mandrier-sur-Mer', '83153', '83', '93', 16, 7, 2.5],
  ['07690', 'NICE', 43.6483, 7.209, 2, 'Nice', '06088', '06', '93', 16.3, 7, 3.5],
  ['07747', 'PERPIGNAN', 42.7373, 2.8727, 42, 'Perpignan', '66136', '66', '76', 16.3, 7.5, 4.5],
  ['07761', 'AJACCIO', 41.918, 8.7928, 5, 'Ajaccio', '2A004', '2A', '94', 15.8, 7, 5],
  ['07790', 'BASTIA', 42.5407, 9.4852, 10, 'Lucciana', '2B148', '2B', '94', 16.2, 7.5, 4.5],
  ['07602', 'BIARRITZ-PAYS-BASQUE', 43.4683, -1.5311, 69, 'Anglet', '64024', '64', '75', 14.5, 6, 4],
  ['61968', 'GLORIEUSES', -11.5817, 47.2897, 3, null, null, null, null, 27.5, 1.5, 2],
  ['61970', 'JUAN DE NOVA', -17.0547, 42.7125, 12, null, null, null, null, 26.5, 2, 2.5],
  ['61972', 'EUROPA', -22.3442, 40.3406, 6, null, null, null, null, 25, 3, 2.5],
  ['61976', 'TROMELIN', -15.8875, 54.5206, 7, null, null, null, null, 25.8, 2, 1.5],
  ['61980', 'GILLOT-AEROPORT', -20.8925, 55.5286, 8, 'Sainte-Marie', '97418', '974', '04', 24.5, 2.5, 3.5],
  ['61996', 'NOUVELLE AMSTERDAM', -37.7953, 77.5694, 27, null, null, null, null, 13.5, 3, 2],
  ['61997', 'CROZET', -46.4325, 51.8567, 146, null, null, null, null, 5, 2.5, 2],
  ['61998', 'KERGUELEN', -49.3525, 70.2433, 29, null, null, null, null, 4.8, 3, 2.5],
  ['67005', 'PAMANDZI', -12.8055, 45.2828, 7, 'Pamandzi', '97615', '976', '06', 26.5, 1.5, 2.5],
  ['71805', 'ST-PIERRE', 46.7663, -56.1793, 21, null, null, null, null, 5.8, 8, 2.5],
  ['78890', 'LA DESIRADE METEO', 16.335, -61.004, 27, 'La Désirade', '97110', '971', '01', 26.7, 1.2, 2.5],
  ['78894', 'ST-BARTHELEMY METEO', 17.9015, -62.8522, 44, null, null, null, null, 26.8, 1.5, 2],
  ['78897', 'LE RAIZET AERO', 16.264, -61.516, 11, 'Les Abymes', '97101', '971', '01', 26.2, 1.3, 3.5],
  ['78922', 'TRINITE-CARAVEL', 14.7745, -60.875, 26, 'La Trinité', '97230', '972', '02', 26.5, 1.2, 2.5],
  ['78925', 'LAMENTIN-AERO', 14.595, -60.9958, 3, 'Le Lamentin', '97213', '972', '02', 27, 1.2, 3.5],
  ['81401', 'SAINT LAURENT', 5.4852, -54.0317, 5, 'Saint-Laurent-du-Maroni', '97311', '973', '03', 26.8, 0.8, 4.5],
  ['81405', 'CAYENNE-MATOURY', 4.8223, -52.3653, 4, 'Matoury', '97307', '973', '03', 26.7, 0.8, 4],
  ['81408', 'SAINT GEORGES', 3.8907, -51.8047, 6, "Saint-Georges-de-l'Oyapock", '97308', '973', '03', 26.5, 0.8, 4.5],
  ['81415', 'MARIPASOULA', 3.6403, -54.0283, 106, 'Maripasoula', '97353', '973', '03', 26.5, 0.8, 5],
  ['89642', "DUMONT D'URVILLE", -66.6632, 140.0012, 43, null, null, null, null, -10.8, 7, 2],
];

/** The first `n` stations (at most STATION_ROWS.length), Lille-Lesquin among the first two. */
export function synopStations(n: number): SynopStation[] {
  if (!Number.isInteger(n) || n < 1 || n > STATION_ROWS.length) {
    throw new Error(`stations must be an integer from 1 to ${STATION_ROWS.length} (got ${n})`);
  }
  return STATION_ROWS.slice(0, n).map(([id, nom, lat, lon, alt, commune, codegeo, dep, reg, mean, season, diurnal]) => ({
    numer_sta: id,
    nom,
    latitude: lat,
    longitude: lon,
    altitude: alt,
    libgeo: commune,
    codegeo,
    // EPCI: one hand-made community of communes per commune, for shape only.
    nom_epci: commune === null ? null : `CC du pays de ${commune}`,
    code_epci: codegeo === null ? null : `2${codegeo.replace(/\D/g, '0').padStart(8, '0')}`,
    nom_dept: dep === null ? null : (DEPARTMENTS[dep] ?? null),
    code_dep: dep,
    nom_reg: reg === null ? null : (REGIONS[reg] ?? null),
    code_reg: reg,
    mean,
    season,
    diurnal,
  }));
}

const COD_TEND_TEXT = [
  'Hausse, puis baisse',
  'Hausse, puis stationnaire, ou hausse, puis hausse plus lente',
  'Hausse (régulière ou irrégulière)',
  'Baisse ou stationnaire, puis hausse, ou hausse, puis hausse plus rapide',
  'Stationnaire',
  'Baisse, puis hausse',
  'Baisse, puis stationnaire, ou baisse, puis baisse plus lente',
  'Baisse (régulière ou irrégulière)',
  'Stationnaire ou hausse, puis baisse, ou baisse, puis baisse plus rapide',
];

const PAST_WEATHER_TEXT = [
  'Nuages couvrant la moitié du ciel ou moins pendant toute la période considérée',
  "Nuages couvrant plus de la moitié du ciel pendant une partie de la période considérée et la moitié ou moins pendant l'autre partie",
  'Nuages couvrant plus de la moitié du ciel pendant toute la période considérée',
  'Tempête de sable, de poussière ou de neige',
  'Brouillard ou brouillard glacé ou brume sèche épaisse',
  'Bruine',
  'Pluie',
  'Neige, ou pluie et neige mêlées',
  'Averse(s)',
  'Orage(s) avec ou sans précipitations',
];

const PRESENT_WEATHER_TEXT: Readonly<Record<number, string>> = {
  0: 'Évolution des nuages non observée ou pas observable',
  1: 'Nuages se dissipant ou devenant moins épais',
  2: 'État du ciel inchangé dans l’ensemble',
  3: 'Nuages en formation ou en train de se développer',
  10: 'Brume',
  45: 'Brouillard ou brouillard glacé, ciel invisible',
  51: 'Bruine, sans congélation, continue, faible',
  61: 'Pluie, sans congélation, continue, faible',
  63: 'Pluie, sans congélation, continue, modérée',
  65: 'Pluie, sans congélation, continue, forte',
  71: 'Chute continue de flocons de neige, faible',
  80: 'Averse(s) de pluie, faible(s)',
  95: 'Orage faible ou modéré, sans grêle, mais avec pluie ou neige',
};

export interface GenerateSynopOptions {
  /** Number of stations (1–62). */
  stations: number;
  /** First day (UTC), `YYYY-MM-DD`. */
  from: string;
  /** Last day (UTC), inclusive. */
  to: string;
  /** Default 1. */
  seed?: number;
}

function parseDayUtc(day: string, what: string): number {
  const t = parseOffsetDateTime(`${day}T00:00:00Z`);
  if (typeof t !== 'number' || !isDay(day)) throw new Error(`${what} "${day}" is not a YYYY-MM-DD date`);
  return t;
}

/** Rounds away binary noise: `round(285.65000000000003, 2)` → 285.65. */
function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/** Kelvin as the dataset writes it: a tenth of °C plus 273.15, two decimals. */
function kelvin(celsius: number): number {
  return round(round(celsius, 1) + 273.15, 2);
}

interface StationState {
  st: SynopStation;
  rng: Rng;
  anomaly: number;
  pressure: number;
  wind: number;
  wet: boolean;
  /** Last 8 three-hour rain amounts, mm (0 dry, between 0 and 0.1 a trace). */
  rain: number[];
  /** Last 8 temperatures °C and pressures Pa (oldest first). */
  temps: number[];
  pressures: number[];
  snow: number;
  outage: number;
  hasRr1: boolean;
  hasVisibility: boolean;
  emptyRate: number;
}

const I = Object.fromEntries(SYNOP_FIELDS.map((f, i) => [f.name, i])) as Record<string, number>;
// A typo in a name below throws here rather than writing into index `undefined`.
for (const n of ['t', 'tc', 'rr24', 'mois_de_l_annee', 'coordonnees']) fieldIndex(n);

/** Rain over the last `k` three-hour steps in the dataset's spelling: −0.1 for a trace. */
function rainTotal(rain: readonly number[], k: number): number {
  let sum = 0;
  for (let i = rain.length - k; i < rain.length; i++) sum += rain[i] ?? 0;
  if (sum === 0) return 0;
  return sum < 0.1 ? -0.1 : round(sum, 1);
}

function stepStation(s: StationState, t: number): SynopValues | null {
  const { st, rng } = s;
  const date = new Date(t);
  const doy = (t - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY;
  const hourUtc = date.getUTCHours();
  const solar = hourUtc + st.longitude / 15;
  const south = st.latitude < 0 ? -1 : 1;

  // Slow weather: anomalies as AR(1) processes, a wet/dry Markov chain.
  s.anomaly = 0.96 * s.anomaly + rng.normal(0, 0.7);
  s.pressure = 0.95 * s.pressure + rng.normal(0, 180);
  s.wind = Math.max(0, 0.85 * s.wind + rng.normal(0.6, 1));
  s.wet = s.wet ? rng.chance(0.7) : rng.chance(s.pressure < -300 ? 0.2 : 0.06);

  const seasonal = st.mean - south * st.season * Math.cos((2 * Math.PI * (doy - 18)) / 365.25);
  const diurnal = st.diurnal * Math.cos((2 * Math.PI * (solar - 15)) / 24) * (s.wet ? 0.5 : 1);
  const tC = seasonal + diurnal + s.anomaly;
  const spread = Math.max(0.1, (s.wet ? 0.6 : 3) + 0.5 * diurnal + rng.normal(0, 0.8));
  const tdC = tC - spread;

  let rain3 = 0;
  if (s.wet) rain3 = rng.chance(0.25) ? 0.05 : round(Math.max(0.1, -Math.log(1 - rng.next()) * 1.8), 1);
  s.rain.push(rain3);
  s.rain.shift();
  s.temps.push(tC);
  s.temps.shift();
  const pmer = Math.round((101_300 + s.pressure + (s.wet ? -600 : 0)) / 10) * 10;
  s.pressures.push(pmer);
  s.pressures.shift();
  const snowing = s.wet && tC < 1;
  s.snow = Math.max(0, snowing ? s.snow + rain3 / 100 : s.snow - (tC > 2 ? 0.01 * tC : 0));

  // A missing observation: a short outage now and then, an isolated slot more often.
  if (s.outage > 0) {
    s.outage--;
    return null;
  }
  if (rng.chance(0.002)) s.outage = rng.int(1, 8);
  if (rng.chance(0.015)) return null;

  const v: SynopValues = new Array<null>(SYNOP_FIELDS.length).fill(null);
  const miss = () => rng.chance(s.emptyRate);
  const set = (name: string, value: number | string | null) => {
    v[I[name] as number] = value === null || (typeof value === 'number' && miss()) ? null : value;
  };

  v[I.numer_sta as number] = st.numer_sta;
  v[I.date as number] = isoUtc(t);
  const tK = kelvin(tC);
  const tdK = Math.min(tK, kelvin(tdC));
  // A failed thermometer takes t and its twin tc together.
  if (!rng.chance(0.01)) {
    v[I.t as number] = tK;
    v[I.tc as number] = tK - 273.15;
  }
  set('td', tdK);
  const es = (c: number) => Math.exp((17.62 * c) / (243.12 + c));
  set('u', Math.min(100, Math.round((100 * es(tdK - 273.15)) / es(tK - 273.15))));
  set('pmer', pmer);
  set('pres', Math.round((pmer - st.altitude * 11.9) / 10) * 10);
  const tend = pmer - (s.pressures[6] ?? pmer);
  const codTend = tend > 20 ? 2 : tend < -20 ? 7 : 4;
  set('tend', tend);
  v[I.cod_tend as number] = codTend;
  v[I.type_de_tendance_barometrique as number] = COD_TEND_TEXT[codTend] ?? null;
  set('tend24', pmer - (s.pressures[0] ?? pmer));
  if (st.altitude > 750) {
    set('niv_bar', 85_000);
    set('geop', Math.round(1460 * 9.80665));
  }
  const ff = round(s.wind, 1);
  set('ff', ff);
  v[I.dd as number] = ff === 0 ? 0 : (Math.round(rng.uniform(18, 27)) % 36) * 10 + 10;
  set('raf10', round(ff * rng.uniform(1.3, 1.8) + 0.5, 1));
  if (hourUtc % 6 === 0) {
    set('rafper', round(ff * rng.uniform(1.6, 2.3) + 1, 1));
    v[I.per as number] = -10;
  }
  const cloudOcta = s.wet ? rng.int(6, 8) : rng.int(0, 7);
  const foggy = !s.wet && spread < 0.5 && rng.chance(0.5);
  const vv = foggy ? rng.int(1, 9) * 100 : s.wet ? rng.int(30, 150) * 100 : rng.int(150, 600) * 100;
  if (s.hasVisibility) set('vv', vv);
  const ww = foggy ? 45 : snowing ? 71 : s.wet ? (rain3 > 3 ? 65 : rain3 > 1 ? 63 : rain3 > 0.1 ? 61 : 51) : rng.int(0, 3);
  v[I.ww as number] = ww;
  v[I.temps_present as number] = PRESENT_WEATHER_TEXT[ww] ?? null;
  const w1 = s.wet ? (snowing ? 7 : 6) : foggy ? 4 : cloudOcta > 4 ? 2 : 0;
  v[I.w1 as number] = w1;
  v[I.temps_passe_1 as number] = PAST_WEATHER_TEXT[w1] ?? null;
  v[I.w2 as number] = cloudOcta > 4 ? 2 : 0;
  set('n', Math.round(cloudOcta * 12.5));
  if (cloudOcta > 0) {
    const low = Math.min(cloudOcta, rng.int(1, 8));
    set('nbas', low);
    set('hbas', s.wet ? rng.int(3, 10) * 100 : rng.int(6, 25) * 100);
    set('cl', 30 + rng.int(0, 9));
    set('cm', 20 + rng.int(0, 9));
    set('ch', 10 + rng.int(0, 9));
    const layers = rng.int(1, 4);
    for (let k = 1; k <= layers; k++) {
      set(`nnuage${k}`, rng.int(1, 8));
      set(`ctype${k}`, rng.int(0, 9));
      set(`hnuage${k}`, k * rng.int(3, 20) * 100);
    }
  } else {
    set('nbas', 0);
  }
  if (hourUtc === 6 || hourUtc === 18) {
    const last = s.temps.slice(4);
    const tn = kelvin(Math.min(...last) - rng.uniform(0, 0.6));
    const tx = kelvin(Math.max(...last) + rng.uniform(0, 0.6));
    set('tn12', tn);
    set('tx12', tx);
    v[I.tn12c as number] = v[I.tn12 as number] === null ? null : tn - 273.15;
    v[I.tx12c as number] = v[I.tx12 as number] === null ? null : tx - 273.15;
    set('etat_sol', s.snow > 0 ? 11 : s.wet ? 1 : 0);
    if (hourUtc === 6) {
      const tn24 = kelvin(Math.min(...s.temps) - rng.uniform(0, 0.6));
      const tx24 = kelvin(Math.max(...s.temps) + rng.uniform(0, 0.6));
      set('tn24', tn24);
      set('tx24', tx24);
      v[I.tn24c as number] = v[I.tn24 as number] === null ? null : tn24 - 273.15;
      v[I.tx24c as number] = v[I.tx24 as number] === null ? null : tx24 - 273.15;
      const tminsol = kelvin(Math.min(...last) - rng.uniform(0.5, 3));
      set('tminsol', tminsol);
      v[I.tminsolc as number] = v[I.tminsol as number] === null ? null : tminsol - 273.15;
    }
  }
  if (rng.chance(0.01)) {
    set('sw', 0);
    set('tw', kelvin(tC - spread / 3));
  }
  if (s.snow > 0 || st.mean < 8) {
    set('ht_neige', round(s.snow, 2));
    if (snowing) {
      set('ssfrai', round(rain3 / 100, 3));
      set('perssfrai', -30);
    }
  }
  // rr1 where the station reports it; rr3 every slot; rr6/rr12/rr24 at the synoptic hours.
  if (s.hasRr1) set('rr1', rainTotal([rain3 / 3 < 0.1 && rain3 > 0 ? 0.05 : round(rain3 / 3, 1)], 1));
  set('rr3', rainTotal(s.rain, 1));
  if (hourUtc % 6 === 0) set('rr6', rainTotal(s.rain, 2));
  if (hourUtc === 6 || hourUtc === 18) set('rr12', rainTotal(s.rain, 4));
  if (hourUtc === 6) set('rr24', rainTotal(s.rain, 8));
  if (ww >= 95) set('phenspe1', 8);

  v[I.coordonnees as number] = formatCoordinates(st.latitude, st.longitude);
  v[I.nom as number] = st.nom;
  v[I.altitude as number] = st.altitude;
  v[I.latitude as number] = st.latitude;
  v[I.longitude as number] = st.longitude;
  for (const key of ['libgeo', 'codegeo', 'nom_epci', 'code_epci', 'nom_dept', 'code_dep', 'nom_reg', 'code_reg'] as const) {
    v[I[key] as number] = st[key];
  }
  v[I.mois_de_l_annee as number] = date.getUTCMonth() + 1;
  return v;
}

/** The records of a generation, in time order then station order; each is a fresh array. */
export function* synopRecords(opts: GenerateSynopOptions): Generator<SynopValues> {
  const from = parseDayUtc(opts.from, 'from');
  const to = parseDayUtc(opts.to, 'to');
  if (to < from) throw new Error(`to (${opts.to}) is before from (${opts.from})`);
  const seed = opts.seed ?? 1;
  const states: StationState[] = synopStations(opts.stations).map((st) => {
    const profile = new Rng(seed, 'synop-profile', st.numer_sta);
    return {
      st,
      rng: new Rng(seed, 'synop', st.numer_sta),
      anomaly: profile.normal(0, 2),
      pressure: profile.normal(0, 600),
      wind: profile.uniform(1, 5),
      wet: false,
      rain: new Array<number>(8).fill(0),
      temps: new Array<number>(8).fill(st.mean),
      pressures: new Array<number>(8).fill(101_300),
      snow: 0,
      outage: 0,
      hasRr1: profile.chance(0.7),
      hasVisibility: profile.chance(0.9),
      emptyRate: profile.uniform(0.002, 0.02),
    };
  });
  for (let t = from; t < to + DAY; t += STEP) {
    for (const s of states) {
      const v = stepStation(s, t);
      if (v) yield v;
    }
  }
}

function jsonValue(v: SynopValues, i: number, timeZone: string): string {
  const x = v[i];
  if (x === null || x === undefined) return 'null';
  if (i === I.date) return `"${formatOffsetDateTime(Date.parse(x as string), timeZone)}"`;
  if (i === I.coordonnees) {
    const [lat, lon] = String(x).split(', ');
    return `{"lon":${lon},"lat":${lat}}`;
  }
  return typeof x === 'number' ? String(x) : JSON.stringify(x);
}

/** One record as the JSON object an export or the API writes (all 82 keys, nulls included). */
function synopJson(v: SynopValues, timeZone = 'UTC'): string {
  let out = '{';
  for (let i = 0; i < SYNOP_FIELDS.length; i++) {
    out += `${i === 0 ? '' : ','}"${(SYNOP_FIELDS[i] as { name: string }).name}":${jsonValue(v, i, timeZone)}`;
  }
  return out + '}';
}

/** One record as a line of a `;` CSV export (empty cell for null). */
function synopCsvLine(v: SynopValues, timeZone = 'UTC'): string {
  const cells: string[] = [];
  for (let i = 0; i < SYNOP_FIELDS.length; i++) {
    const x = v[i];
    if (x === null || x === undefined) cells.push('');
    else if (i === I.date) cells.push(formatOffsetDateTime(Date.parse(x as string), timeZone));
    else cells.push(csvCell(x, ';'));
  }
  return cells.join(';');
}

export interface WriteSynopOptions extends GenerateSynopOptions {
  /** `UTC` (default, `+00:00`) or an IANA zone such as `Europe/Paris` (`+01:00`/`+02:00`). */
  timezone?: string;
}

/** Writes a generation to `path` in `format`, streaming; returns the number of records written. */
export async function writeSynop(path: string, format: SynopFormat, opts: WriteSynopOptions): Promise<{ rows: number }> {
  const tz = opts.timezone ?? 'UTC';
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
  let rows = 0;
  if (format === 'api-json') {
    // The API puts total_count first: count in a first pass (generating is cheap next to writing).
    let total = 0;
    for (const _ of synopRecords(opts)) total++;
    buffer += `{"total_count":${total},"results":[`;
  } else if (format === 'json') buffer += '[';
  else if (format === 'csv') buffer += `\uFEFF${SYNOP_FIELDS.map((f) => f.name).join(';')}\n`;
  else if (format === 'csv-labels') buffer += `\uFEFF${SYNOP_FIELDS.map((f) => csvCell(f.label, ';')).join(';')}\n`;
  for (const v of synopRecords(opts)) {
    if (format === 'csv' || format === 'csv-labels') buffer += `${synopCsvLine(v, tz)}\n`;
    else if (format === 'jsonl') buffer += `${synopJson(v, tz)}\n`;
    else buffer += `${rows === 0 ? '\n' : ',\n'}${synopJson(v, tz)}`;
    rows++;
    await flush();
  }
  if (format === 'api-json') buffer += '\n]}\n';
  else if (format === 'json') buffer += '\n]\n';
  await flush(true);
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
  return { rows };
}
