import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { BEARER, type ServerContext } from '../app.js';

const SqlBody = Type.Object({ sql: Type.String({ minLength: 1 }) });

export function sqlRoutes(app: FastifyInstance, { platform, bumpVersion }: ServerContext): void {
  app.post(
    '/sql',
    {
      // SQL can write: it needs the token like every write endpoint.
      schema: {
        summary: 'Runs SQL on the warehouse and returns its rows (instants as ISO UTC, integers beyond 2^53 as strings)',
        tags: ['platform'],
        security: BEARER,
        body: SqlBody,
        response: { 200: Type.Array(Type.Record(Type.String(), Type.Unknown())), 400: Type.Object({ error: Type.String(), message: Type.String() }) },
      },
    },
    async (request, reply) => {
      const { sql } = request.body as { sql: string };
      try {
        const rows = await platform.warehouse.query(sql);
        // The statement may have changed data outside any run, which the warehouse's version does not count.
        bumpVersion();
        return rows;
      } catch (err) {
        // The engine's message is what a person needs to fix the query.
        return reply.code(400).send({ error: 'sql_error', message: err instanceof Error ? err.message : String(err) });
      }
    },
  );
}
