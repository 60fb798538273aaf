/**
 * The fields of the OpenDataSoft datasets `eco2mix-regional-tr` (real time, every 15 minutes) and
 * `eco2mix-regional-cons-def` (consolidated and definitive, every 30 minutes) on odre.opendatasoft.com,
 * in the datasets' order. Both datasets share one schema; docs/pipelines/eco2mix.md lists the quirks.
 *
 * Two layouts are in users' hands:
 * - current: batteries (`stockage_batterie`, `destockage_batterie`) and wind split into onshore and
 *   offshore, then a trailing column that is always empty (`column_30`, `column_68`, "Column 30");
 * - 2020: no battery or offshore columns, but `Import <region>` / `Export <region>` columns.
 * The reader accepts both: a column of the other layout is simply absent (its sources read as missing).
 *
 * Only the key fields and the MW fields are typed for staging. The `tco_*` (coverage of consumption)
 * and `tch_*` (load factor) percentages are known, so their columns are not reported as unknown, but
 * they are not read: curated computes its own shares from the MW values, and a ratio RTE derives from
 * values we already hold adds nothing but a second place to disagree.
 */

/** `mw`: a source's power; `percent`: known but not read; `date`/`time`: local spellings of `date_heure`, not read either. */
type Eco2mixFieldType = 'text' | 'date' | 'time' | 'datetime' | 'mw' | 'percent';

/** The platform's source names (issue 17): the `source` column of curated `regional_energy_stats`. */
export const ECO2MIX_SOURCES = [
  'consumption',
  'thermal',
  'nuclear',
  'wind',
  'wind_onshore',
  'wind_offshore',
  'solar',
  'hydro',
  'pumping',
  'bioenergy',
  'battery_charge',
  'battery_discharge',
  'exchanges',
] as const;

export type Eco2mixSource = (typeof ECO2MIX_SOURCES)[number];

export interface Eco2mixField {
  name: string;
  /** The French label of labels exports (`use_labels=true`). */
  label: string;
  type: Eco2mixFieldType;
  unit: 'MW' | '%' | null;
  /** The ecluse source an MW field feeds. */
  source: Eco2mixSource | null;
  /** Absent from the 2020 layout (batteries and the onshore/offshore split came later). */
  currentOnly: boolean;
}

type Row = readonly [name: string, label: string, type: Eco2mixFieldType, source?: Eco2mixSource | null, currentOnly?: 'current'];

const ROWS: readonly Row[] = [
  ['code_insee_region', 'Code INSEE région', 'text'],
  ['libelle_region', 'Région', 'text'],
  ['nature', 'Nature', 'text'],
  ['date', 'Date', 'date'],
  ['heure', 'Heure', 'time'],
  ['date_heure', 'Date - Heure', 'datetime'],
  ['consommation', 'Consommation (MW)', 'mw', 'consumption'],
  ['thermique', 'Thermique (MW)', 'mw', 'thermal'],
  ['nucleaire', 'Nucléaire (MW)', 'mw', 'nuclear'],
  ['eolien', 'Eolien (MW)', 'mw', 'wind'],
  ['solaire', 'Solaire (MW)', 'mw', 'solar'],
  ['hydraulique', 'Hydraulique (MW)', 'mw', 'hydro'],
  // Negative or zero: the power the pumped-storage plants draw.
  ['pompage', 'Pompage (MW)', 'mw', 'pumping'],
  ['bioenergies', 'Bioénergies (MW)', 'mw', 'bioenergy'],
  // Signed: negative when the region exports.
  ['ech_physiques', 'Ech. physiques (MW)', 'mw', 'exchanges'],
  // The four columns added with the current layout carry no unit in their label.
  ['stockage_batterie', 'Stockage batterie', 'mw', 'battery_charge', 'current'],
  ['destockage_batterie', 'Déstockage batterie', 'mw', 'battery_discharge', 'current'],
  ['eolien_terrestre', 'Eolien terrestre', 'mw', 'wind_onshore', 'current'],
  ['eolien_offshore', 'Eolien offshore', 'mw', 'wind_offshore', 'current'],
  ['tco_thermique', 'TCO Thermique (%)', 'percent'],
  ['tch_thermique', 'TCH Thermique (%)', 'percent'],
  ['tco_nucleaire', 'TCO Nucléaire (%)', 'percent'],
  ['tch_nucleaire', 'TCH Nucléaire (%)', 'percent'],
  ['tco_eolien', 'TCO Eolien (%)', 'percent'],
  ['tch_eolien', 'TCH Eolien (%)', 'percent'],
  ['tco_solaire', 'TCO Solaire (%)', 'percent'],
  ['tch_solaire', 'TCH Solaire (%)', 'percent'],
  ['tco_hydraulique', 'TCO Hydraulique (%)', 'percent'],
  ['tch_hydraulique', 'TCH Hydraulique (%)', 'percent'],
  ['tco_bioenergies', 'TCO Bioénergies (%)', 'percent'],
  ['tch_bioenergies', 'TCH Bioénergies (%)', 'percent'],
];

