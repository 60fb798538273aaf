/**
 * The 82 fields of the OpenDataSoft dataset `donnees-synop-essentielles-omm`, in the dataset's own
 * order (the column order of its exports). The key ones were noted from real exports (`doc: 'formats'`);
 * the rest come from the public schema of the dataset (`doc: 'schema'`), see docs/pipelines/synop.md.
 *
 * A labels CSV (`use_labels=true`) repeats three labels: a coded field and its text twin share one
 * (cod_tend / type_de_tendance_barometrique, ww / temps_present, w1 / temps_passe_1). `mapHeader` maps
 * the n-th occurrence of a label to the n-th field carrying it in this order, i.e. by position.
 */

/** `integer` codes and counts, `number` measurements, `geo_point` the `coordonnees` pair. */
export type SynopFieldType = 'text' | 'integer' | 'number' | 'datetime' | 'geo_point';

export interface SynopField {
  name: string;
  /** The French label of labels exports. */
  label: string;
  type: SynopFieldType;
  unit: string | null;
  /** Where the entry comes from: notes taken from real exports, or the dataset's public schema. */
  doc: 'formats' | 'schema';
}

type Row = readonly [name: string, label: string, type: SynopFieldType, unit: string | null, doc?: 'f'];

// `f` marks the fields noted from real exports (`doc: 'formats'`).
const ROWS: readonly Row[] = [
  ['numer_sta', 'ID OMM station', 'text', null, 'f'],
  ['date', 'Date', 'datetime', null, 'f'],
  ['pmer', 'Pression au niveau mer', 'integer', 'Pa', 'f'],
  ['tend', 'Variation de pression en 3 heures', 'integer', 'Pa', 'f'],
  ['cod_tend', 'Type de tendance barométrique', 'integer', 'code', 'f'],
  ['dd', 'Direction du vent moyen 10 mn', 'integer', '°', 'f'],
  ['ff', 'Vitesse du vent moyen 10 mn', 'number', 'm/s', 'f'],
  ['t', 'Température', 'number', 'K', 'f'],
  ['td', 'Point de rosée', 'number', 'K', 'f'],
  ['u', 'Humidité', 'integer', '%', 'f'],
  ['vv', 'Visibilité horizontale', 'integer', 'm', 'f'],
  ['ww', 'Temps présent', 'integer', 'code', 'f'],
  ['w1', 'Temps passé 1', 'integer', 'code', 'f'],
  ['w2', 'Temps passé 2', 'integer', 'code'],
  ['n', 'Nebulosité totale', 'number', '%', 'f'],
  // The real label has a double space and "l' étage": kept, matching normalises spaces anyway.
  ['nbas', "Nébulosité  des nuages de l' étage inférieur", 'integer', 'octa'],
  ['hbas', "Hauteur de la base des nuages de l'étage inférieur", 'integer', 'm'],
  ['cl', "Type des nuages de l'étage inférieur", 'integer', 'code'],
  ['cm', "Type des nuages de l'étage moyen", 'integer', 'code'],
  ['ch', "Type des nuages de l'étage supérieur", 'integer', 'code'],
  ['pres', 'Pression station', 'integer', 'Pa', 'f'],
  ['niv_bar', 'Niveau barométrique', 'integer', 'Pa'],
  ['geop', 'Géopotentiel', 'integer', 'm²/s²'],
  ['tend24', 'Variation de pression en 24 heures', 'integer', 'Pa'],
  ['tn12', 'Température minimale sur 12 heures', 'number', 'K', 'f'],
  ['tn24', 'Température minimale sur 24 heures', 'number', 'K', 'f'],
  ['tx12', 'Température maximale sur 12 heures', 'number', 'K', 'f'],
  ['tx24', 'Température maximale sur 24 heures', 'number', 'K', 'f'],
  ['tminsol', 'Température minimale du sol sur 12 heures', 'number', 'K'],
  ['sw', 'Méthode de mesure Température du thermomètre mouillé', 'integer', 'code'],
  ['tw', 'Température du thermomètre mouillé', 'number', 'K'],
  ['raf10', 'Rafale sur les 10 dernières minutes', 'number', 'm/s', 'f'],
  ['rafper', 'Rafales sur une période', 'number', 'm/s', 'f'],
  ['per', 'Periode de mesure de la rafale', 'integer', 'min'],
  ['etat_sol', 'Etat du sol', 'integer', 'code'],
  ['ht_neige', 'Hauteur totale de la couche de neige, glace, autre au sol', 'number', 'm', 'f'],
  ['ssfrai', 'Hauteur de la neige fraîche', 'number', 'm'],
  ['perssfrai', 'Periode de mesure de la neige fraiche', 'integer', '1/10 h'],
  ['rr1', 'Précipitations dans la dernière heure', 'number', 'mm', 'f'],
  ['rr3', 'Précipitations dans les 3 dernières heures', 'number', 'mm', 'f'],
  ['rr6', 'Précipitations dans les 6 dernières heures', 'number', 'mm', 'f'],
  ['rr12', 'Précipitations dans les 12 dernières heures', 'number', 'mm', 'f'],
  ['rr24', 'Précipitations dans les 24 dernières heures', 'number', 'mm', 'f'],
  ['phenspe1', 'Phénomène spécial 1', 'integer', 'code'],
  ['phenspe2', 'Phénomène spécial 2', 'integer', 'code'],
  ['phenspe3', 'Phénomène spécial 3', 'integer', 'code'],
  ['phenspe4', 'Phénomène spécial 4', 'integer', 'code'],
  ['nnuage1', 'Nébulosité couche nuageuse 1', 'integer', 'octa'],
  ['ctype1', 'Type nuage 1', 'integer', 'code'],
  ['hnuage1', 'Hauteur de base 1', 'integer', 'm'],
  ['nnuage2', 'Nébulosité couche nuageuse 2', 'integer', 'octa'],
  ['ctype2', 'Type nuage 2', 'integer', 'code'],
  ['hnuage2', 'Hauteur de base 2', 'integer', 'm'],
  ['nnuage3', 'Nébulosité couche nuageuse 3', 'integer', 'octa'],
  ['ctype3', 'Type nuage 3', 'integer', 'code'],
  ['hnuage3', 'Hauteur de base 3', 'integer', 'm'],
  ['nnuage4', 'Nébulosité couche nuageuse 4', 'integer', 'octa'],
  ['ctype4', 'Type nuage 4', 'integer', 'code'],
  ['hnuage4', 'Hauteur de base 4', 'integer', 'm'],
  ['coordonnees', 'Coordonnees', 'geo_point', null, 'f'],
  ['nom', 'Nom', 'text', null, 'f'],
  ['type_de_tendance_barometrique', 'Type de tendance barométrique', 'text', null, 'f'],
  ['temps_passe_1', 'Temps passé 1', 'text', null, 'f'],
  ['temps_present', 'Temps présent', 'text', null, 'f'],
  ['tc', 'Température (°C)', 'number', '°C', 'f'],
  ['tn12c', 'Température minimale sur 12 heures (°C)', 'number', '°C'],
  ['tn24c', 'Température minimale sur 24 heures (°C)', 'number', '°C'],
  ['tx12c', 'Température maximale sur 12 heures (°C)', 'number', '°C'],
  ['tx24c', 'Température maximale sur 24 heures (°C)', 'number', '°C'],
  ['tminsolc', 'Température minimale du sol sur 12 heures (en °C)', 'number', '°C'],
  ['altitude', 'Altitude', 'integer', 'm', 'f'],
  ['longitude', 'Longitude', 'number', '°', 'f'],
  ['latitude', 'Latitude', 'number', '°', 'f'],
  ['libgeo', 'communes (name)', 'text', null, 'f'],
  ['codegeo', 'communes (code)', 'text', null],
  ['nom_epci', 'EPCI (name)', 'text', null],
  ['code_epci', 'EPCI (code)', 'text', null],
  ['nom_dept', 'department (name)', 'text', null, 'f'],
  ['code_dep', 'department (code)', 'text', null, 'f'],
  ['nom_reg', 'region (name)', 'text', null, 'f'],
  ['code_reg', 'region (code)', 'text', null, 'f'],
  ['mois_de_l_annee', 'mois_de_l_annee', 'integer', null, 'f'],
];

