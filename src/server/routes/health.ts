import { performance } from 'node:perf_hooks';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { pingMysql } from '../../pipelines/synop/mysqlStaging.js';

const CHECK_TIMEOUT_MS = 5000;

async function check(fn: () => Promise<unknown>): Promise<{ ok: boolean; ms: number; error?: string }> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, ms: Math.round((performance.now() - t0) * 10) / 10 };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - t0), error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

const Dependency = Type.Object({ kind: Type.String(), ok: Type.Boolean(), ms: Type.Number(), error: Type.Optional(Type.String()) });
/** The engine's memory budget as configured (null: DuckDB's default, 80 % of the machine's memory). */
const Engine = Type.Object({ kind: Type.Literal('duckdb'), memory_limit: Type.Union([Type.String(), Type.Null()]) });

export function healthRoutes(app: FastifyInstance, { platform }: ServerContext): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'State of each dependency: 200 when all answer, 503 otherwise',
        tags: ['platform'],
        response: {
          200: Type.Object({ status: Type.Literal('ok'), warehouse: Dependency, lake: Dependency, mysql: Type.Optional(Dependency), engine: Engine }),
          503: Type.Object({ status: Type.Literal('degraded'), warehouse: Dependency, lake: Dependency, mysql: Type.Optional(Dependency), engine: Engine }),
        },
      },
    },
    async (_request, reply) => {
      const mysqlUrl = platform.config.synopMysql;
      const [warehouse, lake, mysql] = await Promise.all([
        check(() => platform.warehouse.query('SELECT 1 AS ok')),
        // A listing, not a lookup: on S3 a missing bucket answers a lookup like a missing object would.
        check(() => platform.lake.list('health/')),
        // Only when synop's MySQL staging is configured; its errors name the URL without its password.
        mysqlUrl === undefined ? Promise.resolve(null) : check(() => pingMysql(mysqlUrl)),
      ]);
      const ok = warehouse.ok && lake.ok && (mysql === null || mysql.ok);
      return reply.code(ok ? 200 : 503).send({
        status: ok ? 'ok' : 'degraded',
        warehouse: { kind: platform.warehouse.kind, ...warehouse },
        lake: { kind: platform.lake.location.startsWith('s3://') ? 's3' : 'folder', ...lake },
        ...(mysql === null ? {} : { mysql: { kind: 'mysql', ...mysql } }),
        engine: { kind: 'duckdb' as const, memory_limit: platform.config.duckdbMemoryLimit ?? null },
      });
    },
  );
}
