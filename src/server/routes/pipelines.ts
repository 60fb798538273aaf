import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PartitionBusyError, type BackfillSummary } from '../../orchestrator/orchestrator.js';
import { daysBetween, defaultPartition } from '../../time/days.js';
import { feedNamed, isPartitionOf } from '../../pipelines/kit/feeds.js';
import { rebuildPipeline } from '../../orchestrator/runner.js';
import { effectiveSchedules } from '../../orchestrator/scheduler.js';
import { HttpError, type RouteSpec } from '../../pipelines/kit/routeSpec.js';
import type { Feed } from '../../pipelines/kit/pipeline.js';
import type { ServerContext } from '../context.js';
import { BEARER, JSON_TYPE } from '../schemas.js';
import { answerRun, answerStreamed } from '../runStream.js';
import { NO_BODY, RUN_SUMMARY_SCHEMA } from './runs.js';
import { pipelineEnv } from '../../pipelines/kit/settings.js';
import { openConnection } from '../../warehouse/open.js';
import type { Warehouse } from '../../warehouse/warehouse.js';

const Schedule = Type.Object({
  cron: Type.String(),
  timezone: Type.String(),
  enabled: Type.Boolean(),
  origin: Type.Union([Type.Literal('pipeline'), Type.Literal('config')], { description: 'config: overridden by ecluse.config.json' }),
});

/** Runs a pipeline's write routes one at a time on their own warehouse connection. */
type RouteWriter = <T>(fn: (warehouse: Warehouse) => Promise<T>) => Promise<T>;

/**
 * The write routes' connection, opened on the first write and closed with the server, and their queue. The
 * server's connection carries the queued runs' transactions: a route's statement sent on it while a run's
 * transaction is open would join it (committed or rolled back with the run's work), and two routes' writes
 * on one connection would join each other's.
 */
function routeWriter(app: FastifyInstance, platform: ServerContext['platform']): RouteWriter {
  let connection: Promise<Warehouse> | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  app.addHook('onClose', async () => {
    await queue;
    if (connection) await (await connection.catch(() => null))?.close();
  });
  return (fn) => {
    const run = queue.then(async () => {
      connection ??= openConnection(platform.warehouse, platform.config, 'ecluse serve (pipeline writes)');
      // A failed open (the server down) is tried again by the next write.
      const warehouse = await connection.catch((err: unknown) => {
        connection = null;
        throw err;
      });
      return fn(warehouse);
    });
    queue = run.catch(() => {});
    return run;
  };
}

/** Mounts one route a pipeline declared; cacheable ones answer from the response cache while the data has not changed. */
function mount(app: FastifyInstance, spec: RouteSpec, { platform, cache, dataVersion }: ServerContext, writer: RouteWriter): void {
  const { warehouse, config } = platform;
  if (spec.method !== 'GET' && spec.access !== 'write') throw new Error(`route ${spec.method} ${spec.url} writes: it must declare access 'write'`);
  const cacheable = spec.method === 'GET' && spec.cacheable;
  app.route({
    method: spec.method,
    url: spec.url,
    schema: {
      ...spec.schema,
      summary: spec.summary,
      description: spec.description,
      tags: spec.tags ? [...spec.tags] : undefined,
      security: spec.access === 'write' ? BEARER : undefined,
    },
    config: { access: spec.access ?? 'public' },
    // Looked up before parsing and validation: a hit costs a map lookup. Only successful answers are stored,
    // so a cached URL is a valid one.
    onRequest: cacheable
      ? async (request: FastifyRequest, reply: FastifyReply) => {
          const body = cache.get(request.url, dataVersion());
          if (body) return reply.type(JSON_TYPE).header('x-cache', 'hit').send(body);
        }
      : undefined,
    handler: async (request, reply) => {
      // The version is read before the query: if a run commits meanwhile, the answer is stored under the old one.
      const version = dataVersion();
      const answer = (w: Warehouse) =>
        spec.handler({
          warehouse: w,
          config,
          params: request.params as Record<string, string>,
          query: request.query as Record<string, unknown>,
          body: request.body,
        });
      const data = spec.access === 'write' ? await writer(answer) : await answer(warehouse);
      if (spec.status) reply.code(spec.status);
      if (!cacheable) return data;
      const body = Buffer.from(JSON.stringify(data));
      cache.set(request.url, version, body);
      return reply.type(JSON_TYPE).header('x-cache', 'miss').send(body);
    },
  });
}

