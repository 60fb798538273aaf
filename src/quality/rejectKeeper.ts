import type { Reject, RecordLocation } from './rejects.js';

/**
 * The rejects a reader's sink keeps, with the run-summary counters they move: a value (the record kept),
 * a record rejected whole, unknown columns (once per file), a file or part of one that could not be read.
 * A pipeline's sink extends it with what it does with observations.
 */
export class RejectKeeper {
  readonly rejects: Reject[] = [];
  /** Records parsed: a sink adds its own (observations, skipped slots) to those rejected whole. */
  rowsRead = 0;
  rowsRejected = 0;
  valuesRejected = 0;
  filesRejected = 0;

  /** `dataset`: what unknown columns are not a field of, in their reject's reason. */
  constructor(private readonly dataset: string) {}

  rejectValue(loc: RecordLocation, field: string, value: string | null, reason: string): void {
    this.valuesRejected++;
    this.rejects.push({ ...loc, field, value, reason, whole_record: false });
  }
  rejectRecord(loc: RecordLocation, field: string | null, value: string | null, reason: string): void {
    this.rowsRead++;
    this.rowsRejected++;
    this.rejects.push({ ...loc, field, value, reason, whole_record: true });
  }
  rejectColumns(file: string, names: readonly string[]): void {
    this.rejects.push({
      file,
      sheet: null,
      row: null,
      field: names.join(', '),
      value: null,
      reason: `unknown column${names.length > 1 ? 's' : ''} ignored (not a field of ${this.dataset})`,
      whole_record: false,
    });
  }
  rejectFile(file: string, reason: string, row: number | null = null): void {
    this.filesRejected++;
    this.rejects.push({ file, sheet: null, row, field: null, value: null, reason, whole_record: true });
  }
}
