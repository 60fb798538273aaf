/**
 * Reading a delivered file by its type: one reader per extension, ZIP archives opened entry by entry, and
 * a problem with a file as a whole (a `FileFormatError`: wrong delimiter, truncated JSON, a damaged
 * archive) turned into one file reject naming it, so that the caller goes on with the next file.
 */
import { readFile } from 'node:fs/promises';
import { extensionOf } from '../../lake/raw.js';
import { FileFormatError } from './text.js';
import { withZipContents, type ZipReadOptions } from './zip.js';

/** Where a file that cannot be read at all goes. */
export interface FileRejectSink {
  rejectFile(file: string, reason: string, row?: number | null): void;
}

/** One reader per extension (lower case, without the dot); `zip` is not one: archives are opened here. */
export type ReadersByType = Readonly<Record<string, (file: string, bytes: Uint8Array) => void>>;

function asFileReject(file: string, sink: FileRejectSink, err: unknown): void {
  if (!(err instanceof FileFormatError)) throw err;
  sink.rejectFile(file, err.message, err.line);
}

/** Reads one file, held in memory, by its extension; an archive must be read from disk (`readPathByType`). */
export function readFileByType(file: string, bytes: Uint8Array, sink: FileRejectSink, readers: ReadersByType): void {
  const ext = extensionOf(file);
  if (ext === 'zip') throw new Error(`${file}: a ZIP archive is extracted from disk, with readPathByType`);
  const read = readers[ext];
  if (!read) {
    sink.rejectFile(file, `unsupported file type ".${ext}" (accepted: ${[...Object.keys(readers), 'zip'].join(', ')})`);
    return;
  }
  try {
    read(file, bytes);
  } catch (err) {
    asFileReject(file, sink, err);
  }
}

/**
 * Reads one file from disk by its extension: a ZIP archive entry by entry (an entry the archive reader
 * refused — limits, unsafe path, nested archive — or of another type is one reject naming it; the others
 * load), any other file whole.
 */
export async function readPathByType(file: string, path: string, sink: FileRejectSink, readers: ReadersByType, zip: ZipReadOptions = {}): Promise<void> {
  if (extensionOf(file) !== 'zip') {
    readFileByType(file, await readFile(path), sink, readers);
    return;
  }
  try {
    await withZipContents(path, zip, async ({ files, refused }) => {
      for (const r of refused) sink.rejectFile(`${file}/${r.name}`, r.reason);
      for (const entry of files) {
        const inner = `${file}/${entry.name}`;
        if (!Object.hasOwn(readers, extensionOf(entry.name))) {
          sink.rejectFile(inner, `unsupported file type in archive (accepted: ${Object.keys(readers).join(', ')})`);
          continue;
        }
        readFileByType(inner, await readFile(entry.path), sink, readers);
      }
    });
  } catch (err) {
    asFileReject(file, sink, err);
  }
}
