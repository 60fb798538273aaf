import { visit, type JSONPath } from 'jsonc-parser';

/**
 * Repeated keys in a JSON object (`{"t":"7.6","t":"abc"}`). RFC 8259 leaves their meaning open: V8's
 * JSON.parse keeps the last value, DuckDB's reader the first, so a reader that must say the same thing on
 * every path finds them and refuses the document instead of silently choosing.
 */

export interface RepeatedKey {
  key: string;
  /** Where the object lies in the document, e.g. `hourly.07015[0]`; empty at the top level. */
  path: string;
  /** 1-based line of the second occurrence. */
  line: number;
}

/** Members of every object in a JSON text: in valid JSON, each colon outside a string starts one. */
function membersInText(text: string): number {
  let members = 0;
  let i = 0;
  const end = text.length;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === 58 /* : */) {
      members++;
      i++;
    } else if (c === 34 /* " */) {
      // Skip the string: its closing quote is the first one not escaped by an odd run of backslashes.
      let q = text.indexOf('"', i + 1);
      for (;;) {
        if (q === -1) return members;
        let backslashes = 0;
        while (text.charCodeAt(q - 1 - backslashes) === 92 /* \ */) backslashes++;
        if (backslashes % 2 === 0) break;
        q = text.indexOf('"', q + 1);
      }
      i = q + 1;
    } else {
      i++;
    }
  }
  return members;
}

/** Members of every object in a parsed value, walked without recursion (documents may nest deeply). */
function membersInValue(value: unknown): number {
  let members = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      for (const item of v) if (item !== null && typeof item === 'object') stack.push(item);
      continue;
    }
    for (const key in v) {
      members++;
      const item = (v as Record<string, unknown>)[key];
      if (item !== null && typeof item === 'object') stack.push(item);
    }
  }
  return members;
}

function showPath(path: JSONPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** Finds the first repeated key of a text known to hold one (slower than the count, so only then). */
function locate(text: string): RepeatedKey | null {
  const open: Set<string>[] = [];
  let found: RepeatedKey | null = null;
  try {
    visit(text, {
      onObjectBegin: () => {
        open.push(new Set());
      },
      onObjectEnd: () => {
        open.pop();
      },
      onObjectProperty: (key, _offset, _length, startLine, _startCharacter, pathSupplier) => {
        const keys = open[open.length - 1];
        if (!keys || found) return;
        if (keys.has(key)) found = { key, path: showPath(pathSupplier()), line: startLine + 1 };
        keys.add(key);
      },
    });
  } catch {
    // A document nested deeper than the visitor's recursion allows: the repetition stays unlocated.
  }
  return found;
}

/**
 * The first key repeated within one object of `text`, whose parse is `parsed`; null when every object's
 * keys are unique. Costs one pass over the text and one over the value: the precise scan runs only when a
 * repetition is there.
 */
export function repeatedKey(text: string, parsed: unknown): RepeatedKey | null {
  if (parsed === null || typeof parsed !== 'object') return null;
  if (membersInText(text) === membersInValue(parsed)) return null;
  return locate(text) ?? { key: '?', path: '', line: 1 };
}

/** The reject reason for a repeated key (the caller names the line where it says where the document is). */
export function repeatedKeyReason(r: RepeatedKey): string {
  const where = r.path === '' ? 'the top-level object' : r.path;
  return `key "${r.key}" appears twice in ${where}: a repeated JSON key is ambiguous, so the document is refused`;
}
