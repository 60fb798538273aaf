/**
 * What the SYNOP readers produce: typed observations and rejects, through a `SynopSink`. `SynopBatch`
 * is the in-memory sink (tests, small runs) that also keeps the run-summary counters.
 */
import type { SynopValues } from '../../connectors/opendatasoft/synop/values.js';
import type { RecordLocation } from '../../quality/rejects.js';
import { RejectKeeper } from '../../quality/rejectKeeper.js';
import type { ConvertedValues } from './convert.js';

export interface SynopObservation {
  /** `numer_sta`, leading zeros kept. */
  stationId: string;
  /** UTC instant of `date`, ms. */
  observedAt: number;
  /** The 82 fields in SYNOP_FIELDS order (see connectors/opendatasoft/synop/values.ts). */
  values: SynopValues;
  /** CONVERTED_COLUMNS order. */
  converted: ConvertedValues;
  loc: RecordLocation;
}

export interface SynopSink {
  observation(obs: SynopObservation): void;
  /** A value that could not be read or is out of range: the observation is kept with the field null. */
  rejectValue(loc: RecordLocation, field: string, value: string | null, reason: string): void;
  /** A record without a usable key (`numer_sta`, `date`) or broken as a whole. */
  rejectRecord(loc: RecordLocation, field: string | null, value: string | null, reason: string): void;
  /** Columns (or JSON keys) the dataset does not have: reported once per file, their values ignored. */
  rejectColumns(file: string, names: readonly string[]): void;
  /** Nothing more could be read from the file (or a part of it: a bad JSONL line, a ZIP entry). */
  rejectFile(file: string, reason: string, row?: number | null): void;
}

/**
 * Rejects and the run-summary counters every sink keeps; a sink adds what it does with observations
 * (and calls `countObservation` for each one it keeps).
 */
export abstract class SynopRejectKeeper extends RejectKeeper implements SynopSink {
  constructor() {
    super('donnees-synop-essentielles-omm');
  }

  abstract observation(obs: SynopObservation): void;

  protected countObservation(): void {
    this.rowsRead++;
  }
}

/** The in-memory sink. */
export class SynopBatch extends SynopRejectKeeper {
  readonly observations: SynopObservation[] = [];

  observation(obs: SynopObservation): void {
    this.countObservation();
    this.observations.push(obs);
  }
}
