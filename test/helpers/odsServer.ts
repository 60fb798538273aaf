import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * A loopback stand-in for the OpenDataSoft Explore API v2.1 (docs/connectors/opendatasoft.md), serving in-memory datasets
 * of flat records: `records` (limit ≤ 100, `offset + limit` < 10000, else the API's 400 error body),
 * `exports/jsonl|json|csv` (CSV with `;` and a UTF-8 BOM, labels on `use_labels=true`), `where` in the
 * forms ecluse writes (comparisons joined by AND: `field >= date'…'`, `field = "…"`), `order_by` and
 * `select` on plain field names. It can be told to fail the next requests (503, 429 with rate-limit
 * headers, a dropped connection, an export cut mid-body) and to hold an export half-way.
 */

export type OdsFixtureRecord = Record<string, string | number | boolean | null>;

export interface OdsFixtureDataset {
  records: OdsFixtureRecord[];
  /** Field name → French label, for `use_labels=true`. */
  labels?: Record<string, string>;
  /** The field `date'…'` literals compare with as instants (default `date`). */
  dateField?: string;
}

export type OdsFailure =
  | { status: 503 }
  | { status: 429; rateLimitReset?: string; retryAfter?: string }
  /** A client error with the API's body `{error_code, message}`. */
  | { status: 400 | 401 | 403 | 404; errorCode: string; message: string }
  /** The connection is destroyed before any answer. */
  | { drop: true }
  /** A 200 export whose body stops after `afterBytes` bytes. */
  | { cutExportAfter: number };

export interface OdsStandIn {
  url: string;
  /** Every request received, in order. */
  requests: URL[];
  /** The next `n` requests fail as told (queued after failures already planned). */
  failNext(n: number, how: OdsFailure): void;
  /** The next export pauses after `records` records until `release()`; `reached` settles when it pauses. */
  holdNextExport(records: number): { reached: Promise<void>; release(): void };
  close(): Promise<void>;
}

const PREFIX = '/api/explore/v2.1/catalog/datasets/';

class BadRequest extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function unquote(literal: string): string {
  return literal.slice(1, -1).replace(/\\(.)/g, '$1');
}

type Predicate = (r: OdsFixtureRecord) => boolean;

const CLAUSE = /^(`[^`]+`|[A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<|=)\s*(date)?('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")$/i;

/** Parses the `where` forms ecluse generates; anything else is an ODSQL error, as the real API would say. */
export function parseWhere(where: string, dateField: string): Predicate {
  const clauses = splitAnd(where.trim());
  const preds = clauses.map((clause): Predicate => {
    const m = CLAUSE.exec(clause.trim());
    if (!m) throw new BadRequest('ODSQLError', `Unsupported where clause: ${clause}`);
    const field = m[1]!.replace(/^`|`$/g, '');
    const op = m[2]!;
    const value = unquote(m[4]!);
    const isDate = m[3] !== undefined;
    if (isDate) {
      const at = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
      if (Number.isNaN(at)) throw new BadRequest('ODSQLError', `Invalid date literal: ${value}`);
      if (field !== dateField) throw new BadRequest('ODSQLError', `${field} is not a date field`);
      return (r) => compare(Date.parse(String(r[field])), at, op);
    }
    return (r) => compare(String(r[field] ?? ''), value, op);
  });
  return (r) => preds.every((p) => p(r));
}

/** Splits on AND outside string literals. */
function splitAnd(where: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < where.length; i++) {
    const ch = where[i]!;
    if (quote) {
      cur += ch;
      if (ch === '\\') cur += where[++i] ?? '';
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (/^\sand\s/i.test(where.slice(i, i + 5))) {
      out.push(cur);
      cur = '';
      i += 4;
    } else cur += ch;
  }
  if (quote) throw new BadRequest('ODSQLError', 'Unterminated string literal');
  out.push(cur);
  return out;
}

function compare<T extends number | string>(a: T, b: T, op: string): boolean {
  switch (op) {
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    default:
      return a === b;
  }
}

function sortRecords(records: OdsFixtureRecord[], orderBy: string | null, dateField: string): OdsFixtureRecord[] {
  if (!orderBy) return records;
  const keys = orderBy.split(',').map((part) => {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(asc|desc)?\s*$/i.exec(part);
    if (!m) throw new BadRequest('ODSQLError', `Unsupported order_by: ${part}`);
    return { field: m[1]!, desc: m[2]?.toLowerCase() === 'desc' };
  });
  return [...records].sort((x, y) => {
    for (const { field, desc } of keys) {
      const a = field === dateField ? Date.parse(String(x[field])) : (x[field] ?? '');
      const b = field === dateField ? Date.parse(String(y[field])) : (y[field] ?? '');
      if (a < b) return desc ? 1 : -1;
      if (a > b) return desc ? -1 : 1;
    }
    return 0;
  });
}

function selectFields(records: OdsFixtureRecord[], select: string | null): OdsFixtureRecord[] {
  if (!select || select.trim() === '*') return records;
  const fields = select.split(',').map((f) => f.trim());
  return records.map((r) => Object.fromEntries(fields.map((f) => [f, r[f] ?? null])));
}

function intParam(q: URLSearchParams, name: string, fallback: number): number {
  const raw = q.get(name);
  if (raw === null) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new BadRequest('InvalidRESTParameterError', `Invalid value for ${name}: ${raw}`);
  return Number(raw);
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[;"\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

export async function startOdsServer(datasets: Record<string, OdsFixtureDataset>): Promise<OdsStandIn> {
  const requests: URL[] = [];
  const failures: OdsFailure[] = [];
  let hold: { records: number; reached: () => void; released: Promise<void> } | null = null;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url);
    const failure = failures.shift();
    if (failure && 'drop' in failure) {
      req.socket.destroy();
      return;
    }
    if (failure && 'status' in failure && failure.status === 503) {
      json(res, 503, { error_code: 'ServiceUnavailable', message: 'The service is temporarily unavailable.' });
      return;
    }
    if (failure && 'status' in failure && failure.status === 429) {
      const headers: Record<string, string> = { 'x-ratelimit-limit': '50000', 'x-ratelimit-remaining': '0' };
      if (failure.rateLimitReset !== undefined) headers['x-ratelimit-reset'] = failure.rateLimitReset;
      if (failure.retryAfter !== undefined) headers['retry-after'] = failure.retryAfter;
      json(res, 429, { error_code: 'TooManyRequests', message: 'Too many requests on the domain.', call_limit: 50000 }, headers);
      return;
    }
    if (failure && 'errorCode' in failure) {
      json(res, failure.status, { error_code: failure.errorCode, message: failure.message });
      return;
    }
    const cutAfter = failure && 'cutExportAfter' in failure ? failure.cutExportAfter : null;
    serve(url, res, cutAfter).catch((err: unknown) => {
      if (err instanceof BadRequest) json(res, err.status, { error_code: err.code, message: err.message });
      else if (!res.headersSent) json(res, 500, { error_code: 'InternalError', message: String(err) });
      else res.destroy();
    });
  });

  async function serve(url: URL, res: ServerResponse, cutAfter: number | null): Promise<void> {
    if (!url.pathname.startsWith(PREFIX)) throw new BadRequest('NotFound', `Unknown path ${url.pathname}`, 404);
    const [id, ...rest] = url.pathname.slice(PREFIX.length).split('/').map(decodeURIComponent);
    const ds = datasets[id ?? ''];
    if (!ds) throw new BadRequest('DatasetNotFound', `Unknown dataset: ${id}`, 404);
    const dateField = ds.dateField ?? 'date';
    const q = url.searchParams;
    const where = q.get('where');
    let rows = where ? ds.records.filter(parseWhere(where, dateField)) : ds.records;
    rows = sortRecords(rows, q.get('order_by'), dateField);

    if (rest.length === 1 && rest[0] === 'records') {
      const limit = intParam(q, 'limit', 10);
      const offset = intParam(q, 'offset', 0);
      if (limit < 0 || limit > 100)
        throw new BadRequest('InvalidRESTParameterError', `Invalid value for limit API parameter: ${limit} was found but 0 <= limit <= 100 is expected.`);
      if (offset < 0 || offset + limit >= 10_000) {
        throw new BadRequest(
          'InvalidRESTParameterError',
          `Invalid value for offset API parameter: offset + limit must be lower than 10000, ${offset + limit} was found.`,
        );
      }
      json(res, 200, { total_count: rows.length, results: selectFields(rows.slice(offset, offset + limit), q.get('select')) });
      return;
    }
    if (rest.length === 2 && rest[0] === 'exports') {
      const format = rest[1];
      const picked = selectFields(rows, q.get('select'));
      let body: Iterable<string>;
      let type: string;
      if (format === 'jsonl') {
        type = 'application/jsonl';
        body = picked.map((r) => `${JSON.stringify(r)}\n`);
      } else if (format === 'json') {
        type = 'application/json';
        body = ['[', ...picked.map((r, i) => `${i ? ',' : ''}${JSON.stringify(r)}`), ']'];
      } else if (format === 'csv') {
        type = 'text/csv; charset=utf-8';
        const fields = picked[0] ? Object.keys(picked[0]) : [];
        const labels = q.get('use_labels') === 'true';
        const header = fields.map((f) => csvCell(labels ? (ds.labels?.[f] ?? f) : f)).join(';');
        body = [`\ufeff${header}\r\n`, ...picked.map((r) => `${fields.map((f) => csvCell(r[f])).join(';')}\r\n`)];
      } else throw new BadRequest('InvalidRESTParameterError', `Unknown export format: ${format}`);
      res.writeHead(200, { 'content-type': type });
      const held = hold;
      hold = null;
      await pipeline(Readable.from(chunks(body, held, cutAfter, res)), res);
      return;
    }
    throw new BadRequest('NotFound', `Unknown endpoint ${url.pathname}`, 404);
  }

  /** The body piece by piece, pausing or breaking off as told. */
  async function* chunks(body: Iterable<string>, held: typeof hold, cutAfter: number | null, res: ServerResponse): AsyncGenerator<Buffer> {
    let n = 0;
    let sent = 0;
    for (const piece of body) {
      let buf = Buffer.from(piece);
      if (cutAfter !== null && sent + buf.length > cutAfter) {
        buf = buf.subarray(0, cutAfter - sent);
        if (buf.length) yield buf;
        // Let the bytes leave before dropping the connection.
        await new Promise((r) => setTimeout(r, 20));
        res.socket?.destroy();
        return;
      }
      sent += buf.length;
      yield buf;
      if (held && ++n === held.records) {
        held.reached();
        await held.released;
      }
    }
  }

  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(n, how) {
      for (let i = 0; i < n; i++) failures.push(how);
    },
    holdNextExport(records) {
      let reached!: () => void;
      let release!: () => void;
      const reachedP = new Promise<void>((r) => (reached = r));
      const released = new Promise<void>((r) => (release = r));
      hold = { records, reached, released };
      return { reached: reachedP, release };
    },
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Hand-made SYNOP-shaped stations (docs/pipelines/synop.md): number with its leading zero, name. */
export const SYNOP_STATIONS = [
  { numer_sta: '07015', nom: 'LILLE-LESQUIN' },
  { numer_sta: '07005', nom: 'ABBEVILLE' },
  { numer_sta: '07149', nom: 'ORLY' },
] as const;

/**
 * `count` flat SYNOP-shaped records, 3-hourly from `start` (UTC, written with `+00:00` as the API does with
 * `timezone=UTC`), cycling through the stations. Values are made up from the index: K, Pa, m/s, with a
 * trace (`rr3` = −0.1) now and then and a missing `pmer`.
 */
export function synopRecords(count: number, start = '2024-01-01T00:00:00Z'): OdsFixtureRecord[] {
  const t0 = Date.parse(start);
  const out: OdsFixtureRecord[] = [];
  for (let i = 0; i < count; i++) {
    const station = SYNOP_STATIONS[i % SYNOP_STATIONS.length]!;
    const slot = Math.floor(i / SYNOP_STATIONS.length);
    const t = 273.15 + ((i * 7) % 200) / 10;
    out.push({
      numer_sta: station.numer_sta,
      date: new Date(t0 + slot * 3 * 3600_000).toISOString().replace('.000Z', '+00:00'),
      t: Math.round(t * 100) / 100,
      td: Math.round((t - 2.3) * 100) / 100,
      u: 60 + (i % 40),
      pmer: i % 17 === 5 ? null : 100_500 + (i % 30) * 40,
      ff: (i % 12) / 2,
      dd: (i * 30) % 360,
      rr3: i % 9 === 0 ? -0.1 : (i % 5) / 5,
      nom: station.nom,
    });
  }
  return out;
}

/** French labels of the fields above, as a labels CSV heads them. */
export const SYNOP_LABELS: Record<string, string> = {
  numer_sta: 'ID OMM station',
  date: 'Date',
  t: 'Température',
  td: 'Point de rosée',
  u: 'Humidité',
  pmer: 'Pression au niveau mer',
  ff: 'Vitesse du vent moyen 10 mn',
  dd: 'Direction du vent moyen 10 mn',
  rr3: 'Précipitations dans les 3 dernières heures',
  nom: 'Nom',
};
