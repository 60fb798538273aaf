import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../../pipelines/kit/routeSpec.js';
import { SCOPES, TokenError, type Scope } from '../../warehouse/apiTokens.js';
import type { ServerContext } from '../context.js';
import { BEARER, ErrorBody } from '../schemas.js';

/** The API's tokens, for `ecluse tokens` while a server holds the embedded warehouse (admin scope). */

const TokenInfo = Type.Object({ name: Type.String(), scope: Type.String(), created_at: Type.String({ description: 'ISO UTC' }) });

export function tokenRoutes(app: FastifyInstance, { platform, forgetTokens }: ServerContext): void {
  const store = platform.warehouse.apiTokens();

  app.get(
    '/tokens',
    {
      schema: {
        summary: 'The API tokens: name, scope, creation time (never the secret)',
        tags: ['platform'],
        security: BEARER,
        response: { 200: Type.Object({ items: Type.Array(TokenInfo) }) },
      },
    },
    async () => ({ items: await store.list() }),
  );

  app.post(
    '/tokens',
    {
      schema: {
        summary: 'Creates a token; the answer holds its secret, shown this once',
        tags: ['platform'],
        security: BEARER,
        body: Type.Object({ name: Type.String({ minLength: 1 }), scope: Type.Union(SCOPES.map((s) => Type.Literal(s))) }, { additionalProperties: false }),
        response: { 200: Type.Intersect([TokenInfo, Type.Object({ token: Type.String() })]), 400: ErrorBody },
      },
    },
    async (request) => {
      const { name, scope } = request.body as { name: string; scope: Scope };
      try {
        return await store.create(name, scope);
      } catch (err) {
        if (err instanceof TokenError) throw new HttpError(400, 'bad_request', err.message);
        throw err;
      }
    },
  );

  app.delete(
    '/tokens/:name',
    {
      schema: {
        summary: 'Revokes a token',
        tags: ['platform'],
        security: BEARER,
        params: Type.Object({ name: Type.String() }),
        response: { 200: Type.Object({ name: Type.String(), revoked: Type.Boolean() }), 404: ErrorBody },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      if (!(await store.revoke(name))) throw new HttpError(404, 'not_found', `no token named "${name}"`);
      forgetTokens();
      return { name, revoked: true };
    },
  );
}