export const SYNOP_FIELDS: readonly SynopField[] = ROWS.map(([name, label, type, unit, doc]) => ({
  name,
  label,
  type,
  unit,
  doc: doc === 'f' ? 'formats' : 'schema',
}));

export const SYNOP_FIELD_NAMES: readonly string[] = SYNOP_FIELDS.map((f) => f.name);

/** Position of each field in SYNOP_FIELDS (and in every value array of this module's users). */
// Null prototype: a column or JSON key named `constructor` or `__proto__` must not find a field.
export const SYNOP_INDEX: Readonly<Record<string, number | undefined>> = Object.assign(
  Object.create(null) as Record<string, number>,
  Object.fromEntries(SYNOP_FIELD_NAMES.map((n, i) => [n, i])),
);

/** Index of a field by name; throws on a typo, so callers fail at load time rather than read `undefined`. */
export function fieldIndex(name: string): number {
  const i = SYNOP_INDEX[name];
  if (i === undefined) throw new Error(`unknown SYNOP field ${name}`);
  return i;
}

/** Labels compared without case, accents' composition differences or repeated spaces. */
function normaliseLabel(label: string): string {
  return label.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
}

const BY_LABEL = new Map<string, number[]>();
SYNOP_FIELDS.forEach((f, i) => {
  const key = normaliseLabel(f.label);
  const list = BY_LABEL.get(key);
  if (list) list.push(i);
  else BY_LABEL.set(key, [i]);
});

