import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

/**
 * The dashboard (web/dist, built by `npm run build`) served at `/`. The app keeps its page in the query
 * string (`/?page=stations&id=…`), so it never needs a catch-all route that could shadow the API.
 */

/** src/server/routes and dist/server/routes are both three levels below the package root. */
export const WEB_DIST = fileURLToPath(new URL('../../../web/dist', import.meta.url));

const NOT_BUILT =
  'The ecluse dashboard is not built: run `npm run build` (it writes web/dist), then restart the server. The API is served as usual; see /docs.';

export async function webRoutes(app: FastifyInstance, _ctx: ServerContext, root = WEB_DIST): Promise<void> {
  if (!existsSync(`${root}/index.html`)) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.code(503).type('text/plain; charset=utf-8').send(NOT_BUILT));
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // One route per built file, no wildcard: unknown paths stay the API's JSON 404s.
    wildcard: false,
    index: ['index.html'],
    // swagger-ui registers @fastify/static too: the reply decorators exist already.
    decorateReply: false,
    cacheControl: false,
    setHeaders(res, path) {
      // Vite names assets by content hash: they never change under a name. index.html names the current ones.
      if (/[\\/]assets[\\/]/.test(path)) res.setHeader('cache-control', 'public, max-age=31536000, immutable');
      else res.setHeader('cache-control', 'no-cache');
    },
  });
}
