import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rebuildPipeline } from '../../orchestrator/runner.js';
import { HttpError, type RouteSpec } from '../../orchestrator/routeSpec.js';
import { BEARER, JSON_TYPE, type ServerContext } from '../app.js';
import { answerRun } from '../runStream.js';
import { RUN_SUMMARY_SCHEMA } from './runs.js';

/** Mounts one route a pipeline declared; cacheable ones answer from the response cache while the data has not changed. */
function mount(app: FastifyInstance, spec: RouteSpec, { platform, cache, dataVersion }: ServerContext): void {
  const { warehouse } = platform;
  app.route({
    method: spec.method,
    url: spec.url,
    schema: { ...spec.schema, summary: spec.summary, description: spec.description, tags: spec.tags ? [...spec.tags] : undefined },
    // Looked up before parsing and validation: a hit costs a map lookup. Only successful answers are stored,
    // so a cached URL is a valid one.
    onRequest: spec.cacheable
      ? async (request: FastifyRequest, reply: FastifyReply) => {
          const body = cache.get(request.url, dataVersion());
          if (body) return reply.type(JSON_TYPE).header('x-cache', 'hit').send(body);
        }
      : undefined,
    handler: async (request, reply) => {
      // The version is read before the query: if a run commits meanwhile, the answer is stored under the old one.
      const version = dataVersion();
      const data = await spec.handler({ warehouse, params: request.params as Record<string, string>, query: request.query as Record<string, unknown> });
      if (!spec.cacheable) return data;
      const body = Buffer.from(JSON.stringify(data));
      cache.set(request.url, version, body);
      return reply.type(JSON_TYPE).header('x-cache', 'miss').send(body);
    },
  });
}

export function pipelineRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { platform, pipelines, requireToken, runs } = ctx;
  for (const p of pipelines.values()) for (const spec of p.routes ?? []) mount(app, spec, ctx);

  app.get(
    '/pipelines',
    {
      schema: {
        summary: 'The pipelines this server runs',
        tags: ['runs'],
        response: {
          200: Type.Object({
            items: Type.Array(Type.Object({ name: Type.String(), description: Type.String(), schedule: Type.Object({ cron: Type.String(), timezone: Type.String() }) })),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
          }),
        },
      },
    },
    async () => {
      const items = [...pipelines.values()].map((p) => ({ name: p.name, description: p.description, schedule: p.schedule }));
      return { items, total: items.length, limit: items.length, offset: 0 };
    },
  );

  app.post(
    '/pipelines/:name/rebuild',
    {
      preHandler: requireToken,
      schema: {
        summary: 'Drops the pipeline’s staging and curated data and rebuilds it from the raw zone alone (queued like runs)',
        tags: ['runs'],
        security: BEARER,
        params: Type.Object({ name: Type.String() }),
        response: { 200: RUN_SUMMARY_SCHEMA },
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const pipeline = pipelines.get(name);
      if (!pipeline) throw new HttpError(404, 'not_found', `unknown pipeline "${name}" (known: ${[...pipelines.keys()].join(', ')})`);
      return answerRun(request, reply, runs, (progress) => rebuildPipeline(platform, pipeline, progress));
    },
  );
}
