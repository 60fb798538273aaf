import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline as pump } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { extensionOf } from '../../lake/raw.js';
import { executeRun } from '../../orchestrator/runner.js';
import { HttpError } from '../../pipelines/kit/routeSpec.js';
import type { Pipeline } from '../../pipelines/kit/pipeline.js';
import type { ServerContext } from '../context.js';
import { BEARER, ErrorBody } from '../schemas.js';
import { answerRun } from '../runStream.js';
import { RUN_SUMMARY_SCHEMA } from './runs.js';

/**
 * POST /pipelines/{name}/files (and POST /ingest, its synop alias): files uploaded as multipart/form-data
 * are streamed to disk (never held in memory, whatever their size), then loaded by an ad-hoc run of the
 * pipeline queued like `POST /runs`; the answer is its summary. What a pipeline accepts is in its manifest.
 */

/** The pipeline `POST /ingest` uploads to (the route predates the generic one). */
const INGEST_PIPELINE = 'synop';
/** Files named without a known extension are typed by their part's content type. */
const BY_MIME: Readonly<Record<string, string>> = {
  'application/json': 'json',
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'text/csv': 'csv',
  'application/zip': 'zip',
  'application/x-zip-compressed': 'zip',
};
/** More parts than this is not an upload of files. */
const MAX_FILES = 1000;

