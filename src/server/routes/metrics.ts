import type { FastifyInstance } from 'fastify';
import { registerHttpMetrics } from '../../observability/httpMetrics.js';
import { createRegistry } from '../../observability/registry.js';
import { registerRunMetrics } from '../../observability/runMetrics.js';
import { registerStreamMetrics } from '../../observability/streamMetrics.js';
import type { ServerContext } from '../context.js';

/** Route label of answers no route matched (404s): one value, whatever the URL. */
const UNMATCHED = 'unmatched';

/**
 * `GET /metrics` in Prometheus text format: run and stream metrics read from the warehouse at scrape time, this
 * server's HTTP metrics, Node's process metrics. Call it on the root instance: the hook counting requests
 * then sees every route of the app.
 */
export function metricsRoutes(app: FastifyInstance, { platform, pipelines }: ServerContext): void {
  // One registry per app, never prom-client's global one: a process (a test) may build several apps.
  const registry = createRegistry();
  registerRunMetrics(registry, platform.warehouse, {
    pipelines: () => pipelines.keys(),
    onError: (err) => app.log.error({ err }, 'run metrics: the warehouse could not be read'),
  });
  registerStreamMetrics(registry, platform.warehouse, { onError: (err) => app.log.error({ err }, 'stream metrics: the warehouse could not be read') });
  const http = registerHttpMetrics(registry);

  app.addHook('onResponse', async (request, reply) => {
    http.observe({
      method: request.method,
      route: request.routeOptions.url ?? UNMATCHED,
      status: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
  });

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics: runs (from the runs table, whichever process made them), HTTP requests, the Node process',
        tags: ['platform'],
        // No response schema: the text is sent as it is, not through the JSON serialiser.
      },
    },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  );
}
