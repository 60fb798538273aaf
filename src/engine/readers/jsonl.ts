import { decodeUtf8, FileFormatError, isTruncatedJson } from './text.js';

export interface JsonLine {
  line: number;
  value: unknown;
}

/**
 * Parses JSON Lines. A bad line does not stop the file: it is reported through `onError` with its
 * line number, and the following lines are still read.
 */
export function* readJsonLines(bytes: Uint8Array, onError: (line: number, message: string) => void): Generator<JsonLine> {
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
    try {
      yield { line, value: JSON.parse(raw) };
    } catch (err) {
      const truncated = isTruncatedJson((err as Error).message, raw);
      onError(line, truncated ? 'truncated JSON line' : `invalid JSON: ${(err as Error).message}`);
    }
  }
}

export { FileFormatError };
