/**
 * The eco2mix staging tables. `regional_observations` holds one row per (region, UTC instant): the best
 * nature delivered so far. `regional_observations_history` holds every row a better nature replaced, with
 * when and by which run: nothing RTE published is ever deleted from the warehouse (docs/pipelines/eco2mix.md).
 */
import { ECO2MIX_NATURES, ECO2MIX_SOURCES, type Eco2mixNature } from '../../connectors/opendatasoft/eco2mix/fields.js';
import type { Dataset, SqlType } from '../../warehouse/dataset.js';

/** The staging row's columns, in table order (the engine's run tables and the lake files share it). */
const OBSERVATION_COLUMNS: ReadonlyArray<readonly [string, SqlType]> = [
  ['region_code', 'VARCHAR'],
  ['observed_at', 'TIMESTAMP'],
  ['region_name', 'VARCHAR'],
  ['nature', 'VARCHAR'],
  ...ECO2MIX_SOURCES.map((s) => [s, 'DOUBLE PRECISION'] as const),
  // The raw zone's key of the file the row came from: the lineage, stable across a rebuild.
  ['raw_file', 'VARCHAR'],
  ['run_id', 'BIGINT'],
  ['loaded_at', 'TIMESTAMP'],
];

export const REGIONAL_OBSERVATIONS: Dataset = {
  name: 'regional_observations',
  columns: OBSERVATION_COLUMNS,
  primaryKey: ['region_code', 'observed_at'],
  required: ['region_name'],
};

/**
 * A key's natures only ever rise (temps réel → consolidées → définitives), so a (key, nature rank) is
 * superseded at most once: it identifies a history row. `nature_rank` rather than `nature`, which may be
 * null (a record without a readable nature ranks lowest, 0).
 */
export const REGIONAL_OBSERVATIONS_HISTORY: Dataset = {
  name: 'regional_observations_history',
  columns: [...OBSERVATION_COLUMNS, ['nature_rank', 'INTEGER'], ['superseded_at', 'TIMESTAMP'], ['superseded_by_run', 'BIGINT']],
  primaryKey: ['region_code', 'observed_at', 'nature_rank'],
  required: ['region_name', 'superseded_at', 'superseded_by_run'],
};

/** A nature's precedence: the higher supersedes the lower; a record without nature ranks 0. */
export function natureRank(nature: Eco2mixNature): number {
  return ECO2MIX_NATURES.indexOf(nature) + 1;
}
