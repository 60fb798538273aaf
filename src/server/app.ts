import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { HttpError } from '../orchestrator/routeSpec.js';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import type { Pipeline, Platform } from '../orchestrator/pipeline.js';
import { bearerAuth } from './auth.js';
import { ResponseCache } from './cache.js';
import { healthRoutes } from './routes/health.js';
import { ingestRoutes } from './routes/ingest.js';
import { lakeRoutes } from './routes/lake.js';
import { metricsRoutes } from './routes/metrics.js';
import { pipelineRoutes } from './routes/pipelines.js';
import { rawRoutes } from './routes/raw.js';
import { runRoutes } from './routes/runs.js';
import { sqlRoutes } from './routes/sql.js';
import { webRoutes } from './routes/web.js';
import { dashboardRoutes } from './routes/dashboard.js';

export interface AppOptions {
  platform: Platform;
  /** The pipelines whose routes are mounted and which can be run (default: every shipped pipeline). */
  pipelines?: ReadonlyMap<string, Pipeline>;
  /** Bearer tokens accepted by write endpoints besides `config.apiToken` (the local CLI's token). */
  tokens?: readonly string[];
  /** Fastify's logger (pino): false in tests. Authorization headers are never logged. */
  logger?: FastifyServerOptions['logger'];
  cache?: ResponseCache;
  /** Runs partitions, backfills and cancels (default: one over `platform` and `pipelines`, with the configured retries). */
  orchestrator?: Orchestrator;
}

/** What every route module gets. */
export interface ServerContext {
  platform: Platform;
  pipelines: ReadonlyMap<string, Pipeline>;
  /** preHandler of the write endpoints. */
  requireToken: ReturnType<typeof bearerAuth>;
  /** Partition runs, backfills, cancels; its queue takes ad-hoc runs and rebuilds, one at a time. */
  orchestrator: Orchestrator;
  cache: ResponseCache;
  /** The version cached answers belong to: the warehouse's, moved on by SQL sent through `/admin/sql` too. */
  dataVersion(): number;
  bumpVersion(): void;
}

export const JSON_TYPE = 'application/json; charset=utf-8';

/** OpenAPI security requirement of the write endpoints. */
export const BEARER = [{ bearer: [] }];

const ERROR_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'too_large',
  415: 'unsupported_media_type',
};

/** Builds the API over an open platform; the caller listens, and closes the platform after `app.close()`. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { platform } = options;
  const pipelines = options.pipelines ?? (await import('../pipelines/index.js')).PIPELINES;
  const app = Fastify({
    logger: options.logger ?? { level: process.env.LOG_LEVEL ?? 'info', redact: ['req.headers.authorization'] },
    // One log line per request is too much for a data API; writes and errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, useDefaults: true } },
  });
  // Schemas document and validate; answers are serialised as they are (JSON.stringify), so the CLI prints
  // through the API exactly what it prints in process, and no field is dropped silently.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, request, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send({ error: err.code, message: err.message });
    const status = err.statusCode ?? 500;
    if (err.validation || (status >= 400 && status < 500)) {
      return reply.code(status).send({ error: ERROR_CODES[status] ?? 'bad_request', message: err.message });
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal', message: `internal error: ${err.message}` });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }));
  app.addHook('onResponse', async (request, reply) => {
    const level = reply.statusCode >= 500 ? 'error' : request.method === 'GET' ? 'debug' : 'info';
    request.log[level]({ method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'ecluse API', version: '0.1.0', description: 'Stations, runs and rejects of an ecluse platform. Write endpoints need `Authorization: Bearer <ECLUSE_API_TOKEN>`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  // swagger-ui serves its own bundled assets: /docs works offline.
  await app.register(swaggerUi, { routePrefix: '/docs' });

  let sqlWrites = 0;
  const ctx: ServerContext = {
    dataVersion: () => platform.warehouse.dataVersion() + sqlWrites,
    bumpVersion: () => {
      sqlWrites++;
    },
    platform,
    pipelines,
    requireToken: bearerAuth([platform.config.apiToken, ...(options.tokens ?? [])]),
    orchestrator: options.orchestrator ?? new Orchestrator(platform, pipelines),
    cache: options.cache ?? new ResponseCache(),
  };
  metricsRoutes(app, ctx);
  healthRoutes(app, ctx);
  await pipelineRoutes(app, ctx);
  runRoutes(app, ctx);
  sqlRoutes(app, ctx);
  await rawRoutes(app, ctx);
  await ingestRoutes(app, ctx);
  await lakeRoutes(app, ctx);
  await dashboardRoutes(app, ctx);
  await webRoutes(app, ctx);
  // Closing waits for the run in progress: the warehouse is closed after it, by the caller.
  app.addHook('onClose', async () => ctx.orchestrator.drain());
  return app;
}
