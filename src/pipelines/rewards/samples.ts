/**
 * Sample HR files in the real formats (FORMATS.md §4): `Données RH` and `Données Sportive`, as XLSX (dates
 * as Excel date cells, the sport sheet ending with blank rows as HR's does) or as CSV (`;`, UTF-8 with a
 * BOM: what a French Excel writes). Seeded: the same options give the same files. The names, streets and
 * the towns' distances to the office in Lattes are lists of our own, approximate on purpose.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../../connectors/generators/random.js';
import { integer, positiveInt } from '../kit/options.js';
import { UsageError, type SampleGenerator } from '../kit/pipeline.js';
import { COMMUTE_MODES } from './companyDb.js';
import { DISTANCE_HEADER, HR_HEADERS, SPORT_HEADERS } from './hrFiles.js';

const SAMPLE_FORMATS = ['xlsx', 'csv'] as const;
type SampleFormat = (typeof SAMPLE_FORMATS)[number];

export const BUSINESS_UNITS = ['Finance', 'Support', 'Ventes', 'R&D', 'Marketing'] as const;

/** The sports of the declarations, `Runing` spelt as HR's file spells it. */
const DECLARED_SPORTS = [
  'Runing',
  'Randonnée',
  'Tennis',
  'Natation',
  'Football',
  'Rugby',
  'Badminton',
  'Voile',
  'Judo',
  'Boxe',
  'Escalade',
  'Triathlon',
  'Équitation',
  'Tennis de table',
  'Basketball',
] as const;

const FIRST_NAMES = [
  'Audrey',
  'Juliette',
  'Camille',
  'Léa',
  'Manon',
  'Chloé',
  'Inès',
  'Sarah',
  'Émilie',
  'Claire',
  'Pauline',
  'Marion',
  'Laura',
  'Julie',
  'Sophie',
  'Nathalie',
  'Céline',
  'Amandine',
  'Margaux',
  'Anaïs',
  'Thomas',
  'Nicolas',
  'Julien',
  'Maxime',
  'Antoine',
  'Hugo',
  'Lucas',
  'Romain',
  'Mathieu',
  'Guillaume',
  'Sébastien',
  'Pierre',
  'Alexandre',
  'Benoît',
  'Olivier',
  'Jérôme',
  'Florian',
  'Kevin',
  'Rémi',
  'Yanis',
] as const;

const LAST_NAMES = [
  'Martin',
  'Bernard',
  'Dubois',
  'Durand',
  'Lefebvre',
  'Moreau',
  'Laurent',
  'Simon',
  'Michel',
  'Garcia',
  'Roux',
  'Fournier',
  'Girard',
  'Bonnet',
  'Dupont',
  'Lambert',
  'Fontaine',
  'Rousseau',
  'Vincent',
  'Muller',
  'Faure',
  'André',
  'Mercier',
  'Blanc',
  'Guerin',
  'Boyer',
  'Garnier',
  'Chevalier',
  'Francois',
  'Legrand',
  'Gauthier',
  'Perrin',
  'Robin',
  'Clement',
  'Morin',
  'Nicolas',
  'Henry',
  'Roussel',
  'Mathieu',
  'Mendes',
  'Colin',
  'Arnaud',
  'Marchand',
  'Brunet',
  'Fabre',
  'Vidal',
  'Estève',
  'Castel',
  'Pujol',
  'Delmas',
] as const;

const STREETS = [
  'Rue de la République',
  'Avenue de la Mer',
  'Rue des Écoles',
  'Chemin des Vignes',
  'Rue du Port',
  'Boulevard Victor Hugo',
  'Impasse des Oliviers',
  'Rue Jean Jaurès',
  'Allée des Pins',
  'Avenue de Montpellier',
  'Rue des Lilas',
  'Chemin du Mas',
  "Place de l'Église",
  'Rue Pasteur',
  'Avenue du Général de Gaulle',
  'Rue des Cigales',
  'Chemin de la Garrigue',
  'Rue du Moulin',
] as const;

