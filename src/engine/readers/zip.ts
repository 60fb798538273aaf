import { unzipSync } from 'fflate';
import { posix } from 'node:path';
import { FileFormatError } from './text.js';

export interface ZipEntry {
  /** Normalised path inside the archive. */
  name: string;
  bytes: Uint8Array;
}

export interface ZipLimits {
  maxEntries: number;
  maxTotalBytes: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntries: 5000, maxTotalBytes: 2 * 1024 ** 3 };

/**
 * A safe path for an archive entry, or null when it would escape the folder it is extracted to
 * (`../x`, `/etc/x`, `C:\x`). We never extract to disk by name, but entry names end up in keys and messages.
 */
export function safeEntryName(name: string): string | null {
  if (name.includes('\0') || /^[a-zA-Z]:/.test(name) || name.startsWith('/') || name.startsWith('\\')) return null;
  const normal = posix.normalize(name.replace(/\\/g, '/'));
  if (normal.startsWith('../') || normal === '..' || normal.startsWith('/')) return null;
  return normal;
}

/**
 * Reads the files of a ZIP archive. Unsafe entries are reported through `onUnsafe` and skipped; too many
 * entries or too many bytes (zip bombs) fail the whole archive with a clear error, before decompressing.
 */
export function readZip(
  bytes: Uint8Array,
  onUnsafe: (name: string, reason: string) => void,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): ZipEntry[] {
  let count = 0;
  let total = 0;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        if (f.name.endsWith('/')) return false;
        if (safeEntryName(f.name) === null) {
          onUnsafe(f.name, 'entry path escapes the archive folder; skipped');
          return false;
        }
        count++;
        total += f.originalSize;
        if (count > limits.maxEntries) {
          throw new FileFormatError(`archive holds more than ${limits.maxEntries} files; split it`);
        }
        if (total > limits.maxTotalBytes) {
          throw new FileFormatError(`archive expands to more than ${limits.maxTotalBytes} bytes; refused`);
        }
        return true;
      },
    });
  } catch (err) {
    if (err instanceof FileFormatError) throw err;
    throw new FileFormatError(`not a readable ZIP archive: ${(err as Error).message}`);
  }
  return Object.entries(files)
    .map(([name, data]) => ({ name: safeEntryName(name) ?? name, bytes: data }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
