import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { scopeCovers, tokenDigest, type ApiTokenStore, type Scope } from '../warehouse/apiTokens.js';

/**
 * Who may call what. Every route has an access level, declared in `ROUTE_ACCESS` (the server's own routes)
 * or by the pipeline that declares it (`RouteSpec.access`); an unclassified route fails the server's start,
 * so a new endpoint is never open by accident. Checked in the first `onRequest` hook: before the cache
 * answers, before a body is read.
 *
 * - `open`: always served (liveness, API docs, the dashboard's code).
 * - `public`: aggregates anyone may read, unless the operator closed reads (`public_reads: false`), which
 *   makes them `read`.
 * - `read`, `write`, `admin`: a token of that scope or above (`admin` ⊃ `write` ⊃ `read`).
 */
type Access = 'open' | 'public' | Scope;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    /** The token the request was authorised with (null on open and public routes, or without one). */
    principal: Principal | null;
  }
}

interface Principal {
  name: string;
  scope: Scope;
}

/** The server's own routes, by `METHOD url` (HEAD follows GET). Pipelines' routes declare theirs. */
const ROUTE_ACCESS: Readonly<Record<string, Access>> = {
  'GET /health': 'open',
  // The dashboard's page when it is not built (the built files are open: see `alwaysOpen`).
  'GET /': 'open',
  'GET /metrics': 'public',
  'GET /pipelines': 'public',
  'GET /runs': 'public',
  'GET /runs/:id': 'public',
  'GET /dashboard/overview': 'public',
  'GET /dashboard/runs/:id': 'public',
  'GET /lake/zones': 'public',
  'GET /lake/files': 'public',
  // Raw files, rejects (they quote raw values) and run logs hold what the inputs held: never public.
  'GET /runs/:id/logs': 'read',
  'GET /rejects': 'read',
  'GET /raw/files': 'read',
  'GET /raw/files/*': 'read',
  'POST /sql': 'read',
  'POST /runs': 'write',
  'POST /runs/:id/cancel': 'write',
  'POST /pipelines/:name/runs': 'write',
  'POST /pipelines/:name/rebuild': 'write',
  'POST /ingest': 'write',
  'POST /pipelines/:name/files': 'write',
  'POST /admin/sql': 'admin',
  'GET /tokens': 'admin',
  'POST /tokens': 'admin',
  'DELETE /tokens/:name': 'admin',
};

/** A token known without the store: `ECLUSE_API_TOKEN` and the server's own (server.json), both admin. */
interface StaticToken {
  name: string;
  token: string | undefined;
  scope: Scope;
}

export interface AccessOptions {
  staticTokens: readonly StaticToken[];
  store: ApiTokenStore;
  /** False: every `public` route needs a `read` token. */
  publicReads: boolean;
  /** Failed authentications accepted per client address and minute; then 429 until the minute is over. */
  failedAuthPerMinute: number;
  /** Requests to write and admin endpoints per client address and minute (the server's own token is exempt). */
  writesPerMinute: number;
}

/** How long a token looked up in the store is trusted before it is looked up again (a revoke takes this long). */
const STORE_TTL_MS = 5_000;

const sha = (s: string) => createHash('sha256').update(s).digest();

