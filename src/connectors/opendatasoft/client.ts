import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { Readable, Transform, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { getWithRetry, OdsApiError, type RetryOptions } from './http.js';

export { OdsApiError } from './http.js';

/**
 * A client of the OpenDataSoft Explore API v2.1 (docs/connectors/opendatasoft.md), for any portal: `records` pages within
 * the API's `offset + limit < 10000` ceiling, `exports` streamed to a file for larger windows, and
 * `downloadWindow`, which counts first and picks one of the two.
 */

/** The public portal, where SYNOP lives; eCO2mix lives on `https://odre.opendatasoft.com`. Each pipeline configures its own portal. */
export const DEFAULT_ODS_URL = 'https://public.opendatasoft.com';

/** `records` refuses `offset + limit` at or beyond this. */
const RECORDS_CEILING = 10_000;
/** The largest `limit` `records` accepts. */
const MAX_PAGE = 100;
/** The most records the `records` endpoint can ever return for one query. */
const MAX_RECORDS = RECORDS_CEILING - 1;

export type OdsRecord = Record<string, unknown>;

export interface RecordsQuery {
  select?: string;
  where?: string;
  orderBy?: string;
  /** `refine=field:value` facets, sent as repeated parameters. */
  refine?: readonly string[];
}

export interface RecordsPage {
  totalCount: number;
  offset: number;
  results: OdsRecord[];
}

export type ExportFormat = 'jsonl' | 'json' | 'csv';

export interface Progress {
  /** Records (or bytes when the count is unknowable, see `unit`) received so far. */
  fetched: number;
  /** What is expected in all, when known. */
  total: number | null;
  unit: 'records' | 'bytes';
}

export interface OdsClientOptions extends RetryOptions {
  /** The portal, e.g. `https://public.opendatasoft.com` ; a path prefix is kept. */
  baseUrl: string;
  /** Sent as `Authorization: Apikey …`, never in a URL, so never in a message. */
  apiKey?: string;
  /** The `timezone` parameter of every request (default `UTC`): datetimes come back with this offset. */
  timezone?: string;
  signal?: AbortSignal;
}

export interface ExportOptions extends RecordsQuery {
  /** CSV header of French labels instead of field names. */
  useLabels?: boolean;
  onProgress?: (p: Progress) => void;
}

export interface DownloadWindowOptions extends RecordsQuery {
  /** The JSONL file written: one record per line, whichever endpoint served it. */
  dest: string;
  onProgress?: (p: Progress) => void;
}

export interface DownloadedWindow {
  path: string;
  via: 'records' | 'export';
  /** `total_count` of the count request. */
  totalCount: number;
  /** Records written to the file. */
  records: number;
  bytes: number;
}

/** More records match than the `records` endpoint can serve (`offset + limit` < 10000): use an export. */
class OdsCeilingError extends OdsApiError {
  override name = 'OdsCeilingError';
}

interface RawRecords {
  total_count: number;
  results: OdsRecord[];
}

function isRawRecords(doc: unknown): doc is RawRecords {
  if (!doc || typeof doc !== 'object') return false;
  const d = doc as { total_count?: unknown; results?: unknown };
  return typeof d.total_count === 'number' && Array.isArray(d.results) && d.results.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r));
}

