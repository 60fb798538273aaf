import { isUtf8 } from 'node:buffer';

/** Errors a reader raises about a file as a whole, with the line where it went wrong when known. */
export class FileFormatError extends Error {
  override name = 'FileFormatError';
  constructor(
    message: string,
    readonly line: number | null = null,
  ) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** 1-based line number of a byte or character offset. */
function lineAt(text: string | Uint8Array, offset: number): number {
  let line = 1;
  const end = Math.min(offset, text.length);
  if (typeof text === 'string') {
    for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  } else {
    for (let i = 0; i < end; i++) if (text[i] === 10) line++;
  }
  return line;
}

/** The most a reject quotes of a value: enough to recognise it, never a copy of a huge line. */
const MAX_SHOWN_CHARS = 1000;

/** `text` cut to `max` characters, saying how long it was. */
export function clip(text: string, max = MAX_SHOWN_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/**
 * A parsed JSON value as a reject quotes it: strings as they are, anything else as JSON, cut to
 * MAX_SHOWN_CHARS. JSON.stringify recurses: a value nested deeper than the stack (JSON.parse has no
 * such limit) gets a description instead of "Maximum call stack size exceeded".
 */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return clip(value);
  try {
    return clip(JSON.stringify(value) ?? String(value));
  } catch (err) {
    if (err instanceof RangeError) return Array.isArray(value) ? '[an array nested too deep to show]' : '{an object nested too deep to show}';
    throw err;
  }
}

/** A UTF-16 byte-order mark: the file is UTF-16 (Excel's "Unicode text"), not UTF-8. */
function utf16Bom(bytes: Uint8Array): 'LE' | 'BE' | null {
  if (bytes.length < 2) return null;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'LE';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'BE';
  return null;
}

/** Decodes UTF-8 strictly (dropping a BOM); a non-UTF-8 file gets an error naming the line of the first bad byte. */
export function decodeUtf8(bytes: Uint8Array): string {
  // isUtf8 checks in native code; Buffer's decoder is then the fastest way to a string.
  if (isUtf8(bytes)) {
    const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const hasBom = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
    return b.toString('utf8', hasBom ? 3 : 0);
  }
  const bom = utf16Bom(bytes);
  if (bom) throw new FileFormatError(`the file is UTF-16 ${bom} (byte-order mark ${bom === 'LE' ? 'FF FE' : 'FE FF'}), not UTF-8; re-export it as UTF-8`, 1);
  try {
    return utf8.decode(bytes);
  } catch {
    let offset = 0;
    // Find the first invalid sequence by decoding growing prefixes line by line: cheap, and only on the error path.
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 10) {
        try {
          utf8.decode(bytes.subarray(start, i));
        } catch {
          offset = start;
          break;
        }
        start = i + 1;
      }
    }
    const line = lineAt(bytes, offset);
    throw new FileFormatError(`not valid UTF-8 (first bad byte on line ${line}); re-export the file as UTF-8`, line);
  }
}

/**
 * Whether a JSON.parse error means the text stopped early: V8 says so in words ("Unexpected end of JSON
 * input", "Unterminated string") or, in Node 20 for a document cut after a value, only by failing at a
 * position at or past the end of the text ("Expected ',' or '}' after property value … at position N").
 */
export function isTruncatedJson(message: string, text: string): boolean {
  if (/end of JSON input|Unterminated|Unexpected end/i.test(message)) return true;
  const pos = /position (\d+)/.exec(message);
  return pos !== null && Number(pos[1]) >= text.trimEnd().length;
}

/** Parses JSON, turning V8's "at position N" into a line number. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    const line = pos ? lineAt(text, Number(pos[1])) : lineAt(text, text.length);
    const truncated = isTruncatedJson(message, text);
    throw new FileFormatError(truncated ? `truncated JSON (ends unexpectedly at line ${line})` : `invalid JSON at line ${line}: ${message}`, line);
  }
}
