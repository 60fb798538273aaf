import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { SqlRefusedError, SqlTimeoutError, SqlUnavailableError, wholeAnswer, type SqlAnswer } from '../../warehouse/readOnlySql.js';
import type { ServerContext } from '../context.js';
import { BEARER, ErrorBody } from '../schemas.js';

const SqlBody = Type.Object({ sql: Type.String({ minLength: 1 }) }, { additionalProperties: false });

const Answer = Type.Object({
  columns: Type.Array(Type.String()),
  rows: Type.Array(Type.Record(Type.String(), Type.Unknown())),
  row_count: Type.Integer(),
  truncated: Type.Boolean({ description: 'true when the statement had more rows than the limits let through' }),
  limit: Type.Union([Type.Object({ rows: Type.Integer(), bytes: Type.Integer() }), Type.Null()], {
    description: 'the limits the answer was read under (null on /admin/sql, which reads everything)',
  }),
});

const RESPONSES = { 200: Answer, 400: ErrorBody, 401: ErrorBody, 503: ErrorBody };

/**
 * `POST /sql` reads: one SELECT over the warehouse's tables, read-only, bounded in time, rows and bytes
 * (Warehouse.readOnlyQuery). `POST /admin/sql` runs anything, as the CLI does in process with `--write`.
 */
export function sqlRoutes(app: FastifyInstance, { platform, bumpVersion }: ServerContext): void {
  app.post(
    '/sql',
    {
      schema: {
        summary:
          'Runs one read-only SELECT on the warehouse and returns its rows, up to the configured limits (instants as ISO UTC, integers beyond 2^53 as strings)',
        tags: ['platform'],
        security: BEARER,
        body: SqlBody,
        response: RESPONSES,
      },
    },
    async (request, reply) => {
      const { sql } = request.body as { sql: string };
      return answerOrError(reply, () => platform.warehouse.readOnlyQuery(sql, platform.config.sqlLimits));
    },
  );

  app.post(
    '/admin/sql',
    {
      schema: {
        summary: 'Runs SQL that may write (statements of any kind, several at once) on the warehouse and returns the rows of the last one, all of them',
        tags: ['platform'],
        security: BEARER,
        body: SqlBody,
        response: RESPONSES,
      },
    },
    async (request, reply) => {
      const { sql } = request.body as { sql: string };
      request.log.info({ sql_length: sql.length }, 'admin sql');
      return answerOrError(reply, async () => {
        try {
          return wholeAnswer(await platform.warehouse.query(sql));
        } finally {
          // The statement may have changed data outside any run (even when it failed halfway), which the
          // warehouse's version does not count: cached answers must not outlive it.
          bumpVersion();
        }
      });
    },
  );
}

async function answerOrError(reply: FastifyReply, run: () => Promise<SqlAnswer>): Promise<SqlAnswer | FastifyReply> {
  try {
    return await run();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // The engine's message is what a person needs to fix the query; the kind says whether to fix or give up.
    if (err instanceof SqlRefusedError) return reply.code(400).send({ error: 'sql_refused', message });
    if (err instanceof SqlTimeoutError) return reply.code(400).send({ error: 'sql_timeout', message });
    if (err instanceof SqlUnavailableError) return reply.code(503).send({ error: 'sql_unavailable', message });
    return reply.code(400).send({ error: 'sql_error', message });
  }
}
