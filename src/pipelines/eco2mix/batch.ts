/**
 * What the eco2mix readers produce: typed observations, skipped empty slots and rejects, through an
 * `Eco2mixSink`. `Eco2mixBatch` is the in-memory sink (tests, small runs) that also keeps the counters
 * of the run summary.
 */
import type { Eco2mixNature, Eco2mixSource } from '../../connectors/opendatasoft/eco2mix/fields.js';
import type { RecordLocation } from '../../quality/rejects.js';
import { RejectKeeper } from '../../quality/rejectKeeper.js';

/** Power per source in MW; null is missing (`""`, `"-"`, `"ND"`, absent, or rejected), never 0. */
export type SourceValues = Record<Eco2mixSource, number | null>;

export interface Eco2mixObservation {
  /** `code_insee_region`, one of the 12 metropolitan regions. */
  regionCode: string;
  /** UTC instant of `date_heure`, ms, from the offset the file wrote. */
  observedAt: number;
  /** Null when the record had none or an unreadable one (then rejected as a value). */
  nature: Eco2mixNature | null;
  values: SourceValues;
  loc: RecordLocation;
}

export interface Eco2mixSink {
  observation(obs: Eco2mixObservation): void;
  /** A record with a key but not a single value: a time slot the real-time dataset publishes ahead. */
  emptySlot(loc: RecordLocation): void;
  /** A value that could not be read or is out of range: the observation is kept with the field null. */
  rejectValue(loc: RecordLocation, field: string, value: string | null, reason: string): void;
  /** A record without a usable key (`code_insee_region`, `date_heure`) or broken as a whole. */
  rejectRecord(loc: RecordLocation, field: string | null, value: string | null, reason: string): void;
  /** Columns (or JSON keys) the datasets do not have: reported once per file, their values ignored. */
  rejectColumns(file: string, names: readonly string[]): void;
  /** Nothing more could be read from the file (or a part of it: a ZIP entry). */
  rejectFile(file: string, reason: string, row?: number | null): void;
}

/** The in-memory sink. `rowsRead` counts every record parsed: observations, empty slots, records rejected whole. */
export class Eco2mixBatch extends RejectKeeper implements Eco2mixSink {
  readonly observations: Eco2mixObservation[] = [];
  emptySlots = 0;

  constructor() {
    super('eco2mix-regional-tr / eco2mix-regional-cons-def');
  }

  observation(obs: Eco2mixObservation): void {
    this.rowsRead++;
    this.observations.push(obs);
  }
  emptySlot(): void {
    this.rowsRead++;
    this.emptySlots++;
  }
}
