import { repeatedKey, repeatedKeyReason } from './jsonKeys.js';
import { decodeUtf8, isTruncatedJson } from './text.js';

export interface JsonLine {
  line: number;
  value: unknown;
}

export interface JsonLinesOptions {
  /** A line whose objects repeat a key is an error (see jsonKeys.ts) rather than read as JSON.parse reads it. */
  uniqueKeys?: boolean;
}

/**
 * Parses JSON Lines. A bad line does not stop the file: it is reported through `onError` with its
 * line number, and the following lines are still read.
 */
export function* readJsonLines(bytes: Uint8Array, onError: (line: number, message: string) => void, options: JsonLinesOptions = {}): Generator<JsonLine> {
  const text = decodeUtf8(bytes);
  let line = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    const raw = text.slice(start, end).trim();
    start = end + 1;
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      const truncated = isTruncatedJson((err as Error).message, raw);
      onError(line, truncated ? 'truncated JSON line' : `invalid JSON: ${(err as Error).message}`);
      continue;
    }
    const repeated = options.uniqueKeys ? repeatedKey(raw, value) : null;
    if (repeated) onError(line, repeatedKeyReason(repeated));
    else yield { line, value };
  }
}