/** Towns around the office with a postcode and a rough road distance to it, km (our own estimates). */
const TOWNS: readonly { town: string; postcode: string; km: number; weight: number }[] = [
  { town: 'Lattes', postcode: '34970', km: 2, weight: 10 },
  { town: 'Montpellier', postcode: '34000', km: 7, weight: 14 },
  { town: 'Montpellier', postcode: '34070', km: 6, weight: 8 },
  { town: 'Montpellier', postcode: '34090', km: 9, weight: 6 },
  { town: 'Pérols', postcode: '34470', km: 5, weight: 6 },
  { town: 'Saint-Jean-de-Védas', postcode: '34430', km: 8, weight: 5 },
  { town: 'Palavas-les-Flots', postcode: '34250', km: 8, weight: 3 },
  { town: 'Villeneuve-lès-Maguelone', postcode: '34750', km: 10, weight: 3 },
  { town: 'Castelnau-le-Lez', postcode: '34170', km: 10, weight: 5 },
  { town: 'Mauguio', postcode: '34130', km: 11, weight: 3 },
  { town: 'Saint-Aunès', postcode: '34130', km: 12, weight: 2 },
  { town: 'Juvignac', postcode: '34990', km: 13, weight: 3 },
  { town: 'Le Crès', postcode: '34920', km: 13, weight: 3 },
  { town: 'Clapiers', postcode: '34830', km: 14, weight: 2 },
  { town: 'Grabels', postcode: '34790', km: 15, weight: 2 },
  { town: 'Baillargues', postcode: '34670', km: 16, weight: 2 },
  { town: 'Fabrègues', postcode: '34690', km: 16, weight: 2 },
  { town: 'Pignan', postcode: '34570', km: 17, weight: 2 },
  { town: 'Teyran', postcode: '34820', km: 18, weight: 1 },
  { town: 'Castries', postcode: '34160', km: 20, weight: 2 },
  { town: 'Saint-Gély-du-Fesc', postcode: '34980', km: 21, weight: 2 },
  { town: 'Frontignan', postcode: '34110', km: 22, weight: 3 },
  { town: 'Lunel', postcode: '34400', km: 28, weight: 2 },
  { town: 'Sète', postcode: '34200', km: 33, weight: 2 },
  { town: 'Gignac', postcode: '34150', km: 38, weight: 1 },
];

const BASE_SALARY: Record<(typeof BUSINESS_UNITS)[number], number> = { Finance: 46_000, Support: 32_000, Ventes: 38_000, 'R&D': 50_000, Marketing: 40_000 };

const [CAR, TRANSIT, WALK, BIKE] = COMMUTE_MODES;

function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = rng.uniform(0, total);
  for (const [item, w] of items) {
    x -= w;
    if (x < 0) return item;
  }
  return items[items.length - 1]![0];
}

/** Mostly believable declarations, and a few over the distance limits, so samples exercise every status. */
function commuteFor(rng: Rng, km: number): string {
  if (km <= 5)
    return weighted(rng, [
      [WALK, 40],
      [BIKE, 30],
      [TRANSIT, 15],
      [CAR, 15],
    ] as const);
  if (km <= 15)
    return weighted(rng, [
      [WALK, 6],
      [BIKE, 28],
      [TRANSIT, 30],
      [CAR, 36],
    ] as const);
  return weighted(rng, [
    [WALK, 4],
    [BIKE, 12],
    [TRANSIT, 24],
    [CAR, 60],
  ] as const);
}

interface SampleEmployee {
  id: number;
  lastName: string;
  firstName: string;
  birthDate: string;
  businessUnit: string;
  hiredOn: string;
  salary: number;
  contract: 'CDI' | 'CDD';
  paidLeaveDays: number;
  address: string;
  commute: string;
  distanceKm: number;
  sport: string | null;
}

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The sample's employees, seeded (dates relative to `now`, a fixed day by default, so files are reproducible). */
function sampleEmployees(count: number, seed: number, now = Date.UTC(2025, 0, 1)): SampleEmployee[] {
  const rng = new Rng(seed, 'rewards-hr');
  const ids = new Set<number>();
  while (ids.size < count) ids.add(rng.int(10_000, 99_999));
  const towns = TOWNS.map((t) => [t, t.weight] as const);
  return [...ids].map((id) => {
    const place = weighted(rng, towns);
    const businessUnit = rng.pick(BUSINESS_UNITS);
    const age = rng.int(22, 62);
    const birth = now - (age * 365.25 + rng.int(0, 364)) * DAY_MS;
    const firstHire = Math.max(birth + 21 * 365.25 * DAY_MS, Date.UTC(2000, 0, 3));
    const hired = firstHire + rng.uniform(0, Math.max(1, now - firstHire - 30 * DAY_MS));
    const distanceKm = Math.max(0.3, Math.round((place.km + rng.uniform(-1.5, 1.5)) * 10) / 10);
    return {
      id,
      lastName: rng.pick(LAST_NAMES),
      firstName: rng.pick(FIRST_NAMES),
      birthDate: dayOf(birth),
      businessUnit,
      hiredOn: dayOf(hired),
      salary: Math.round(Math.max(21_000, rng.normal(BASE_SALARY[businessUnit], 7_000)) / 10) * 10,
      contract: rng.chance(0.88) ? 'CDI' : 'CDD',
      paidLeaveDays: rng.int(25, 29),
      address: `${rng.int(1, 250)} ${rng.pick(STREETS)}, ${place.postcode} ${place.town}`,
      commute: commuteFor(rng, distanceKm),
      distanceKm,
      sport: rng.chance(0.6)
        ? weighted(
            rng,
            DECLARED_SPORTS.map((s) => [s, s === 'Runing' ? 6 : s === 'Randonnée' || s === 'Tennis' ? 3 : 1] as const),
          )
        : null,
    };
  });
}

