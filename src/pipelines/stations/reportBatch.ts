import type { Reject, RecordLocation } from '../../quality/rejects.js';
import { MEASURES, RANGES, type Measure, type StationRow } from './schema.js';

export type MeasureValues = Partial<Record<Measure, number | null>>;

/** What a reader of one file feeds: reports with a usable key, stations it describes, and what it had to reject. */
export interface ReportSink {
  /** A report with a usable key. Values are converted to canonical units; the sink checks physical ranges. */
  report(loc: RecordLocation, stationId: string, observedAtMs: number, values: MeasureValues): void;
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

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * Collects a run's reports and rejects in arrival order, ready for a bulk load (CSV lines, read by DuckDB).
 * Arrival order matters: on a duplicate key the first report wins.
 */
export class ReportBatch {
  readonly lines: string[] = [];
  readonly rejects: Reject[] = [];
  readonly stations = new Map<string, StationRow>();
  rowsRead = 0;
  rowsRejected = 0;
  valuesRejected = 0;
  filesRejected = 0;

  forFile(ctx: FileContext): ReportSink {
    const prefix = `,${csvField(ctx.source)},${csvField(ctx.rawKey)}`;
    const rejectValue = (loc: RecordLocation, field: string, value: string | null, reason: string) => {
      this.valuesRejected++;
      this.rejects.push({ ...loc, field, value, reason, whole_record: false });
    };
    return {
      report: (loc, stationId, observedAtMs, values) => {
        this.rowsRead++;
        let line = `${this.lines.length},${csvField(stationId)},${observedAtMs}`;
        for (const m of MEASURES) {
          let v = values[m];
          if (v !== undefined && v !== null) {
            const range = RANGES[m];
            if (!Number.isFinite(v)) {
              rejectValue(loc, ctx.fieldNames[m] ?? m, String(v), 'not a finite number');
              v = null;
            } else if ((range.min !== undefined && v < range.min) || (range.max !== undefined && v > range.max)) {
              const bounds = `${range.min ?? '-inf'}…${range.max ?? '+inf'}`;
              rejectValue(loc, ctx.fieldNames[m] ?? m, String(v), `out of range for ${m} (${bounds})`);
              v = null;
            } else if (range.integer && !Number.isInteger(v)) {
              rejectValue(loc, ctx.fieldNames[m] ?? m, String(v), `${m} must be an integer code`);
              v = null;
            }
          }
          line += v === undefined || v === null ? ',' : `,${v}`;
        }
        this.lines.push(line + prefix);
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