const megabytes = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 1000) / 1000} MB`;

const tooLarge = (limit: number) =>
  new HttpError(413, 'too_large', `upload larger than the limit of ${megabytes(limit)} (${limit} bytes; ECLUSE_MAX_UPLOAD_MB)`);

const unsupported = (what: string, accepted: readonly string[]) =>
  new HttpError(415, 'unsupported_media_type', `${what}: accepted file types are ${accepted.join(', ')} (multipart/form-data, one or more files)`);

/** The extension a part is read as, or null when it is none of the accepted ones. */
function typeOf(filename: string, mimetype: string, accepted: readonly string[]): string | null {
  const ext = extensionOf(filename);
  if (accepted.includes(ext)) return ext;
  if (ext === '') {
    const byMime = BY_MIME[mimetype.split(';')[0]?.trim().toLowerCase() ?? ''];
    if (byMime && accepted.includes(byMime)) return byMime;
  }
  return null;
}

/** A file name safe to create in our own folder: the client's base name, its path and odd characters dropped. */
function safeName(filename: string, index: number, ext: string): string {
  const base = basename(filename.replace(/\\/g, '/'))
    .replace(/[\0/:*?"<>|]/g, '_')
    .replace(/^\.+/, '');
  if (base === '') return `upload-${index + 1}.${ext}`;
  return extensionOf(base) === ext ? base : `${base}.${ext}`;
}

/** Counts bytes going through, and fails the stream once the whole upload exceeds `limit`. */
class ByteBudget extends Transform {
  constructor(private readonly budget: { used: number; limit: number }) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.budget.used += chunk.length;
    if (this.budget.used > this.budget.limit) return done(tooLarge(this.budget.limit));
    done(null, chunk);
  }
}

/** Upload folders a killed server left behind: removed when older than a day (a live upload is minutes old). */
async function removeStaleUploads(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  const cutoff = Date.now() - 86_400_000;
  for (const name of names) {
    const path = join(root, name);
    const info = await stat(path).catch(() => null);
    if (info && info.mtimeMs < cutoff) await rm(path, { recursive: true, force: true });
  }
}

export async function ingestRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { platform, orchestrator } = ctx;
  const limit = platform.config.maxUploadBytes;
  const uploads = join(platform.config.home, 'uploads');
  await removeStaleUploads(uploads);

  /** Streams the upload's files to disk, then runs `pipeline` on them. */
  async function receive(request: FastifyRequest, reply: FastifyReply, pipeline: Pipeline, accepted: readonly string[]): Promise<unknown> {
    if (!request.isMultipart()) throw unsupported(`content type "${request.headers['content-type'] ?? 'none'}" is not multipart/form-data`, accepted);
    const dir = join(uploads, randomUUID());
    const paths: string[] = [];
    const budget = { used: 0, limit };
    try {
      for await (const part of request.parts()) {
        if (part.type !== 'file') continue;
        const ext = typeOf(part.filename, part.mimetype, accepted);
        if (ext === null) {
          // Drained, not stored: the request must be read to its end to answer on the same connection.
          part.file.resume();
          throw unsupported(`file "${part.filename}" (${part.mimetype})`, accepted);
        }
        // One folder per part: two parts may carry the same name, and the run keeps each name as given.
        const partDir = join(dir, String(paths.length));
        await mkdir(partDir, { recursive: true });
        const path = join(partDir, safeName(part.filename, paths.length, ext));
        const before = budget.used;
        await pump(part.file, new ByteBudget(budget), createWriteStream(path));
        if (part.file.truncated) throw tooLarge(limit);
        if (budget.used === before) throw new HttpError(400, 'bad_request', `file "${part.filename}" is empty`);
        paths.push(path);
      }
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      // Told before the client has sent everything: it must not keep this connection for its next request.
      reply.header('connection', 'close');
      if (err instanceof HttpError) throw err;
      const code = (err as { code?: string }).code;
      if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT') throw new HttpError(413, 'too_large', `at most ${MAX_FILES} files per upload`);
      if (code === 'ERR_STREAM_PREMATURE_CLOSE' || request.raw.destroyed)
        throw new HttpError(400, 'bad_request', 'upload interrupted before its end: nothing was loaded');
      if ((err as { statusCode?: number }).statusCode === 400 || /multipart|boundary/i.test((err as Error).message)) {
        throw new HttpError(400, 'bad_request', `malformed multipart body: ${(err as Error).message}`);
      }
      throw err;
    }
    if (paths.length === 0) {
      await rm(dir, { recursive: true, force: true });
      throw new HttpError(400, 'bad_request', `no file in the upload: send multipart/form-data with one or more files (${accepted.join(', ')})`);
    }
    request.log.info({ files: paths.length, bytes: budget.used }, 'upload received');
    return answerRun(request, reply, orchestrator, async (progress, options) => {
      try {
        return await executeRun(platform, pipeline, { inputs: paths, trigger: 'api' }, progress, options);
      } finally {
        // The run stored the files in the raw zone: the uploads folder holds nothing worth keeping.
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  /** What both upload routes share in their OpenAPI description. */
  const uploadSchema = {
    security: BEARER,
    consumes: ['multipart/form-data'],
    // Documents the form for OpenAPI.
    body: {
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            properties: {
              file: { type: 'array', items: { type: 'string', format: 'binary' }, description: 'one or more files' },
            },
            // The handler reads the parts itself: the body is never parsed, so validation must let `undefined` through.
            nullable: true,
          },
        },
      },
    },
    response: { 200: RUN_SUMMARY_SCHEMA, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody, 415: ErrorBody },
  };

  const describe = (what: string) =>
    'multipart/form-data with one or more file parts, of any field name. Files are streamed to disk (memory stays bounded whatever their size), ' +
    `then loaded by an ad-hoc run of ${what}, queued like POST /runs; the answer is the run summary (the object GET /runs/{id} returns). ` +
    'Bad rows are rejected and counted (`rows_rejected`, `GET /rejects?run=`), the rest loaded. ' +
    '400: no file or an empty file; 413: over ECLUSE_MAX_UPLOAD_MB (whole upload); 415: not multipart, or a file type the pipeline does not accept. ' +
    'With `Accept: application/x-ndjson`, progress lines come first.';

  // Encapsulated: the multipart parser applies to these routes only.
  await app.register(async (scope) => {
    // Only multipart is read here: a JSON body (a file sent as the body) must reach the handler's 415, not
    // fail first in the JSON parser with a 400.
    scope.removeAllContentTypeParsers();
    await scope.register(multipart, {
      // Over the limit, busboy truncates the file and discards the rest of it; we answer 413 then.
      throwFileSizeLimit: false,
      limits: { fileSize: limit, files: MAX_FILES, fields: 20, fieldSize: 64 * 1024, parts: MAX_FILES + 20 },
    });
    // Any other body reaches the handler unread, which answers 415 naming what is accepted.
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

    /** Reads the upload and runs `pipeline` on it. */
    const upload =
      (named: (request: FastifyRequest) => string) =>
      async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
        const name = named(request);
        const target = ctx.pipelines.get(name);
        if (!target)
          throw new HttpError(404, 'not_found', `this server does not run a pipeline named "${name}" (known: ${[...ctx.pipelines.keys()].join(', ')})`);
        const accepted = target.uploads ?? [];
        if (accepted.length === 0) throw new HttpError(404, 'not_found', `the ${name} pipeline takes no uploads`);
        return receive(request, reply, target, accepted);
      };

    scope.post(
      '/ingest',
      {
        schema: {
          summary: 'Uploads SYNOP files (JSON, JSONL, CSV, ZIP) and loads them: answers with the run summary',
          description: `The synop alias of POST /pipelines/synop/files. ${describe('synop')}`,
          tags: ['runs', 'synop'],
          ...uploadSchema,
        },
      },
      upload(() => INGEST_PIPELINE),
    );
    scope.post(
      '/pipelines/:name/files',
      {
        schema: {
          summary: 'Uploads files to a pipeline and loads them: answers with the run summary',
          description: `${describe('the pipeline')} The file types a pipeline accepts are in GET /pipelines (\`uploads\`). 404: no such pipeline, or one that takes no uploads.`,
          tags: ['runs'],
          params: Type.Object({ name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*$', examples: ['synop'] }) }, { additionalProperties: false }),
          ...uploadSchema,
        },
      },
      upload((request) => (request.params as { name: string }).name),
    );
  });
}
