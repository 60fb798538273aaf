import { performance } from 'node:perf_hooks';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

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

export function healthRoutes(app: FastifyInstance, { platform, pipelines }: ServerContext): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'State of each dependency: 200 when all answer, 503 otherwise',
        tags: ['platform'],
        description: "Besides the warehouse and the lake, the dependencies the pipelines declare, when configured (synop's MySQL staging: `mysql`).",
        response: {
          200: Type.Object(
            { status: Type.Literal('ok'), warehouse: Dependency, lake: Dependency, engine: Engine },
            { additionalProperties: Dependency, description: 'plus one member per configured pipeline dependency' },
          ),
          503: Type.Object(
            { status: Type.Literal('degraded'), warehouse: Dependency, lake: Dependency, engine: Engine },
            { additionalProperties: Dependency, description: 'plus one member per configured pipeline dependency' },
          ),
        },
      },
    },
    async (_request, reply) => {
      // Only what this configuration uses (e.g. synop's MySQL staging when set); errors name no secret.
      const declared = [...pipelines.values()].flatMap((p) => p.healthChecks?.(platform.config) ?? []);
      const [warehouse, lake, ...others] = await Promise.all([
        check(() => platform.warehouse.query('SELECT 1 AS ok')),
        // A listing, not a lookup: on S3 a missing bucket answers a lookup like a missing object would.
        check(() => platform.lake.list('health/')),
        ...declared.map((d) => check(() => d.check())),
      ]);
      const ok = warehouse.ok && lake.ok && others.every((o) => o.ok);
      return reply.code(ok ? 200 : 503).send({
        status: ok ? 'ok' : 'degraded',
        warehouse: { kind: platform.warehouse.kind, ...warehouse },
        lake: { kind: platform.lake.location.startsWith('s3://') ? 's3' : 'folder', ...lake },
        ...Object.fromEntries(declared.map((d, i) => [d.name, { kind: d.kind, ...others[i] }])),
        engine: { kind: 'duckdb' as const, memory_limit: platform.config.duckdbMemoryLimit ?? null },
      });
    },
  );
}
