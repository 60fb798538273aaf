/**
 * ZIP archives, extracted to disk as a stream: never a whole archive or entry in memory, never an inflate
 * of a whole entry in one synchronous call. fflate's streaming `Unzip` finds the entries; their bytes are
 * inflated by Node's zlib (its thread pool) and written to numbered files, counting the bytes actually
 * inflated against the limits — the sizes written in the archive's headers can lie.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, posix } from 'node:path';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import { Unzip, type UnzipDecoder, type UnzipDecoderConstructor, type UnzipFile } from 'fflate';
import { FileFormatError } from './text.js';

export interface ZipLimits {
  /** Entries (files and folders) one archive may hold. */
  maxEntries: number;
  /** Bytes one entry may expand to. */
  maxEntryBytes: number;
  /** Bytes all the entries of one archive may expand to together. */
  maxTotalBytes: number;
  /** How many times its compressed size an entry, and the archive as a whole, may expand to. */
  maxRatio: number;
}

const MiB = 1024 * 1024;

/**
 * Each entry is then read in memory by a TypeScript reader, and V8 strings stop at 512 MiB: 256 MiB per
 * entry keeps clear of that. Text data compresses 5 to 30 times; a zip bomb, about 1000 times.
 */
export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntries: 5000, maxEntryBytes: 256 * MiB, maxTotalBytes: 2048 * MiB, maxRatio: 100 };

/**
 * The most an entry may be allowed to expand to: the readers then hold it in memory as one string, and V8
 * strings stop at 512 MiB (a larger file read from a ZIP would fail the whole run).
 */
export const MAX_ENTRY_BYTES_LIMIT = 500 * MiB;

/** Where each limit is configured, for the messages saying how to raise it. */
export const ZIP_LIMIT_SETTINGS: Readonly<Record<keyof ZipLimits, { env: string; key: string }>> = {
  maxEntries: { env: 'ECLUSE_ZIP_MAX_ENTRIES', key: 'zip.max_entries' },
  maxEntryBytes: { env: 'ECLUSE_ZIP_MAX_ENTRY_MB', key: 'zip.max_entry_mb' },
  maxTotalBytes: { env: 'ECLUSE_ZIP_MAX_TOTAL_MB', key: 'zip.max_total_mb' },
  maxRatio: { env: 'ECLUSE_ZIP_MAX_RATIO', key: 'zip.max_ratio' },
};

/** Up to this many bytes, expansion is never refused for its ratio: a small file of blanks may compress 1000 times. */
export const RATIO_FREE_BYTES = MiB;

/** Bytes of the archive read per step: each step's inflated output is bounded by what zlib's stream lets through. */
const READ_CHUNK = 64 * 1024;

/** A file of the archive, extracted. */
export interface ZipEntryFile {
  /** Normalised path inside the archive (see `safeEntryName`), control characters escaped. */
  name: string;
  /** Where its bytes are: a numbered file, never a path built from the entry's name. */
  path: string;
  bytes: number;
}

/** An entry not extracted, and why (the reason names the limit and how to raise it). */
export interface ZipEntryRefused {
  /** The entry's name as the archive gives it, control characters escaped. */
  name: string;
  reason: string;
}

export interface ZipContents {
  /** In name order. */
  files: ZipEntryFile[];
  /** In name order. */
  refused: ZipEntryRefused[];
  folders: number;
  /** Bytes inflated in all, extracted or not: the work the archive cost. */
  inflatedBytes: number;
}

/**
 * A safe path for an archive entry, or null when it would escape the folder it is extracted to
 * (`../x`, `/etc/x`, `C:\x`, a NUL). Entries are extracted to numbered files, never by name, but entry
 * names end up in keys and messages.
 */
export function safeEntryName(name: string): string | null {
  if (name.includes('\0') || /^[a-zA-Z]:/.test(name) || name.startsWith('/') || name.startsWith('\\')) return null;
  const normal = posix.normalize(name.replace(/\\/g, '/'));
  if (normal.startsWith('../') || normal === '..' || normal.startsWith('/') || normal === '.' || normal === '') return null;
  return normal;
}