export interface SampleOptions {
  format?: SampleFormat;
  employees?: number;
  seed?: number;
  distances?: boolean;
  /** Dates are drawn before this instant (default: 2025-01-01, for reproducible files). */
  now?: Date;
}

/** Blank rows HR's sport sheet ends with. */
const TRAILING_BLANK_ROWS = 3;

function hrRow(e: SampleEmployee, distances: boolean): (string | number)[] {
  const row = [e.id, e.lastName, e.firstName, e.birthDate, e.businessUnit, e.hiredOn, e.salary, e.contract, e.paidLeaveDays, e.address, e.commute];
  return distances ? [...row, e.distanceKm] : row;
}

function csvField(v: string | number | null): string {
  // Decimals with a comma, as a French Excel writes them beside `;`.
  const s = v === null ? '' : typeof v === 'number' ? String(v).replace('.', ',') : v;
  return /[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(rows: readonly (readonly (string | number | null)[])[]): string {
  return `\uFEFF${rows.map((r) => r.map(csvField).join(';')).join('\r\n')}\r\n`;
}

async function writeXlsx(
  path: string,
  sheetName: string,
  header: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
  dateColumns: readonly number[],
  blankRows: number,
): Promise<void> {
  const { default: ExcelJS } = await import('exceljs');
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet(sheetName);
  sheet.addRow([...header]).font = { bold: true };
  for (const r of rows) {
    const row = sheet.addRow(r.map((v, i) => (dateColumns.includes(i) && typeof v === 'string' ? new Date(`${v}T00:00:00Z`) : v)));
    for (const i of dateColumns) row.getCell(i + 1).numFmt = 'yyyy-mm-dd';
  }
  // Formatted but empty rows: how a sheet "ends with blank rows" in a workbook HR edited by hand.
  for (let i = 0; i < blankRows; i++) {
    const row = sheet.addRow([]);
    for (let c = 1; c <= header.length; c++) row.getCell(c).style = { border: { bottom: { style: 'thin' } } };
  }
  await workbook.xlsx.writeFile(path);
}

/** Writes the HR file and the sport file into `dir`; returns their paths. */
export async function writeRewardsSamples(dir: string, opts: SampleOptions = {}): Promise<{ hr: string; sport: string; employees: number }> {
  const format = opts.format ?? 'xlsx';
  const distances = opts.distances ?? false;
  const employees = sampleEmployees(opts.employees ?? 161, opts.seed ?? 1, opts.now?.getTime());
  await mkdir(dir, { recursive: true });
  const hrHeader = [...Object.values(HR_HEADERS), ...(distances ? [DISTANCE_HEADER] : [])];
  const sportHeader = Object.values(SPORT_HEADERS);
  const hrRows = employees.map((e) => hrRow(e, distances));
  const sportRows = employees.map((e) => [e.id, e.sport]);
  const hr = join(dir, `Donnees_RH.${format}`);
  const sport = join(dir, `Donnees_Sportive.${format}`);
  if (format === 'csv') {
    await writeFile(hr, csv([hrHeader, ...hrRows]));
    await writeFile(sport, csv([sportHeader, ...sportRows, ...Array.from({ length: TRAILING_BLANK_ROWS }, () => ['', ''])]));
  } else {
    await writeXlsx(hr, 'Données RH', hrHeader, hrRows, [3, 5], 0);
    await writeXlsx(sport, 'Données Sportive', sportHeader, sportRows, [], TRAILING_BLANK_ROWS);
  }
  return { hr, sport, employees: employees.length };
}

function formatOption(v: string | undefined): SampleFormat {
  const found = SAMPLE_FORMATS.find((f) => f === v);
  if (!found) throw new UsageError(`--format must be one of ${SAMPLE_FORMATS.join(', ')}, got "${v}"`);
  return found;
}

/** `ecluse generate rewards`: HR's two files, XLSX or CSV. */
export const rewardsGenerator: SampleGenerator = {
  options: [
    { flags: '--format <format>', description: 'rewards: xlsx or csv', defaultValue: 'xlsx' },
    { flags: '--employees <n>', description: 'rewards: number of employees', defaultValue: '161' },
    { flags: '--distances', description: 'rewards: add a home-office distance column (km) to the HR file' },
    { flags: '--seed <n>', description: 'random seed', defaultValue: '1' },
  ],
  async generate(opts, out) {
    const format = formatOption(opts.format ?? 'xlsx');
    const written = await writeRewardsSamples(out, {
      format,
      employees: positiveInt('employees', opts.employees ?? '161'),
      seed: integer('seed', opts.seed ?? '1'),
      // A flag: commander gives true when it is present.
      distances: opts.distances !== undefined && String(opts.distances) !== 'false',
    });
    return `wrote ${written.employees} employees (${format}) to ${written.hr} and ${written.sport}`;
  },
  async firstRun(dir, now) {
    const written = await writeRewardsSamples(dir, { now });
    return { inputs: [written.hr, written.sport], said: `${written.employees} employees (HR and sport files)` };
  },
};
