import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** Reads at most `limit` bytes of an error body: enough for a message, bounded whatever the server sends. */
export async function readSome(res: Response, limit = 8192): Promise<string> {
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= limit) break;
    }
  } catch {
    // a broken error body still leaves the status to report
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

/** The start of an error text on one line: what a message can quote without pasting a whole HTML page. */
export function excerpt(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