/** A name with its control characters escaped (`\u0007`): names end up in messages and text columns. */
function escapeControls(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this escapes
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** An entry name fit for a message or a database text column: control characters escaped, length capped. */
export function displayEntryName(name: string): string {
  const shown = escapeControls(name);
  return shown.length > 300 ? `${shown.slice(0, 300)}…` : shown;
}

export function formatBytes(n: number): string {
  if (n < 10 * 1024) return `${n} bytes`;
  if (n < MiB) return `${Math.round(n / 1024)} KiB`;
  const mib = n / MiB;
  return `${mib >= 100 ? Math.round(mib) : Math.round(mib * 10) / 10} MiB`;
}

function howToRaise(limit: keyof ZipLimits): string {
  const s = ZIP_LIMIT_SETTINGS[limit];
  return `raise it with ${s.env} or ${s.key} in ecluse.config.json`;
}

/** A refusal of one entry by the limits, raised inside its stream. */
class EntryRefusal extends Error {}

const END_OF_DIRECTORY = 0x06054b50;
const END_OF_DIRECTORY_SIZE = 22;

/**
 * The number of entries the archive's end-of-central-directory record lists (null: a ZIP64 archive, too
 * many for the record). Its presence, at the very end, says the archive is whole; its count lets an archive
 * of too many entries be refused before any work.
 */
async function listedEntries(path: string, size: number): Promise<number | null> {
  const notZip = new FileFormatError('not a ZIP archive, or one cut short (no end-of-central-directory record at its end)');
  if (size < END_OF_DIRECTORY_SIZE) throw notZip;
  const tailSize = Math.min(size, END_OF_DIRECTORY_SIZE + 0xffff);
  const tail = Buffer.alloc(tailSize);
  const fh = await open(path, 'r');
  try {
    await fh.read(tail, 0, tailSize, size - tailSize);
  } finally {
    await fh.close();
  }
  for (let i = tailSize - END_OF_DIRECTORY_SIZE; i >= 0; i--) {
    // The record ends the file: its comment length must reach exactly the last byte.
    if (tail.readUInt32LE(i) === END_OF_DIRECTORY && i + END_OF_DIRECTORY_SIZE + tail.readUInt16LE(i + 20) === tailSize) {
      const count = tail.readUInt16LE(i + 10);
      return count === 0xffff ? null : count;
    }
  }
  throw notZip;
}

/** Where one entry's bytes go: extracted to a file through the limits, or skipped. */
interface EntryTarget {
  push(compressed: Uint8Array, final: boolean): void;
}

const SKIP: EntryTarget = { push: () => {} };

/**
 * One entry being extracted: compressed bytes in, inflated and counted, out to its file. fflate may find
 * several entries in one chunk of the archive: each entry's stream starts once the one before it is
 * written (one open file, one inflater at a time), holding meanwhile the little it was given.
 */
class EntryWriter implements EntryTarget {
  compressedIn = 0;
  inflated = 0;
  ended = false;
  finished = false;
  private failure: string | null = null;
  private aborted = false;
  private waiting = false;
  private input: Transform | null = null;
  private queued: Uint8Array[] = [];
  private readonly started: Promise<void>;
  readonly done: Promise<void>;

  constructor(
    private readonly archive: Extraction,
    readonly name: string,
    readonly path: string,
    private readonly deflated: boolean,
    /** The size the local header gives, when it gives one. */
    private readonly claimedSize: number | undefined,
    previous: Promise<void>,
  ) {
    let written: Promise<void> = Promise.resolve();
    this.started = previous.then(() => {
      if (!this.aborted) written = this.start();
    });
    // Never rejects: a failure is the entry's refusal.
    this.done = this.started.then(() => written);
  }

  private start(): Promise<void> {
    if (this.archive.spent !== null) {
      this.failure = `not read: ${this.archive.spent}`;
      this.queued = [];
      return Promise.resolve();
    }
    const input = this.deflated ? createInflateRaw() : new PassThrough();
    this.input = input;
    const limiter = new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, next: TransformCallback) => {
        const refusal = this.archive.count(this, chunk.length);
        if (refusal) next(new EntryRefusal(refusal));
        else next(null, chunk);
      },
    });
    const written = pipeline(input, limiter, createWriteStream(this.path)).then(
      () => {
        if (this.claimedSize !== undefined && this.claimedSize !== this.inflated) {
          this.failure = `expands to ${this.inflated} bytes where the archive says ${this.claimedSize}: damaged or forged; not read`;
        }
      },
      (err: unknown) => {
        this.failure =
          err instanceof EntryRefusal ? err.message : `its compressed data cannot be read (${(err as Error).message}): damaged, or encrypted; not read`;
      },
    );
    for (const chunk of this.queued) this.write(chunk);
    this.queued = [];
    if (this.ended) input.end();
    return written;
  }

  private write(chunk: Uint8Array): void {
    if (this.input && !this.input.destroyed && chunk.length > 0 && !this.input.write(chunk)) this.waiting = true;
  }

  push(compressed: Uint8Array, final: boolean): void {
    if (this.ended) return;
    this.compressedIn += compressed.length;
    if (this.input !== null) this.write(compressed);
    // Held only until the entry starts; an entry refused or aborted before it started takes nothing.
    else if (this.failure === null && !this.aborted) this.queued.push(compressed);
    if (final) {
      this.ended = true;
      if (this.input && !this.input.destroyed) this.input.end();
    }
  }

  /** Waits until the entry can take more input (started, drained), or, once its input ended, until it is written. */
  async settle(): Promise<void> {
    if (this.ended) {
      await this.done;
      this.finished = true;
      await this.archive.record(this, this.failure);
      return;
    }
    await this.started;
    const input = this.input;
    if (this.waiting && input) {
      await new Promise<void>((resolve) => {
        input.once('drain', resolve);
        void this.done.then(resolve);
      });
      this.waiting = false;
    }
  }

  async abort(): Promise<void> {
    this.aborted = true;
    this.input?.destroy();
    await this.done;
  }
}

