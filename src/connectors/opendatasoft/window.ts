/**
 * A window of an OpenDataSoft dataset downloaded into one JSONL file (records pages, or an export past the
 * `records` ceiling), with the latest value of its cursor field: what a pipeline's partition run fetches,
 * stores unchanged in the raw zone and stages (synop, eco2mix).
 */
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { OdsApiError, OdsClient, type OdsClientOptions, type OdsRecord } from './client.js';
import { advanceCursor } from './cursor.js';

/** A failed fetch, and whether another attempt may succeed: a 4xx answer is the same on every attempt. */
export class OdsSourceError extends Error {
  override name = 'OdsSourceError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface WindowRequest {
  baseUrl: string;
  dataset: string;
  where: string;
  /** A unique key, so that pages neither skip nor repeat records. */
  orderBy: string;
  /** The JSONL file written (its base name is the raw file's original name). */
  dest: string;
  /** The field the incremental cursor follows (an instant with its offset). */
  cursorField: string;
  /** Whether a record moves the cursor (eco2mix: not a future slot published empty); default every record. */
  counts?: (record: OdsRecord) => boolean;
  /** Who asks, for messages: `synop`, `eco2mix`. */
  label: string;
  /** Said after the portal's answer when a fetch fails and may succeed later (a maintenance window). */
  hint?: (err: OdsApiError) => string | undefined;
  signal?: AbortSignal;
  onProgress?: (fetched: number, total: number) => void;
  client?: Partial<OdsClientOptions>;
}

export interface FetchedWindowFile {
  path: string;
  records: number;
  /** The latest cursor value among the records that count, or null when none does. */
  latest: string | null;
}

/** The latest value of `field` in a JSONL file (streamed: an export may be large). */
async function latestOf(path: string, field: string, counts: (record: OdsRecord) => boolean): Promise<string | null> {
  let best: string | null = null;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      // The readers reject the line with its number; the cursor just ignores it.
      continue;
    }
    if (rec && typeof rec === 'object' && !Array.isArray(rec) && counts(rec as OdsRecord)) best = advanceCursor(best, [(rec as OdsRecord)[field]]);
  }
  return best;
}

/**
 * Downloads the window. A 4xx answer fails with the portal's `error_code` and `message`, not retryable;
 * 5xx, 429 and network failures were already retried by the client, and a run failing on them may be
 * retried by the orchestrator.
 */
export async function fetchWindowFile(req: WindowRequest): Promise<FetchedWindowFile> {
  const ods = new OdsClient({ baseUrl: req.baseUrl, signal: req.signal, ...req.client });
  await mkdir(dirname(req.dest), { recursive: true });
  try {
    const got = await ods.downloadWindow(req.dataset, {
      where: req.where,
      orderBy: req.orderBy,
      dest: req.dest,
      onProgress: (p) => req.onProgress?.(p.fetched, p.total ?? p.fetched),
    });
    return { path: got.path, records: got.records, latest: await latestOf(got.path, req.cursorField, req.counts ?? (() => true)) };
  } catch (err) {
    if (err instanceof OdsApiError) {
      const clientError = err.status !== null && err.status >= 400 && err.status < 500 && err.status !== 429;
      const what = [err.errorCode, err.apiMessage].filter(Boolean).join(': ') || err.message;
      const hint = clientError ? undefined : req.hint?.(err);
      throw new OdsSourceError(
        `${req.label}: OpenDataSoft ${req.dataset} at ${req.baseUrl} answered ${err.status ?? 'nothing usable'}: ${what}${hint ? ` (${hint})` : ''}`,
        !clientError,
      );
    }
    throw err;
  }
}
