import { posix } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { isRawMetaKey, rawMetaKey } from '../../lake/layout.js';
import { assertSafeKey, ObjectNotFoundError, type ObjectInfo } from '../../lake/objectStore.js';
import { HttpError } from '../../pipelines/kit/routeSpec.js';
import { isMissingTable } from '../../pipelines/kit/routeHelpers.js';
import type { ServerContext } from '../context.js';
import { ErrorBody } from '../schemas.js';

/** GET /raw/files, GET /raw/files/{key}: the raw zone as it is in the lake, files as they arrived. */

const RawFileItem = Type.Object({
  key: Type.String({ description: 'object key: raw/<pipeline>/<source>/received=<date>/<HHMMSSmmm>-<sha256>.<ext>' }),
  pipeline: Type.String(),
  source: Type.String(),
  name: Type.String({ description: 'original file name when known, else the key’s basename' }),
  size: Type.Integer({ description: 'bytes' }),
  sha256: Type.String(),
  received_at: Type.String({ description: 'instant, UTC' }),
});

/** What a raw key says about its file: `raw/<pipeline>/<source>/received=<date>/<HHMMSSmmm>-<sha256>[.<ext>]`. */
const RAW_KEY = /^raw\/([^/]+)\/([^/]+)\/received=(\d{4})-(\d{2})-(\d{2})\/(\d{2})(\d{2})(\d{2})(\d{3})-([0-9a-f]{64})(?:\.[^/]*)?$/;

interface ParsedKey {
  pipeline: string;
  source: string;
  sha256: string;
  receivedAt: string;
}

function parseRawKey(key: string): ParsedKey | null {
  const m = RAW_KEY.exec(key);
  if (!m) return null;
  const [, pipeline, source, y, mo, d, h, mi, s, ms, sha] = m as unknown as string[];
  return { pipeline: pipeline!, source: source!, sha256: sha!, receivedAt: `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z` };
}

/** Rejects what is not a raw-zone key (the route must not serve staging, curated or anything outside the lake). */
function checkRawKey(key: string): void {
  const bad = (why: string) => new HttpError(400, 'bad_request', `invalid raw file key "${key}": ${why}`);
  if (!key.startsWith('raw/')) throw bad('keys start with raw/');
  if (key.split('/').includes('..')) throw bad('".." is not allowed');
  try {
    assertSafeKey(key);
  } catch (err) {
    throw bad((err as Error).message);
  }
}

/** `filename` for Content-Disposition: ASCII fallback, and the UTF-8 name (RFC 6266/5987) when it differs. */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const utf8 = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return ascii === name ? `attachment; filename="${ascii}"` : `attachment; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

export async function rawRoutes(app: FastifyInstance, { platform }: ServerContext): Promise<void> {
  const { lake, warehouse } = platform;

  /** Original names of these keys from the `files` table (files of committed runs). */
  async function namesOf(keys: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    // Bounded IN lists: a page holds at most 10,000 keys.
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const marks = chunk.map((_, j) => `$${j + 1}`).join(', ');
      try {
        for (const r of await warehouse.query(`SELECT key, original_name FROM files WHERE key IN (${marks})`, chunk))
          out.set(String(r.key), String(r.original_name));
      } catch (err) {
        // No run yet: no files table.
        if (isMissingTable(err)) return out;
        throw err;
      }
    }
    return out;
  }

  app.get(
    '/raw/files',
    {
      schema: {
        summary: 'Files of the raw zone, newest first',
        description: 'Every file a run stored unchanged in the lake, with its size, SHA-256 and arrival time; `pipeline` keeps one pipeline’s.',
        tags: ['raw'],
        querystring: Type.Object({
          pipeline: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*$', examples: ['synop'] })),
          limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
          offset: Type.Integer({ minimum: 0, default: 0 }),
        }),
        response: {
          200: Type.Object({ items: Type.Array(RawFileItem), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }),
          400: ErrorBody,
        },
      },
    },
    async (request) => {
      const q = request.query as { pipeline?: string; limit: number; offset: number };
      const objects = await lake.list(q.pipeline ? `raw/${q.pipeline}/` : 'raw/');
      const files: { o: ObjectInfo; k: ParsedKey }[] = [];
      for (const o of objects) {
        if (isRawMetaKey(o.key)) continue;
        const k = parseRawKey(o.key);
        if (k) files.push({ o, k });
      }
      // Newest first; the arrival instant is fixed-width in the key, so strings compare as instants.
      files.sort((a, b) => (a.k.receivedAt < b.k.receivedAt ? 1 : a.k.receivedAt > b.k.receivedAt ? -1 : a.o.key < b.o.key ? 1 : a.o.key > b.o.key ? -1 : 0));
      const pageOf = files.slice(q.offset, q.offset + q.limit);
      const names = await namesOf(pageOf.map((f) => f.o.key));
      const items = pageOf.map(({ o, k }) => ({
        key: o.key,
        pipeline: k.pipeline,
        source: k.source,
        name: names.get(o.key) ?? posix.basename(o.key),
        size: o.size,
        sha256: k.sha256,
        received_at: k.receivedAt,
      }));
      return { items, total: files.length, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/raw/files/*',
    {
      schema: {
        summary: 'Downloads one raw file, streamed, under its original name',
        description: 'The key as listed by GET /raw/files, as-is after the prefix: `/raw/files/raw/synop/opendatasoft/received=…/….jsonl`.',
        tags: ['raw'],
        params: Type.Object({ '*': Type.String() }),
        response: { 200: Type.String({ format: 'binary' }), 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const key = (request.params as { '*': string })['*'];
      checkRawKey(key);
      // The name first: a stream opened then left unread would hold a file handle or a connection.
      let name = (await namesOf([key])).get(key);
      if (name === undefined && !isRawMetaKey(key)) {
        // A file of a run that did not commit: its sidecar still knows the name.
        name = await lake
          .getBytes(rawMetaKey(key))
          .then((b) => (JSON.parse(b.toString('utf8')) as { original_name?: string }).original_name)
          .catch(() => undefined);
      }
      let body;
      try {
        body = await lake.getStream(key);
      } catch (err) {
        if (err instanceof ObjectNotFoundError) throw new HttpError(404, 'not_found', `no raw file ${key}`);
        throw err;
      }
      return reply
        .type('application/octet-stream')
        .header('content-disposition', contentDisposition(name ?? posix.basename(key)))
        .send(body);
    },
  );
}