/** Length of the longest label, with room for the spaces normaliseLabel folds. */
const LONGEST_LABEL = 4 * Math.max(...SYNOP_FIELDS.map((f) => f.label.length));

export interface HeaderMap {
  /** For each column of the header, the field index it holds, or null (unknown or repeated column). */
  columns: (number | null)[];
  /** Header cells that name no field (or name one a second time), in column order. */
  unknown: string[];
  /** Whether the header spoke in field names, labels or a mixture. */
  kind: 'names' | 'labels' | 'mixed';
}

/**
 * Maps a CSV header (field names or French labels) to field indices. A repeated label goes, at its
 * n-th occurrence, to the n-th field with that label in the dataset's order: in an export the coded
 * field always comes before its text twin, also when only some columns were selected.
 */
export function mapHeader(header: readonly string[]): HeaderMap {
  const seenLabel = new Map<string, number>();
  const used = new Set<number>();
  const columns: (number | null)[] = [];
  const unknown: string[] = [];
  let names = 0;
  let labels = 0;
  for (const cell of header) {
    const trimmed = cell.trim();
    let idx: number | undefined = SYNOP_INDEX[trimmed];
    if (idx === undefined && trimmed.length > LONGEST_LABEL) {
      // Longer than any label: no need to normalise it (a 50 MB header cell took seconds).
      columns.push(null);
      unknown.push(cell);
      continue;
    }
    if (idx !== undefined) {
      // `mois_de_l_annee` is its own label: it says nothing about the header's kind.
      if (!BY_LABEL.has(normaliseLabel(trimmed))) names++;
    } else {
      const key = normaliseLabel(trimmed);
      const candidates = BY_LABEL.get(key);
      if (candidates) {
        const n = seenLabel.get(key) ?? 0;
        seenLabel.set(key, n + 1);
        idx = candidates[n];
        if (idx !== undefined) labels++;
      }
    }
    if (idx === undefined || used.has(idx)) {
      columns.push(null);
      unknown.push(cell);
      continue;
    }
    used.add(idx);
    columns.push(idx);
  }
  return { columns, unknown, kind: labels === 0 ? 'names' : names === 0 ? 'labels' : 'mixed' };
}

/**
 * Field names for a header, column by column (`unknown_<n>` for unmapped columns, n its 1-based
 * position): for an engine that reads a CSV by position, e.g. DuckDB `read_csv(…, header = true,
 * names = [...])`, so a labels export needs no label lookup in SQL.
 */
export function headerNames(header: readonly string[]): string[] {
  return mapHeader(header).columns.map((i, c) => (i === null ? `unknown_${c + 1}` : (SYNOP_FIELD_NAMES[i] as string)));
}
