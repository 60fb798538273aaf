/**
 * What every reader property checks, whatever the pipeline: the outcome of reading a hostile file is rows
 * plus rejects, each reject naming the file, with a reason a person can act on — never a V8 error that
 * escaped a reader ("Maximum call stack size exceeded", "Cannot create a string longer than …").
 */
import assert from 'node:assert/strict';
import type { Reject } from '../../src/quality/rejects.js';

/** Messages of JavaScript engine failures: a reader that lets one through has crashed, whatever caught it. */
export const ENGINE_ERRORS =
  /Maximum call stack|Cannot create a string|Invalid string length|Invalid array length|allocation failed|out of memory|Cannot read propert|is not a function|is not iterable|of undefined|is undefined|\[object Object\]/;

/** The longest value or reason a reject may carry: a reject quotes what was wrong, it is not a copy of the file. */
export const MAX_REJECT_TEXT = 1100;

/** Time one file of a few kilobytes may take, generous for a shared 2-core machine. */
export const SMALL_FILE_MS = 5_000;

/** Checks every reject of one file read: named after the file (or an entry of it), with a clear, bounded reason. */
export function assertClearRejects(rejects: readonly Reject[], file: string): void {
  for (const r of rejects) {
    assert.ok(r.file === file || r.file.startsWith(`${file}/`), `reject names another file: ${r.file} (reading ${file})`);
    assert.equal(typeof r.reason, 'string');
    assert.ok(r.reason.trim().length > 0, `empty reject reason for ${file}`);
    assert.doesNotMatch(r.reason, ENGINE_ERRORS, `a JavaScript engine error reached a reject of ${file}: ${r.reason.slice(0, 300)}`);
    assert.ok(r.reason.length <= MAX_REJECT_TEXT, `reject reason of ${r.reason.length} characters for ${file}`);
    assert.ok(r.value === null || r.value.length <= MAX_REJECT_TEXT, `reject value of ${r.value?.length} characters for ${file}`);
    assert.ok(r.field === null || r.field.length <= MAX_REJECT_TEXT, `reject field name of ${r.field?.length} characters for ${file}`);
    assert.ok(r.row === null || (Number.isInteger(r.row) && r.row >= 1), `reject row ${r.row} for ${file}`);
  }
}

/** Runs `fn`, failing when it takes longer than `limitMs` (a reader must not hang on any input). */
export async function withinTime<T>(what: string, limitMs: number, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  assert.ok(ms < limitMs, `${what} took ${Math.round(ms)} ms (limit ${limitMs} ms)`);
  return value;
}

/** Peak resident memory of the process so far, in MB (Linux reports maxRSS in kB). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** `[[[[…]]]]`, `depth` levels deep. */
export function deepArray(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

/** `{"a":{"a":…1…}}`, `depth` levels deep. */
export function deepObject(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** The text in the wrong encodings users send: Latin-1 / Windows-1252 bytes, UTF-16 with a byte-order mark. */
export function wrongEncodings(text: string): { encoding: string; bytes: Buffer; expect: RegExp }[] {
  const utf16be = Buffer.from(`\uFEFF${text}`, 'utf16le');
  utf16be.swap16();
  return [
    { encoding: 'latin1', bytes: Buffer.from(text, 'latin1'), expect: /not valid UTF-8 .*line \d+/ },
    // Windows-1252 differs from Latin-1 in 0x80–0x9F: a typographic apostrophe is 0x92.
    { encoding: 'windows-1252', bytes: Buffer.from(text.replace(/'/g, '\u0092'), 'latin1'), expect: /not valid UTF-8 .*line \d+/ },
    { encoding: 'utf-16le', bytes: Buffer.from(`\uFEFF${text}`, 'utf16le'), expect: /UTF-16/ },
    { encoding: 'utf-16be', bytes: utf16be, expect: /UTF-16/ },
  ];
}

/** Values a spreadsheet program would take for a formula when the file is opened (CSV injection). */
export const FORMULA_LOOKING = ["=cmd|' /C calc'!A0", '=1+1', '+41', '-2+3', '@SUM(A1:A2)', '=HYPERLINK("http://example.invalid","x")'];
