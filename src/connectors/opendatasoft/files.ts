/**
 * The records of a JSON file a user holds of an OpenDataSoft dataset, whichever way it was saved: a JSON
 * export (an array of records) or an Explore API records page (`{"total_count", "results": […]}`). An
 * error answer saved as a file, or anything else, is a file-level problem.
 */
import { decodeUtf8, FileFormatError, parseJson, showValue } from '../../engine/readers/text.js';

export interface JsonRecords {
  records: unknown[];
  /** Where rows are counted in the document, for rejects: `results` for an API page, none for an export. */
  sheet: string | null;
}

export function jsonRecords(bytes: Uint8Array): JsonRecords {
  if (bytes.length === 0) throw new FileFormatError('empty file', 1);
  const doc: unknown = parseJson(decodeUtf8(bytes));
  if (Array.isArray(doc)) return { records: doc, sheet: null };
  if (doc !== null && typeof doc === 'object' && Array.isArray((doc as { results?: unknown }).results)) {
    return { records: (doc as { results: unknown[] }).results, sheet: 'results' };
  }
  if (doc !== null && typeof doc === 'object' && 'error_code' in doc) {
    const e = doc as { error_code: unknown; message?: unknown };
    throw new FileFormatError(`an OpenDataSoft error response, not data: ${showValue(e.error_code)}: ${e.message === undefined ? '' : showValue(e.message)}`);
  }
  throw new FileFormatError('expected an OpenDataSoft records response ({"total_count", "results": […]}) or a JSON export (an array of records)');
}
