import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import cors from '@fastify/cors';
import { HttpError } from '../pipelines/kit/routeSpec.js';
import { Orchestrator } from '../orchestrator/orchestrator.js';
import type { Pipeline, Platform } from '../pipelines/kit/pipeline.js';
import { installAccess } from './access.js';
import { ResponseCache } from './cache.js';
import { schemaErrorFormatter } from './validationMessage.js';
import { healthRoutes } from './routes/health.js';
import { ingestRoutes } from './routes/ingest.js';
import { lakeRoutes } from './routes/lake.js';
import { metricsRoutes } from './routes/metrics.js';
import { pipelineRoutes } from './routes/pipelines.js';
import { rawRoutes } from './routes/raw.js';
import { runRoutes } from './routes/runs.js';
import { sqlRoutes } from './routes/sql.js';
import { tokenRoutes } from './routes/tokens.js';
import { webRoutes } from './routes/web.js';
import { dashboardRoutes } from './routes/dashboard.js';
import type { ServerContext } from './context.js';

export interface AppOptions {
  platform: Platform;
  /** The pipelines whose routes are mounted and which can be run (default: every shipped pipeline). */
  pipelines?: ReadonlyMap<string, Pipeline>;
  /** The server's own token (server.json, the local CLI's): admin scope, exempt from the write rate limit. */
  localToken?: string;
  /** Fastify's logger (pino): false in tests. Authorization headers are never logged. */
  logger?: FastifyServerOptions['logger'];
  cache?: ResponseCache;
  /** Runs partitions, backfills and cancels (default: one over `platform` and `pipelines`, with the configured retries). */
  orchestrator?: Orchestrator;
}

const ERROR_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
};

/** Builds the API over an open platform; the caller listens, and closes the platform after `app.close()`. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { platform } = options;
  const pipelines = options.pipelines ?? (await import('../pipelines/index.js')).PIPELINES;
  const app = Fastify({
    logger: options.logger ?? { level: process.env.LOG_LEVEL ?? 'info', redact: ['req.headers.authorization'] },
    // One log line per request is too much for a data API; writes and errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    // verbose: validation errors carry their schema, so an unknown body key is answered with the known ones.
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, useDefaults: true, verbose: true } },
    schemaErrorFormatter,
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

  const { config } = platform;
  // CORS stays off (no header: browsers on other origins cannot call the API) unless origins are configured.
  if (config.corsOrigins.length > 0) await app.register(cors, { origin: config.corsOrigins, allowedHeaders: ['authorization', 'content-type'] });
  const access = await installAccess(app, {
    staticTokens: [
      { name: 'ECLUSE_API_TOKEN', token: config.apiToken, scope: 'admin' },
      { name: 'local', token: options.localToken, scope: 'admin' },
    ],
    store: platform.warehouse.apiTokens(),
    publicReads: config.publicReads,
    failedAuthPerMinute: config.rateLimits.failed_auth_per_minute,
    writesPerMinute: config.rateLimits.writes_per_minute,
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'ecluse API',
        version: '0.1.0',
        description:
          'Stations, runs and rejects of an ecluse platform. Writes, and reads of raw data, need `Authorization: Bearer <token>` (ECLUSE_API_TOKEN or a token made with `ecluse tokens create`) of the right scope: read, write or admin.',
      },
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
    forgetTokens: access.forgetTokens,
    isLocalClient: (request) => request.principal?.name === 'local',
    orchestrator: options.orchestrator ?? new Orchestrator(platform, pipelines),
    cache: options.cache ?? new ResponseCache(),
  };
  metricsRoutes(app, ctx);
  healthRoutes(app, ctx);
  await pipelineRoutes(app, ctx);
  runRoutes(app, ctx);
  sqlRoutes(app, ctx);
  tokenRoutes(app, ctx);
  await rawRoutes(app, ctx);
  await ingestRoutes(app, ctx);
  await lakeRoutes(app, ctx);
  await dashboardRoutes(app, ctx);
  await webRoutes(app, ctx);
  // Closing waits for the run in progress: the warehouse is closed after it, by the caller.
  app.addHook('onClose', async () => ctx.orchestrator.drain());
  return app;
}