export const ECO2MIX_FIELDS: readonly Eco2mixField[] = ROWS.map(([name, label, type, source, currentOnly]) => ({
  name,
  label,
  type,
  unit: type === 'mw' ? 'MW' : type === 'percent' ? '%' : null,
  source: source ?? null,
  currentOnly: currentOnly === 'current',
}));

/** The MW fields, in ECO2MIX_SOURCES order. */
export const SOURCE_FIELDS: readonly Eco2mixField[] = ECO2MIX_SOURCES.map((s) => {
  const f = ECO2MIX_FIELDS.find((x) => x.source === s);
  if (!f) throw new Error(`no eco2mix field for source ${s}`);
  return f;
});

/** The 12 metropolitan regions of the datasets (Corsica is not in them), by INSEE code. */
export const ECO2MIX_REGIONS: ReadonlyMap<string, string> = new Map([
  ['11', 'Île-de-France'],
  ['24', 'Centre-Val de Loire'],
  ['27', 'Bourgogne-Franche-Comté'],
  ['28', 'Normandie'],
  ['32', 'Hauts-de-France'],
  ['44', 'Grand Est'],
  ['52', 'Pays de la Loire'],
  ['53', 'Bretagne'],
  ['75', 'Nouvelle-Aquitaine'],
  ['76', 'Occitanie'],
  ['84', 'Auvergne-Rhône-Alpes'],
  ['93', "Provence-Alpes-Côte d'Azur"],
]);

export const ECO2MIX_NATURES = ['Données temps réel', 'Données consolidées', 'Données définitives'] as const;
export type Eco2mixNature = (typeof ECO2MIX_NATURES)[number];

/**
 * Labels and natures compared without case, accents, repeated spaces or a trailing unit: files re-saved
 * by hand write "Éolien" for "Eolien", and the labels of newer columns come with and without "(MW)".
 */
function normaliseLabel(label: string): string {
  return label
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\((?:mw|%)\)\s*$/i, '')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

const NATURE_BY_KEY = new Map<string, Eco2mixNature>(ECO2MIX_NATURES.map((n) => [normaliseLabel(n), n]));

/** The canonical spelling of a nature, or null when the text is none of the three. */
export function natureOf(text: string): Eco2mixNature | null {
  return NATURE_BY_KEY.get(normaliseLabel(text)) ?? null;
}

// Null prototype: a column or JSON key named `constructor` must not find a field.
const BY_NAME: Readonly<Record<string, number | undefined>> = Object.assign(
  Object.create(null) as Record<string, number>,
  Object.fromEntries(ECO2MIX_FIELDS.map((f, i) => [f.name, i])),
);
const BY_LABEL = new Map<string, number>(ECO2MIX_FIELDS.map((f, i) => [normaliseLabel(f.label), i]));

/** Index of a field by name; throws on a typo, so callers fail at load time rather than read `undefined`. */
export function fieldIndex(name: string): number {
  const i = BY_NAME[name];
  if (i === undefined) throw new Error(`unknown eco2mix field ${name}`);
  return i;
}

/** Index of the field a JSON key names (field names only: JSON exports never use labels). */
export function fieldOfKey(key: string): number | undefined {
  return BY_NAME[key];
}

/**
 * Columns that belong to the datasets but carry no field: the trailing empty column of the current
 * layout (`column_30`, "Column 68", or no name at all) and the `Import <region>` / `Export <region>` columns of 2020.
 */
export function isIgnoredColumn(name: string): boolean {
  const n = name.trim();
  // An empty name: a header written with a trailing `;`, the same always-empty column unnamed.
  return n === '' || /^column[ _]?\d+$/i.test(n) || /^(?:import|export)[ _]\S/i.test(n);
}

/** Length past which a header cell is no label (normalising a 50 MB cell would take seconds). */
const LONGEST_LABEL = 4 * Math.max(...ECO2MIX_FIELDS.map((f) => f.label.length));

export interface HeaderMap {
  /** For each column, the field index it holds, or null (ignored, unknown or repeated column). */
  columns: (number | null)[];
  /** Header cells that name no field and are not ignored, or name a field a second time. */
  unknown: string[];
}

/** Maps a CSV header of field names or French labels (or a mixture) to field indices. */
export function mapHeader(header: readonly string[]): HeaderMap {
  const used = new Set<number>();
  const columns: (number | null)[] = [];
  const unknown: string[] = [];
  for (const cell of header) {
    const trimmed = cell.trim();
    let idx = BY_NAME[trimmed];
    if (idx === undefined && trimmed.length <= LONGEST_LABEL) idx = BY_LABEL.get(normaliseLabel(trimmed));
    if (idx === undefined && isIgnoredColumn(trimmed)) {
      columns.push(null);
      continue;
    }
    if (idx === undefined || used.has(idx)) {
      columns.push(null);
      unknown.push(cell);
      continue;
    }
    used.add(idx);
    columns.push(idx);
  }
  return { columns, unknown };
}