function routeKey(method: string, url: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${url}`;
}

/**
 * Routes everyone may fetch whatever the settings: Swagger UI and the dashboard's files (code, not data;
 * @fastify/static marks its routes with the file they serve).
 */
function alwaysOpen(url: string, config: { file?: unknown }): boolean {
  return url === '/docs' || url.startsWith('/docs/') || config.file !== undefined;
}

/**
 * Installs the route classification, the rate limits and the access check. Call before any route is
 * registered: the classification is an `onRoute` hook, which must also run before @fastify/rate-limit's
 * (it reads the write limit this one sets).
 */
export async function installAccess(app: FastifyInstance, options: AccessOptions): Promise<{ forgetTokens(): void }> {
  const statics = options.staticTokens
    .filter((t): t is StaticToken & { token: string } => typeof t.token === 'string' && t.token.length > 0)
    .map((t) => ({ name: t.name, scope: t.scope, digest: sha(t.token) }));
  const known = new Map<string, { principal: Principal | null; until: number }>();

  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const config = (route.config ??= {}) as { access?: Access; rateLimit?: unknown; file?: unknown };
    if (config.access === undefined) {
      const declared = methods.map((m) => ROUTE_ACCESS[routeKey(m, route.url)]).find((a) => a !== undefined);
      if (declared) config.access = declared;
      else if (alwaysOpen(route.url, config)) config.access = 'open';
      else throw new Error(`route ${methods.join(',')} ${route.url} has no access level: add it to ROUTE_ACCESS (src/server/access.ts)`);
    }
    if ((config.access === 'write' || config.access === 'admin') && config.rateLimit === undefined) {
      config.rateLimit = {
        max: options.writesPerMinute,
        timeWindow: 60_000,
        allowList: (request: FastifyRequest) => request.principal?.name === 'local',
      };
    }
  });

  // Limits only where a route asks (writes) and in the access check below (failed authentications).
  await app.register(rateLimit, { global: false });
  const failedAuth = app.createRateLimit({ max: options.failedAuthPerMinute, timeWindow: 60_000 });

  /** The token's principal, or null when no token has this secret. */
  async function resolve(secret: string): Promise<Principal | null> {
    const given = sha(secret);
    let match: Principal | null = null;
    // Every static token is compared, in constant time, so timing does not say which one matched.
    for (const s of statics) if (timingSafeEqual(s.digest, given)) match = { name: s.name, scope: s.scope };
    if (match) return match;
    const digest = tokenDigest(secret);
    const cached = known.get(digest);
    if (cached && cached.until > Date.now()) return cached.principal;
    const found = await options.store.find(digest);
    if (known.size > 10_000) known.clear();
    // Misses are not kept: a flood of wrong tokens must not fill the map, and the rate limit bounds them.
    if (found) known.set(digest, { principal: found, until: Date.now() + STORE_TTL_MS });
    return found;
  }

  const deny = (reply: FastifyReply, status: 401 | 403, message: string) =>
    reply.code(status).send({ error: status === 401 ? 'unauthorized' : 'forbidden', message });

  app.addHook('onRequest', async (request, reply) => {
    let needed = request.routeOptions.config?.access ?? 'open';
    if (needed === 'public') needed = options.publicReads ? 'open' : 'read';
    if (needed === 'open') return;
    const m = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '');
    if (!m?.[1]) {
      const hint =
        statics.length === 0
          ? ` (set ECLUSE_API_TOKEN on the server, or create a token with \`ecluse tokens create NAME --scope ${needed}\`)`
          : ' (ECLUSE_API_TOKEN, or a token made with `ecluse tokens create`)';
      return deny(reply, 401, `this endpoint needs Authorization: Bearer <token> with scope ${needed}${hint}`);
    }
    const limit = await failedAuth(request, { increment: false });
    if (!limit.isAllowed && limit.remaining === 0) {
      return reply
        .code(429)
        .header('retry-after', String(limit.ttlInSeconds))
        .send({ error: 'too_many_requests', message: `too many failed authentications from this address; retry in ${limit.ttlInSeconds} s` });
    }
    const principal = await resolve(m[1]);
    if (!principal) {
      await failedAuth(request);
      const hint = statics.length === 0 ? ' (the server has no ECLUSE_API_TOKEN; other tokens are made with `ecluse tokens create`)' : '';
      return deny(reply, 401, `invalid token${hint}`);
    }
    if (!scopeCovers(principal.scope, needed)) {
      return deny(reply, 403, `token "${principal.name}" has scope ${principal.scope}; this endpoint needs ${needed}`);
    }
    request.principal = principal;
  });
  // A revoke through this server takes effect at once (one through another process: within STORE_TTL_MS).
  return { forgetTokens: () => known.clear() };
}
