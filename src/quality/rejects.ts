/** Where a bad value or record was found, precise enough for a person to open the file and look. */
export interface RecordLocation {
  /** The file's original name. */
  file: string;
  /** Sheet of a workbook, or the path inside a JSON document (`hourly.07015`). */
  sheet: string | null;
  /** 1-based row (line of a CSV/JSONL, position in a JSON array, spreadsheet row). */
  row: number | null;
}

export interface Reject extends RecordLocation {
  field: string | null;
  value: string | null;
  reason: string;
  /** true: the whole record was rejected; false: only this field was set to null. */
  whole_record: boolean;
}
