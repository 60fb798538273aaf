import type { Reject, RecordLocation } from '../../quality/rejects.js';
import { csvCell } from '../../engine/csvCell.js';
import { MEASURES, RANGES, type Measure, type StationRow } from './schema.js';

export type MeasureValues = Partial<Record<Measure, number | null>>;

/** Index of each measure in MEASURES order: the layout of the value arrays given to `reportValues`. */
export const MEASURE_INDEX: Readonly<Record<Measure, number>> = Object.fromEntries(MEASURES.map((m, i) => [m, i])) as Record<Measure, number>;

// Ranges as flat arrays: the hot loop reads them by index, not by key.
const MIN = MEASURES.map((m) => RANGES[m].min ?? -Infinity);
const MAX = MEASURES.map((m) => RANGES[m].max ?? Infinity);
const INTEGER = MEASURES.map((m) => RANGES[m].integer === true);

/** What a reader of one file feeds: reports with a usable key, stations it describes, and what it had to reject. */
export interface ReportSink {
  /** A report with a usable key. Values are converted to canonical units; the sink checks physical ranges. */
  report(loc: RecordLocation, stationId: string, observedAtMs: number, values: MeasureValues): void;
  /**
   * The same for high-volume readers: values by measure index (see MEASURE_INDEX), NaN for missing. The
   * array may be reused by the caller after the call; the location is only built if a value is rejected.
   */
  reportValues(sheet: string | null, row: number, stationId: string, observedAtMs: number, values: Float64Array): void;
  /** A value that could not be read: the report is kept with this field null. */
  rejectValue(loc: RecordLocation, field: string, value: string | null, reason: string): void;
  /** A record without a usable key (unknown station, bad time): rejected whole. */
  rejectRecord(loc: RecordLocation, field: string | null, value: string | null, reason: string): void;
  /** A problem with the file as a whole (truncated, empty, wrong sheet): nothing more could be read from it. */
  rejectFile(file: string, reason: string, row?: number | null): void;
  /** A station described by the file itself (InfoClimat `stations`). */
  station(row: StationRow): void;
}

export interface FileContext {
  /** Original file name, for messages. */
  file: string;
  /** The raw-zone key the reports come from. */
  rawKey: string;
  source: string;
  /** Names of the canonical measures in this source, so rejects name the field the user sees. */
  fieldNames: Partial<Record<Measure, string>>;
}

/**
 * Collects a run's reports and rejects in arrival order, ready for a bulk load (CSV lines, read by DuckDB).
 * Arrival order matters: on a duplicate key the first report wins.
 */
export class ReportBatch {
  /** @param fileIndex position of the file in the run: with the line's sequence number, the arrival order. */
  constructor(readonly fileIndex = 0) {}

  readonly lines: string[] = [];
  readonly rejects: Reject[] = [];
  readonly stations = new Map<string, StationRow>();
  rowsRead = 0;
  rowsRejected = 0;
  valuesRejected = 0;
  filesRejected = 0;

  forFile(ctx: FileContext): ReportSink {
    // The raw key is the same for the whole file: the load joins it on file_seq rather than repeat it per line.
    const suffix = `,${csvCell(ctx.source)}`;
    const rejectValue = (loc: RecordLocation, field: string, value: string | null, reason: string) => {
      this.valuesRejected++;
      this.rejects.push({ ...loc, field, value, reason, whole_record: false });
    };
    const reportValues = (sheet: string | null, row: number, stationId: string, observedAtMs: number, values: Float64Array) => {
      this.rowsRead++;
      let line = `${this.fileIndex},${this.lines.length},${csvCell(stationId)},${observedAtMs}`;
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as number;
        if (v !== v) {
          line += ',';
          continue;
        }
        let reason: string | null = null;
        const m = MEASURES[i] as Measure;
        if (v === Infinity || v === -Infinity) reason = 'not a finite number';
        else if (v < (MIN[i] as number) || v > (MAX[i] as number)) reason = `out of range for ${m} (${RANGES[m].min ?? '-inf'}…${RANGES[m].max ?? '+inf'})`;
        else if (INTEGER[i] && !Number.isInteger(v)) reason = `${m} must be an integer code`;
        if (reason === null) {
          line += `,${v}`;
        } else {
          rejectValue({ file: ctx.file, sheet, row }, ctx.fieldNames[m] ?? m, String(v), reason);
          line += ',';
        }
      }
      this.lines.push(line + suffix);
    };
    const scratch = new Float64Array(MEASURES.length);
    return {
      reportValues,
      report: (loc, stationId, observedAtMs, values) => {
        for (let i = 0; i < MEASURES.length; i++) {
          const v = values[MEASURES[i] as Measure];
          scratch[i] = v === undefined || v === null ? NaN : v;
        }
        reportValues(loc.sheet, loc.row ?? 0, stationId, observedAtMs, scratch);
      },
      rejectValue,
      rejectRecord: (loc, field, value, reason) => {
        this.rowsRead++;
        this.rowsRejected++;
        this.rejects.push({ ...loc, field, value, reason, whole_record: true });
      },
      rejectFile: (file, reason, row = null) => {
        this.filesRejected++;
        this.rejects.push({ file, sheet: null, row, field: null, value: null, reason, whole_record: true });
      },
      station: (row) => {
        if (!this.stations.has(row.id)) this.stations.set(row.id, row);
      },
    };
  }
}