/** The extraction of one archive into a folder. */
class Extraction {
  entriesSeen = 0;
  inflatedBytes = 0;
  folders = 0;
  readonly files: ZipEntryFile[] = [];
  readonly refused: ZipEntryRefused[] = [];
  /** Set once the archive's total is spent: later entries are not inflated. */
  spent: string | null = null;
  private active: EntryWriter[] = [];
  /** Settles when the last entry started is written: the next one starts then. */
  private lastWritten: Promise<void> = Promise.resolve();
  /** The target of the decoder fflate constructs next: set just around `file.start()`. */
  private starting: EntryTarget = SKIP;
  private readonly decoders = new Set<number>();
  private readonly unzip: Unzip;

  constructor(
    private readonly dir: string,
    private readonly limits: ZipLimits,
    private readonly archiveBytes: number,
  ) {
    this.unzip = new Unzip((file) => this.onFile(file));
  }

  /**
   * A decoder that hands the entry's compressed bytes to its target as they come. Registered for every
   * compression method met, so that fflate never buffers an entry, nor inflates one itself.
   */
  private decoderFor(compression: number): UnzipDecoderConstructor {
    const nextTarget = () => this.starting;
    return class Forward implements UnzipDecoder {
      static compression = compression;
      ondata = () => {};
      private readonly target = nextTarget();
      push(chunk: Uint8Array, final: boolean): void {
        this.target.push(chunk, final);
      }
    };
  }

  private onFile(file: UnzipFile): void {
    this.entriesSeen++;
    if (this.entriesSeen > this.limits.maxEntries) {
      throw new FileFormatError(`the archive holds more than ${this.limits.maxEntries} entries, the limit (${howToRaise('maxEntries')}); split it`);
    }
    const target = this.targetFor(file);
    // Called by fflate for an entry without compressed bytes (or, for a method without decoder, with an error).
    file.ondata = (err, data, final) => target.push(err ? new Uint8Array(0) : data, final);
    if (!this.decoders.has(file.compression)) {
      this.unzip.register(this.decoderFor(file.compression));
      this.decoders.add(file.compression);
    }
    this.starting = target;
    try {
      file.start();
    } finally {
      this.starting = SKIP;
    }
  }

  private refuse(name: string, reason: string): EntryTarget {
    this.refused.push({ name: displayEntryName(name), reason });
    return SKIP;
  }

  private targetFor(file: UnzipFile): EntryTarget {
    if (file.name.endsWith('/') || file.name.endsWith('\\')) {
      this.folders++;
      return SKIP;
    }
    const name = safeEntryName(file.name);
    if (name === null) return this.refuse(file.name, 'entry path escapes the archive folder (absolute, a drive, "..", or a NUL); not read');
    const ext = extname(name).toLowerCase();
    if (ext === '.zip') return this.refuse(name, 'an archive inside the archive: nested archives are not opened; extract it and deliver its files');
    if (file.compression !== 0 && file.compression !== 8) {
      return this.refuse(name, `compressed with method ${file.compression}; ecluse reads stored and deflated entries only: re-create the archive with deflate`);
    }
    if (this.spent !== null) return this.refuse(name, `not read: ${this.spent}`);
    const path = join(this.dir, `${this.entriesSeen}${/^\.[a-z0-9]{1,10}$/.test(ext) ? ext : ''}`);
    const writer = new EntryWriter(this, name, path, file.compression === 8, file.originalSize, this.lastWritten);
    this.lastWritten = writer.done;
    this.active.push(writer);
    return writer;
  }