export class OdsClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly opts: OdsClientOptions) {
    const base = new URL(opts.baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`OpenDataSoft: ${opts.baseUrl} is not an http(s) URL`);
    this.base = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
    this.headers = { accept: 'application/json' };
    if (opts.apiKey) this.headers.authorization = `Apikey ${opts.apiKey}`;
  }

  /** The URL of an endpoint of `dataset` with the query's parameters (`timezone` always set). */
  url(dataset: string, endpoint: string, params: Record<string, string | number | boolean | readonly string[] | undefined>): URL {
    if (!dataset) throw new Error('OpenDataSoft: empty dataset id');
    const url = new URL(`${this.base}/api/explore/v2.1/catalog/datasets/${encodeURIComponent(dataset)}/${endpoint}`);
    for (const [k, v] of Object.entries({ ...params, timezone: this.opts.timezone ?? 'UTC' })) {
      if (v === undefined || v === '') continue;
      if (Array.isArray(v)) for (const one of v) url.searchParams.append(k, String(one));
      else url.searchParams.set(k, String(v));
    }
    return url;
  }

  /** One page of `records`. `limit` ≤ 100 and `offset + limit` < 10000, as the API requires. */
  async records(dataset: string, query: RecordsQuery & { limit?: number; offset?: number } = {}): Promise<RecordsPage> {
    const limit = query.limit ?? MAX_PAGE;
    const offset = query.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_PAGE) throw new RangeError(`OpenDataSoft: limit ${limit} is outside 0…${MAX_PAGE}`);
    if (!Number.isInteger(offset) || offset < 0 || offset + limit >= RECORDS_CEILING) {
      throw new RangeError(`OpenDataSoft: offset ${offset} + limit ${limit} must stay below ${RECORDS_CEILING}; use an export for larger windows`);
    }
    const url = this.url(dataset, 'records', { ...this.params(query), limit, offset });
    const doc = await getWithRetry(
      url,
      this.headers,
      async (res) => {
        const text = await res.text();
        try {
          return JSON.parse(text) as unknown;
        } catch {
          // A proxy's HTML page or a maintenance notice: say what came, not just "Unexpected token".
          throw new OdsApiError(`OpenDataSoft ${url}: the answer is not JSON: ${text.slice(0, 200).replace(/\s+/g, ' ')}`, url.toString(), res.status);
        }
      },
      this.retry(),
    );
    if (!isRawRecords(doc)) throw new OdsApiError(`OpenDataSoft ${url}: the answer is not {total_count, results}`, url.toString(), 200);
    return { totalCount: doc.total_count, offset, results: doc.results };
  }

  /** `total_count` of a query, from `records?limit=0`. */
  async count(dataset: string, query: RecordsQuery = {}): Promise<number> {
    return (await this.records(dataset, { where: query.where, refine: query.refine, limit: 0 })).totalCount;
  }

  /**
   * Every page of a query, in order, 100 records at a time (the last pages shortened to stay under the
   * ceiling). Fails before yielding anything when the query holds more than `records` can serve: use
   * `downloadWindow` or `exportTo`. Give an `orderBy` on a unique key for stable pages.
   */
  async *pages(dataset: string, query: RecordsQuery & { pageSize?: number; onProgress?: (p: Progress) => void } = {}): AsyncGenerator<RecordsPage> {
    const size = Math.min(query.pageSize ?? MAX_PAGE, MAX_PAGE);
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`OpenDataSoft: page size ${size} must be an integer ≥ 1`);
    let offset = 0;
    let total: number | null = null;
    for (;;) {
      const room = RECORDS_CEILING - 1 - offset;
      const limit = Math.min(size, room, total === null ? size : total - offset);
      if (limit <= 0) {
        // The data grew under us past what `records` can reach: stopping here would lose records silently.
        if (total !== null && offset < total) {
          throw new OdsCeilingError(
            `OpenDataSoft ${dataset}: ${total} records match now, more than the ${MAX_RECORDS} the records endpoint serves; use an export`,
            this.url(dataset, 'records', this.params(query)).toString(),
          );
        }
        return;
      }
      const page = await this.records(dataset, { ...query, limit, offset });
      if (total === null && page.totalCount > MAX_RECORDS) {
        throw new OdsCeilingError(
          `OpenDataSoft ${dataset}: ${page.totalCount} records match, more than the ${MAX_RECORDS} the records endpoint serves; use an export`,
          this.url(dataset, 'records', this.params(query)).toString(),
        );
      }
      total = page.totalCount;
      offset += page.results.length;
      query.onProgress?.({ fetched: offset, total, unit: 'records' });
      yield page;
      // A short page means the data shrank under us: there is no more to read.
      if (page.results.length < limit) return;
    }
  }

  /** Every record of a query, page after page (see `pages`). */
  async *iterate(dataset: string, query: RecordsQuery & { pageSize?: number; onProgress?: (p: Progress) => void } = {}): AsyncGenerator<OdsRecord> {
    for await (const page of this.pages(dataset, query)) yield* page.results;
  }

  /**
   * Streams `exports/{format}` to `dest`, never holding the body in memory. The file appears under its name
   * only once complete (written as `dest.part`, then renamed); a body cut off is fetched again. Progress is
   * in records for JSONL (lines counted on the fly), in bytes otherwise.
   */
  async exportTo(
    dataset: string,
    format: ExportFormat,
    dest: string,
    options: ExportOptions & { total?: number } = {},
  ): Promise<{ path: string; bytes: number; records: number | null }> {
    const params = { ...this.params(options), use_labels: format === 'csv' && options.useLabels ? 'true' : undefined };
    const url = this.url(dataset, `exports/${format}`, params);
    const part = `${dest}.part`;
    try {
      const got = await getWithRetry(
        url,
        { ...this.headers, accept: '*/*' },
        async (res, touch) => {
          if (!res.body) throw new OdsApiError(`OpenDataSoft ${url}: empty export`, url.toString(), res.status);
          const declared = Number(res.headers.get('content-length'));
          let bytes = 0;
          let lines = 0;
          let last = 10;
          const count = new Transform({
            transform(chunk: Buffer, _enc, done) {
              touch();
              bytes += chunk.length;
              if (chunk.length) last = chunk[chunk.length - 1]!;
              if (format === 'jsonl') {
                for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
                options.onProgress?.({ fetched: lines, total: options.total ?? null, unit: 'records' });
              } else {
                options.onProgress?.({ fetched: bytes, total: Number.isFinite(declared) && declared > 0 ? declared : null, unit: 'bytes' });
              }
              done(null, chunk);
            },
          });
          await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), count, createWriteStream(part));
          // A last line without its newline is still a record.
          return { bytes, lines: last === 10 ? lines : lines + 1 };
        },
        this.retry(),
      );
      await rename(part, dest);
      return { path: dest, bytes: got.bytes, records: format === 'jsonl' ? got.lines : null };
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    }
  }

  /**
   * A window of records as one JSONL file: counts first (`records?limit=0`), then pages `records` when the
   * count fits under the ceiling, else streams `exports/jsonl`. Pages are ordered by `orderBy` (give a
   * unique key) so that none is skipped or repeated.
   */
  async downloadWindow(dataset: string, options: DownloadWindowOptions): Promise<DownloadedWindow> {
    const totalCount = await this.count(dataset, options);
    const viaExport = async (): Promise<DownloadedWindow> => {
      const got = await this.exportTo(dataset, 'jsonl', options.dest, { ...options, total: totalCount });
      return { path: got.path, via: 'export', totalCount, records: got.records ?? 0, bytes: got.bytes };
    };
    if (totalCount > MAX_RECORDS) return viaExport();
    const part = `${options.dest}.part`;
    const out = createWriteStream(part);
    let records = 0;
    let bytes = 0;
    try {
      for await (const page of this.pages(dataset, { ...options, onProgress: undefined })) {
        const text = page.results.map((r) => `${JSON.stringify(r)}\n`).join('');
        bytes += Buffer.byteLength(text);
        records += page.results.length;
        await write(out, text);
        options.onProgress?.({ fetched: records, total: Math.max(totalCount, records), unit: 'records' });
      }
      out.end();
      await once(out, 'finish');
      await rename(part, options.dest);
    } catch (err) {
      // Let pending writes settle before removing the file (destroying now would raise an unhandled error).
      out.end();
      await finished(out).catch(() => undefined);
      await rm(part, { force: true });
      // The window grew past the ceiling between the count and the last page: start again as an export.
      if (err instanceof OdsCeilingError) return viaExport();
      throw err;
    }
    return { path: options.dest, via: 'records', totalCount, records, bytes };
  }

  private params(q: RecordsQuery): Record<string, string | readonly string[] | undefined> {
    return { select: q.select, where: q.where, order_by: q.orderBy, refine: q.refine };
  }

  private retry(): RetryOptions & { signal?: AbortSignal } {
    return this.opts;
  }
}

/** Writes with back-pressure: waits for `drain` when the stream's buffer is full. */
async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}
