/**
 * Types one eco2mix record, whatever file it came from: its raw values by field index (a JSON value or
 * a CSV cell; undefined when the file has no such field) become an observation, an empty slot, or a
 * reject. The rules are those of issue 17 and DESIGN's data flow: a bad key rejects the record, a bad
 * value rejects the value and keeps the record.
 */
import {
  ECO2MIX_FIELDS,
  ECO2MIX_NATURES,
  ECO2MIX_REGIONS,
  ECO2MIX_SOURCES,
  fieldIndex,
  natureOf,
  SOURCE_FIELDS,
  type Eco2mixNature,
} from '../../connectors/opendatasoft/eco2mix/fields.js';
import { parseOffsetDateTime } from '../../connectors/opendatasoft/synop/values.js';
import { showValue } from '../../engine/readers/text.js';
import type { RecordLocation } from '../../quality/rejects.js';
import type { Eco2mixSink, SourceValues } from './batch.js';

export const FIELD_COUNT = ECO2MIX_FIELDS.length;
export const REGION = fieldIndex('code_insee_region');
export const DATE_HEURE = fieldIndex('date_heure');
const NATURE = fieldIndex('nature');
const SOURCE_INDEX = SOURCE_FIELDS.map((f) => fieldIndex(f.name));

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Far above any region's power (France as a whole peaks near 100 GW): a value beyond it is a unit or
 * typing mistake, not a measurement.
 */
const MAX_ABS_MW = 100_000;

/** How the datasets write "no value": empty, a dash, or ND ("non disponible"). */
function isMissing(raw: unknown): boolean {
  if (raw === undefined || raw === null) return true;
  if (typeof raw !== 'string') return false;
  const s = raw.trim();
  return s === '' || s === '-' || s.toUpperCase() === 'ND';
}

type Mw = { value: number | null } | { error: string };

function typeMw(raw: unknown): Mw {
  if (isMissing(raw)) return { value: null };
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && NUMBER.test(raw.trim())) n = Number(raw.trim());
  else return { error: 'not a number' };
  if (!Number.isFinite(n)) return { error: 'not a finite number' };
  if (Math.abs(n) > MAX_ABS_MW) return { error: `beyond any regional power (|value| > ${MAX_ABS_MW} MW)` };
  return { value: n };
}

/** A region code as the datasets write it ("11"), also when a spreadsheet turned it into the number 11. */
function regionCode(raw: unknown): string | null {
  if (typeof raw === 'number' && Number.isInteger(raw)) return String(raw);
  if (typeof raw === 'string' && raw.trim() !== '') return raw.trim();
  return null;
}

function shown(raw: unknown): string | null {
  return raw === undefined || raw === null ? null : showValue(raw);
}

/** Types one record given as raw values by field index and feeds the sink. */
export function typeRecord(raw: readonly unknown[], loc: RecordLocation, sink: Eco2mixSink): void {
  const rawRegion = raw[REGION];
  const region = regionCode(rawRegion);
  if (region === null) {
    const missing = isMissing(rawRegion);
    sink.rejectRecord(loc, 'code_insee_region', shown(rawRegion), missing ? 'missing region code (code_insee_region)' : 'not a region code');
    return;
  }
  if (!ECO2MIX_REGIONS.has(region)) {
    sink.rejectRecord(loc, 'code_insee_region', region, `unknown region code (expected one of ${[...ECO2MIX_REGIONS.keys()].join(', ')})`);
    return;
  }
  const rawTime = raw[DATE_HEURE];
  if (isMissing(rawTime)) {
    sink.rejectRecord(loc, 'date_heure', shown(rawTime), 'missing time (date_heure)');
    return;
  }
  const t = typeof rawTime === 'string' ? parseOffsetDateTime(rawTime) : null;
  if (t === null || t === 'no-offset') {
    const reason =
      t === 'no-offset'
        ? 'date_heure without UTC offset (ambiguous around DST changes; export with the timezone kept in the value)'
        : 'not an ISO 8601 datetime with offset';
    sink.rejectRecord(loc, 'date_heure', shown(rawTime), reason);
    return;
  }

  // Values are typed before anything is reported: a slot with no value at all is skipped, not rejected.
  const values: SourceValues = {
    consumption: null,
    thermal: null,
    nuclear: null,
    wind: null,
    wind_onshore: null,
    wind_offshore: null,
    solar: null,
    hydro: null,
    pumping: null,
    bioenergy: null,
    battery_charge: null,
    battery_discharge: null,
    exchanges: null,
  };
  let present = 0;
  let errors: { field: string; value: unknown; reason: string }[] | null = null;
  for (let s = 0; s < ECO2MIX_SOURCES.length; s++) {
    const i = SOURCE_INDEX[s] as number;
    const typed = typeMw(raw[i]);
    if ('error' in typed) {
      (errors ??= []).push({ field: (ECO2MIX_FIELDS[i] as { name: string }).name, value: raw[i], reason: typed.error });
      continue;
    }
    if (typed.value !== null) {
      values[ECO2MIX_SOURCES[s] as keyof SourceValues] = typed.value;
      present++;
    }
  }
  if (present === 0 && errors === null) {
    sink.emptySlot(loc);
    return;
  }

  let nature: Eco2mixNature | null = null;
  const rawNature = raw[NATURE];
  if (!isMissing(rawNature)) {
    nature = typeof rawNature === 'string' ? natureOf(rawNature) : null;
    if (nature === null) sink.rejectValue(loc, 'nature', shown(rawNature), `not a nature of the datasets (${ECO2MIX_NATURES.join(', ')})`);
  }
  for (const e of errors ?? []) sink.rejectValue(loc, e.field, shown(e.value), e.reason);
  sink.observation({ regionCode: region, observedAt: t, nature, values, loc });
}
