/**
 * ZIP archives written by the tests, in the real format, through fflate: ordinary ones, and bombs whose
 * entries expand to gigabytes from a few hundred KiB without ever being held or compressed whole.
 */
import { writeFile } from 'node:fs/promises';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { Zip, type ZipInputFile } from 'fflate';

const MiB = 1024 * 1024;
const ZEROS = Buffer.alloc(MiB);
/**
 * One MiB of zeros deflated and flushed (Z_FULL_FLUSH): a byte-aligned run of blocks that refers to nothing
 * before it, so that N copies followed by an empty final block are a valid stream of N MiB of zeros.
 */
const ZEROS_BLOCK = deflateRawSync(ZEROS, { level: 9, finishFlush: constants.Z_FULL_FLUSH });
/** An empty final block with fixed codes: BFINAL=1, BTYPE=01, end-of-block. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** An entry whose bytes are given already deflated, with the size and CRC the archive will claim. */
export interface DeflatedEntry {
  name: string;
  chunks: Uint8Array[];
  size: number;
  crc: number;
}

/** `mib` MiB of zeros as a deflated entry (about 1 KiB per MiB). `claimedSize` lets the archive lie. */
export function zerosEntry(name: string, mib: number, claimedSize?: number): DeflatedEntry {
  let crc = 0;
  for (let i = 0; i < mib; i++) crc = crc32(ZEROS, crc);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < mib; i++) chunks.push(ZEROS_BLOCK);
  chunks.push(FINAL_BLOCK);
  return { name, chunks, size: claimedSize ?? mib * MiB, crc };
}

/** Ordinary content, deflated by zlib. */
export function textEntry(name: string, text: string | Uint8Array): DeflatedEntry {
  const bytes = typeof text === 'string' ? Buffer.from(text) : Buffer.from(text);
  return { name, chunks: [deflateRawSync(bytes)], size: bytes.length, crc: crc32(bytes) };
}

/**
 * An archive of deflated entries, written as a stream by fflate's `Zip` (sizes in data descriptors after
 * each entry, as streaming zip tools write them).
 */
export function zipOf(entries: readonly DeflatedEntry[]): Buffer {
  const out: Uint8Array[] = [];
  let failure: Error | null = null;
  const zip = new Zip((err, data) => {
    if (err) failure = err;
    else out.push(data);
  });
  for (const e of entries) {
    const file: ZipInputFile = { filename: e.name, size: e.size, crc: e.crc, compression: 8 };
    zip.add(file);
    const ondata = file.ondata;
    if (!ondata) throw new Error('fflate did not take the entry');
    e.chunks.forEach((c, i) => ondata(null, new Uint8Array(c), i === e.chunks.length - 1));
  }
  zip.end();
  if (failure) throw failure;
  return Buffer.concat(out);
}

export async function writeZip(path: string, entries: readonly DeflatedEntry[]): Promise<string> {
  await writeFile(path, zipOf(entries));
  return path;
}