export async function pipelineRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { platform, pipelines, orchestrator } = ctx;
  const pipelineNamed = (name: string) => {
    const pipeline = pipelines.get(name);
    if (!pipeline) throw new HttpError(404, 'not_found', `unknown pipeline "${name}" (known: ${[...pipelines.keys()].join(', ')})`);
    return pipeline;
  };
  const writer = routeWriter(app, platform);
  for (const p of pipelines.values()) for (const spec of (await p.routes?.()) ?? []) mount(app, spec, ctx, writer);

  app.get(
    '/pipelines',
    {
      schema: {
        summary: 'The pipelines this server runs',
        tags: ['runs'],
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                name: Type.String(),
                description: Type.String(),
                schedule: Schedule,
                schedules: Type.Array(Type.Composite([Type.Object({ feed: Type.Union([Type.String(), Type.Null()]) }), Schedule]), {
                  description: 'every schedule: the one of `schedule`, or one per dataset fetched (`feed`: eco2mix tr, cons-def)',
                }),
                feeds: Type.Array(Type.Object({ name: Type.String(), description: Type.String() }), {
                  description:
                    'the datasets it fetches on their own schedules (`--dataset`, `dataset` of POST /pipelines/{name}/runs); the first is the default',
                }),
                datasets: Type.Array(Type.Object({ table: Type.String(), key: Type.Array(Type.String()) }), { description: 'the warehouse tables it writes' }),
                fetches_days: Type.Boolean({ description: 'a run without files fetches its day from a source (runs and backfills by day)' }),
                uploads: Type.Array(Type.String(), { description: 'file types POST /pipelines/{name}/files accepts (none: no uploads)' }),
                env: Type.Array(
                  Type.Object({
                    name: Type.String(),
                    sets: Type.String({ description: 'the key of ecluse.config.json it overrides' }),
                    description: Type.String(),
                    secret: Type.Boolean({ description: 'its value is never shown' }),
                    set: Type.Boolean({ description: 'whether this server was started with it' }),
                  }),
                  { description: 'the environment variables it reads (names only, never values)' },
                ),
              }),
            ),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
          }),
        },
      },
    },
    async () => {
      const items = [...pipelines.values()].map((p) => {
        const schedules = effectiveSchedules(p, platform.config).map(({ feed, cron, timezone, enabled, origin }) => ({
          feed,
          cron,
          timezone,
          enabled,
          origin,
        }));
        const { cron, timezone, enabled, origin } = schedules[0]!;
        return {
          name: p.name,
          description: p.description,
          schedule: { cron, timezone, enabled, origin },
          schedules,
          feeds: (p.feeds ?? []).map((f) => ({ name: f.name, description: f.description })),
          datasets: p.datasets.map((d) => ({ table: d.table, key: [...d.key] })),
          fetches_days: p.fetchesDays === true,
          uploads: [...(p.uploads ?? [])],
          env: pipelineEnv(p, platform.config),
        };
      });
      return { items, total: items.length, limit: items.length, offset: 0 };
    },
  );

  app.post(
    '/pipelines/:name/rebuild',
    {
      schema: {
        summary: 'Drops the pipeline’s staging and curated data and rebuilds it from the raw zone alone (queued like runs)',
        tags: ['runs'],
        security: BEARER,
        params: Type.Object({ name: Type.String() }),
        body: NO_BODY,
        response: { 200: RUN_SUMMARY_SCHEMA },
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const pipeline = pipelineNamed(name);
      return answerRun(request, reply, orchestrator, (progress, options) => rebuildPipeline(platform, pipeline, progress, options));
    },
  );

  const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
  app.post(
    '/pipelines/:name/runs',
    {
      schema: {
        summary: 'Runs a partition (a day; default yesterday, Europe/Paris), or backfills a range of days',
        description:
          'Body `{partition}` runs one partition, with retries, and answers with its summary (409 when a run of that partition is active). ' +
          '`{from, to}` runs every day of the range (both inclusive), skipping days already succeeded unless `force`, and answers with the backfill summary. ' +
          'With `Accept: application/x-ndjson`, progress lines come first.',
        tags: ['runs'],
        security: BEARER,
        params: Type.Object({ name: Type.String() }),
        body: Type.Object(
          {
            // A day, or a partition of one of the pipeline's feeds (eco2mix: `cons-def:YYYY-MM`).
            partition: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            dataset: Type.Optional(
              Type.String({ minLength: 1, maxLength: 32, description: 'the feed, for a pipeline fetching several datasets (eco2mix: tr, cons-def)' }),
            ),
            from: Type.Optional(Day),
            to: Type.Optional(Day),
            force: Type.Optional(Type.Boolean()),
            parallel: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Union([RUN_SUMMARY_SCHEMA, Type.Object({ pipeline: Type.String(), partitions: Type.Integer() }, { additionalProperties: true })]),
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      const body = request.body as { partition?: string; dataset?: string; from?: string; to?: string; force?: boolean; parallel?: number };
      const pipeline = pipelineNamed(name);
      let feed: Feed | undefined;
      try {
        feed = feedNamed(pipeline, body.dataset);
      } catch (err) {
        throw new HttpError(400, 'bad_request', (err as Error).message.replace(/--/g, ''));
      }
      if (body.from !== undefined || body.to !== undefined) {
        if (body.partition !== undefined) throw new HttpError(400, 'bad_request', 'give either partition or from and to, not both');
        if (body.from === undefined || body.to === undefined) throw new HttpError(400, 'bad_request', 'a range needs both from and to');
        try {
          daysBetween(body.from, body.to);
        } catch (err) {
          throw new HttpError(400, 'bad_request', (err as Error).message.replace(/--/g, ''));
        }
        const { from, to } = body;
        return answerStreamed<BackfillSummary>(
          request,
          reply,
          orchestrator.queue.length,
          (send) =>
            orchestrator.backfill(pipeline, from, to, {
              force: body.force,
              parallel: body.parallel,
              feed,
              trigger: 'api',
              onProgress: (p) => send({ backfill: p }),
            }),
          (summary) => ({ backfill_summary: summary }),
        );
      }
      if (body.partition !== undefined && body.dataset !== undefined) throw new HttpError(400, 'bad_request', 'give either partition or dataset, not both');
      const partition = body.partition ?? feed?.partitionAt(new Date()) ?? defaultPartition();
      if (!isPartitionOf(pipeline, partition)) {
        throw new HttpError(
          400,
          'bad_request',
          `partition ${partition} is not a calendar day${pipeline.feeds?.length ? ` nor a partition of ${pipeline.name}'s datasets` : ''}`,
        );
      }
      return answerStreamed(
        request,
        reply,
        orchestrator.queue.length,
        async (send) => {
          try {
            return await orchestrator.submitPartition(pipeline, partition, 'api', { progress: (e) => send({ progress: e }) });
          } catch (err) {
            if (err instanceof PartitionBusyError) throw new HttpError(409, 'conflict', err.message);
            throw err;
          }
        },
        (summary) => ({ summary }),
      );
    },
  );
}
