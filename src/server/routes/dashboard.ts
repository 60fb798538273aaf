import { Type, type TSchema } from '@sinclair/typebox';
import { Cron } from 'croner';
import type { FastifyInstance } from 'fastify';
import { effectiveSchedule } from '../../orchestrator/scheduler.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import { ident } from '../../engine/duckdb.js';
import { HttpError } from '../../pipelines/kit/routeSpec.js';
import { isMissingTable } from '../../pipelines/kit/routeHelpers.js';
import type { ServerContext } from '../context.js';
import { ErrorBody } from '../schemas.js';
import { RUN_SUMMARY_SCHEMA } from './runs.js';

/**
 * Aggregates the dashboard needs and the resource endpoints don't give in one request: per pipeline its
 * last and next run and run-duration history, per dataset its row count, per station its report count
 * and last report. Read-only, public like the other GET endpoints.
 */

const HISTORY = 30;

const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

const RunBrief = Type.Object({
  run_id: Type.Integer(),
  status: Type.String(),
  partition: Type.String(),
  started_at: Type.String(),
  duration_ms: nullable(Type.Integer()),
  rows_written: Type.Integer(),
  rows_rejected: Type.Integer(),
  values_rejected: Type.Integer(),
  warnings: Type.Array(Type.String(), { description: 'what a succeeded run did not load from what it was given' }),
});

const Overview = Type.Object({
  pipelines: Type.Array(
    Type.Object({
      name: Type.String(),
      description: Type.String(),
      schedule: Type.Object({ cron: Type.String(), timezone: Type.String(), enabled: Type.Boolean() }),
      last_run: nullable(RunBrief),
      next_run_at: nullable(Type.String({ description: 'next scheduled tick, ISO UTC; null when disabled' })),
      runs_total: Type.Integer(),
      recent: Type.Array(RunBrief, { description: `the last ${HISTORY} runs, oldest first (the duration sparkline)` }),
      datasets: Type.Array(Type.Object({ name: Type.String(), rows: nullable(Type.Integer({ description: 'null: table not created yet' })) })),
    }),
  ),
  generated_at: Type.String(),
});

const RunFull = Type.Composite([
  RUN_SUMMARY_SCHEMA,
  Type.Object({
    trigger: Type.String(),
    attempt: Type.Integer(),
    started_at: Type.String(),
    finished_at: nullable(Type.String()),
    pid: nullable(Type.Integer()),
    host: nullable(Type.String()),
    steps: nullable(Type.Record(Type.String(), Type.Number(), { description: 'step name → milliseconds' })),
  }),
]);

/** A missing table (no run yet) reads as an empty one; the message differs between DuckDB and PostgreSQL. */
async function rowsOrEmpty(warehouse: Warehouse, sql: string): Promise<Record<string, unknown>[] | null> {
  try {
    return await warehouse.query(sql);
  } catch (err) {
    if (isMissingTable(err)) return null;
    throw err;
  }
}

function nextTick(cron: string, timezone: string, enabled: boolean): string | null {
  if (!enabled) return null;
  const job = new Cron(cron, { timezone, paused: true });
  try {
    return job.nextRun()?.toISOString() ?? null;
  } finally {
    job.stop();
  }
}

export async function dashboardRoutes(app: FastifyInstance, { platform, pipelines }: ServerContext): Promise<void> {
  const { warehouse, config } = platform;

  app.get(
    '/dashboard/overview',
    {
      schema: {
        summary: 'Per pipeline: schedule, last and next run, recent run durations, row counts of its datasets (the dashboard’s Overview)',
        tags: ['dashboard'],
        response: { 200: Overview },
      },
    },
    async () => {
      const out = [];
      for (const p of pipelines.values()) {
        const { cron, timezone, enabled } = effectiveSchedule(p, config);
        const { items, total } = await warehouse.listRuns({ pipeline: p.name, limit: HISTORY, offset: 0 });
        const recent = items.map((r) => ({
          run_id: r.run_id,
          status: r.status,
          partition: r.partition,
          started_at: r.started_at,
          duration_ms: r.duration_ms,
          rows_written: r.rows_written,
          rows_rejected: r.rows_rejected,
          values_rejected: r.values_rejected,
          warnings: r.warnings,
        }));
        const datasets = [];
        // The pipeline's manifest names its tables (never the request); one not created yet counts as null.
        for (const { table } of p.datasets) {
          const rows = await rowsOrEmpty(warehouse, `SELECT count(*) AS n FROM ${ident(table)}`);
          datasets.push({ name: table, rows: rows ? Number(rows[0]?.n ?? 0) : null });
        }
        out.push({
          name: p.name,
          description: p.description,
          schedule: { cron, timezone, enabled },
          last_run: recent[0] ?? null,
          next_run_at: nextTick(cron, timezone, enabled),
          runs_total: total,
          recent: recent.reverse(),
          datasets,
        });
      }
      return { pipelines: out, generated_at: new Date().toISOString() };
    },
  );

  app.get(
    '/dashboard/runs/:id',
    {
      schema: {
        summary: 'One run in full: its summary plus trigger, attempt, start and end, and per-step timings (ms) (the dashboard’s run page)',
        tags: ['dashboard'],
        params: Type.Object({ id: Type.Integer() }),
        response: { 200: RunFull, 404: ErrorBody },
      },
    },
    async (request) => {
      const { id } = request.params as { id: number };
      const run = await warehouse.getRun(id);
      if (!run) throw new HttpError(404, 'not_found', `no run ${id}`);
      return run;
    },
  );
}