  /** Counts `n` more inflated bytes of `entry`; the reason when a limit is passed. */
  count(entry: EntryWriter, n: number): string | null {
    entry.inflated += n;
    this.inflatedBytes += n;
    const { maxEntryBytes, maxRatio, maxTotalBytes } = this.limits;
    if (entry.inflated > maxEntryBytes) {
      return `expands past ${formatBytes(maxEntryBytes)}, the limit per entry (${howToRaise('maxEntryBytes')}); not read`;
    }
    if (entry.inflated > Math.max(maxRatio * entry.compressedIn, RATIO_FREE_BYTES)) {
      return (
        `expands more than ${maxRatio} times its compressed size (${formatBytes(entry.inflated)} from ${formatBytes(entry.compressedIn)} so far), ` +
        `the limit against zip bombs (${howToRaise('maxRatio')}); not read`
      );
    }
    if (this.inflatedBytes > maxTotalBytes) {
      this.spent = `the archive expanded past ${formatBytes(maxTotalBytes)}, its limit in all (${howToRaise('maxTotalBytes')})`;
      return `${this.spent}; this entry and the ones after it are not read`;
    }
    if (this.inflatedBytes > Math.max(maxRatio * this.archiveBytes, RATIO_FREE_BYTES)) {
      this.spent = `the archive expanded more than ${maxRatio} times its size of ${formatBytes(this.archiveBytes)} in all (${howToRaise('maxRatio')})`;
      return `${this.spent}; this entry and the ones after it are not read`;
    }
    return null;
  }

  async record(entry: EntryWriter, failure: string | null): Promise<void> {
    if (failure === null) {
      this.files.push({ name: escapeControls(entry.name), path: entry.path, bytes: entry.inflated });
    } else {
      this.refused.push({ name: displayEntryName(entry.name), reason: failure });
      await rm(entry.path, { force: true });
    }
  }

  private async settle(): Promise<void> {
    for (const writer of this.active) await writer.settle();
    this.active = this.active.filter((w) => !w.finished);
  }

  async run(archive: string): Promise<void> {
    try {
      for await (const chunk of createReadStream(archive, { highWaterMark: READ_CHUNK })) {
        this.unzip.push(chunk as Buffer);
        await this.settle();
      }
      this.unzip.push(new Uint8Array(0), true);
      await this.settle();
      if (this.active.length > 0) throw new FileFormatError('the archive ends inside an entry: cut short or damaged');
    } catch (err) {
      await Promise.all(this.active.map((w) => w.abort()));
      if (err instanceof FileFormatError) throw err;
      // fflate's errors carry a numeric code; the file system's a string one (those are not about the file's format).
      if (typeof (err as { code?: unknown }).code === 'string') throw err;
      throw new FileFormatError(`not a readable ZIP archive: ${(err as Error).message}`);
    }
  }
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Extracts the archive at `archive` into the existing folder `dir`. An entry over a limit, with an unsafe
 * name, nested, or damaged is refused alone (the others are extracted); an archive that cannot be read as
 * a whole — not a ZIP, cut short, more entries than allowed, no file at all — is a FileFormatError.
 */
export async function extractZip(archive: string, dir: string, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<ZipContents> {
  const size = (await stat(archive)).size;
  const listed = await listedEntries(archive, size);
  if (listed !== null && listed > limits.maxEntries) {
    throw new FileFormatError(`the archive lists ${listed} entries, more than the limit of ${limits.maxEntries} (${howToRaise('maxEntries')}); split it`);
  }
  const extraction = new Extraction(dir, limits, size);
  await extraction.run(archive);
  if (listed !== null && extraction.entriesSeen !== listed) {
    throw new FileFormatError(`the archive's directory lists ${listed} entries but ${extraction.entriesSeen} were found: damaged`);
  }
  if (extraction.files.length === 0 && extraction.refused.length === 0) throw new FileFormatError('the archive holds no files');
  return {
    files: extraction.files.sort(byName),
    refused: extraction.refused.sort(byName),
    folders: extraction.folders,
    inflatedBytes: extraction.inflatedBytes,
  };
}

export interface ZipReadOptions {
  limits?: ZipLimits;
  /** The folder to extract into (a run's scratch folder); the system's temporary folder when absent. */
  scratch?: string;
}

/** Extracts the archive into a new folder of `scratch`, hands its contents to `read`, then removes the folder. */
export async function withZipContents<T>(archive: string, opts: ZipReadOptions, read: (contents: ZipContents) => Promise<T>): Promise<T> {
  const base = opts.scratch ?? tmpdir();
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, 'zip-'));
  try {
    return await read(await extractZip(archive, dir, opts.limits));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
