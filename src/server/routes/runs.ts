import { isAbsolute } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { readRunLogs } from '../../observability/runLog.js';
import { apiInputPolicy, checkInputs, InputRefusedError } from '../../orchestrator/inputRoots.js';
import { executeRun, summaryOf } from '../../orchestrator/runner.js';
import { HttpError } from '../../pipelines/kit/routeSpec.js';
import { Paging } from '../../pipelines/kit/routeHelpers.js';
import { RUN_STATUSES, type RunStatus } from '../../warehouse/metadata.js';
import type { ServerContext } from '../context.js';
import { BEARER, ErrorBody } from '../schemas.js';
import { answerRun } from '../runStream.js';

const RunSummary = Type.Object({
  run_id: Type.Integer(),
  pipeline: Type.String(),
  status: Type.Union(RUN_STATUSES.map((s) => Type.Literal(s))),
  partition: Type.String(),
  files: Type.Integer({ description: 'files processed' }),
  files_skipped: Type.Integer({ description: 'files already seen' }),
  files_deferred: Type.Integer({ description: 'files left for a later run (landing files still being written)' }),
  rows_read: Type.Integer(),
  rows_written: Type.Integer(),
  rows_rejected: Type.Integer({ description: 'records rejected whole' }),
  values_rejected: Type.Integer({ description: 'fields set to null' }),
  duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  warnings: Type.Array(Type.String(), { description: 'what a succeeded run did not load from what it was given, and why' }),
});
const RunRecord = Type.Composite([
  RunSummary,
  Type.Object({
    trigger: Type.String(),
    attempt: Type.Integer(),
    started_at: Type.String(),
    finished_at: Type.Union([Type.String(), Type.Null()]),
    pid: Type.Union([Type.Integer(), Type.Null()]),
    host: Type.Union([Type.String(), Type.Null()]),
    steps: Type.Union([Type.Record(Type.String(), Type.Number()), Type.Null()]),
  }),
]);
const Reject = Type.Object({
  run_id: Type.Integer(),
  pipeline: Type.String(),
  file: Type.String(),
  sheet: Type.Union([Type.String(), Type.Null()]),
  row: Type.Union([Type.Integer(), Type.Null()]),
  field: Type.Union([Type.String(), Type.Null()]),
  value: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  whole_record: Type.Boolean(),
});
const list = (item: ReturnType<typeof Type.Object>) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() });

export const RUN_SUMMARY_SCHEMA = RunSummary;

/** The body of a POST that takes no parameter: absent, or an object without keys (an unknown key is a 400). */
export const NO_BODY = Type.Object({}, { additionalProperties: false, nullable: true });

const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'a day, YYYY-MM-DD' });

export function runRoutes(app: FastifyInstance, { platform, pipelines, isLocalClient, orchestrator }: ServerContext): void {
  const { warehouse } = platform;

  app.get(
    '/runs',
    {
      schema: {
        summary: 'Run history, newest first',
        description: '`from`/`to` keep runs whose partition is a day in that range (both inclusive); ad-hoc runs are then left out.',
        tags: ['runs'],
        querystring: Type.Object({
          pipeline: Type.Optional(Type.String()),
          status: Type.Optional(Type.Union(RUN_STATUSES.map((s) => Type.Literal(s)))),
          from: Type.Optional(Day),
          to: Type.Optional(Day),
          ...Paging,
        }),
        response: { 200: list(RunRecord) },
      },
    },
    async (request) => {
      const q = request.query as { pipeline?: string; status?: RunStatus; from?: string; to?: string; limit: number; offset: number };
      const { items, total } = await warehouse.listRuns(q);
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/runs/:id',
    {
      schema: {
        summary: 'Summary of one run',
        tags: ['runs'],
        params: Type.Object({ id: Type.Integer() }),
        response: { 200: RunSummary, 404: ErrorBody },
      },
    },
    async (request) => {
      const { id } = request.params as { id: number };
      const run = await warehouse.getRun(id);
      if (!run) throw new HttpError(404, 'not_found', `no run ${id}`);
      return summaryOf(run);
    },
  );

  app.get(
    '/runs/:id/logs',
    {
      schema: {
        summary: 'Log lines of one run, oldest first (stored by whichever process ran it: a worker, the server, the CLI)',
        description: 'Each item is a pino line of the run: `at`, `level`, `msg` and the line’s own fields (`step`, `ms`, `attempt`…).',
        tags: ['runs'],
        params: Type.Object({ id: Type.Integer() }),
        querystring: Type.Object(Paging),
        response: {
          200: Type.Object({
            items: Type.Array(Type.Object({ at: Type.String(), level: Type.String(), msg: Type.String() }, { additionalProperties: true })),
            total: Type.Integer(),
            limit: Type.Integer(),
            offset: Type.Integer(),
          }),
          404: ErrorBody,
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: number };
      const q = request.query as { limit: number; offset: number };
      if (!(await warehouse.getRun(id))) throw new HttpError(404, 'not_found', `no run ${id}`);
      const { items, total } = await readRunLogs(warehouse, id, q);
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );

  app.post(
    '/runs',
    {
      schema: {
        summary:
          'Runs a pipeline once (runs are queued, one at a time) and answers with its summary; with Accept: application/x-ndjson, streams progress lines first',
        description:
          '`inputs` are files or folders on the server’s machine, as absolute paths (what `ecluse run --input` sends). ' +
          'They must lie, links resolved, under the input roots (the landing folder, `input_roots`, `ECLUSE_INPUT_ROOTS`), and never in the ecluse home, lake or warehouse; ' +
          'the server’s own local token (the CLI’s, from `server.json`) may name any file outside those. Every file inside a given folder is checked too. ' +
          '403 `forbidden` names the refused input; nothing is read or run then. An unknown body key is a 400.',
        tags: ['runs'],
        security: BEARER,
        body: Type.Object({ pipeline: Type.String(), inputs: Type.Optional(Type.Array(Type.String({ minLength: 1 }))) }, { additionalProperties: false }),
        response: { 200: RunSummary, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body as { pipeline: string; inputs?: string[] };
      const pipeline = pipelines.get(body.pipeline);
      if (!pipeline) throw new HttpError(404, 'not_found', `unknown pipeline "${body.pipeline}" (known: ${[...pipelines.keys()].join(', ')})`);
      const relative = body.inputs?.find((p) => !isAbsolute(p));
      if (relative !== undefined) throw new HttpError(400, 'bad_request', `inputs must be absolute paths on the server’s machine, got "${relative}"`);
      const policy = apiInputPolicy(platform.config, { localClient: isLocalClient(request) });
      const check = async () => {
        try {
          await checkInputs(body.inputs ?? [], policy);
        } catch (err) {
          if (err instanceof InputRefusedError) throw new HttpError(403, 'forbidden', err.message);
          throw err;
        }
      };
      // Before the run is queued or recorded: a refused input is never hashed nor copied into the raw zone.
      await check();
      return answerRun(request, reply, orchestrator, async (progress, options) => {
        // Again once the queue lets the run start: a run may wait there long enough for a file to become a link.
        await check();
        return executeRun(platform, pipeline, { inputs: body.inputs, trigger: 'api' }, progress, options);
      });
    },
  );

  app.post(
    '/runs/:id/cancel',
    {
      schema: {
        summary: 'Cancels a running run: at once when this server runs it, else by a request its process sees within a second or two',
        description: 'A cancelled run ends `cancelled` at its next step, commits nothing and is not retried.',
        tags: ['runs'],
        security: BEARER,
        params: Type.Object({ id: Type.Integer() }),
        body: NO_BODY,
        response: {
          200: Type.Object({ run_id: Type.Integer(), outcome: Type.Union([Type.Literal('cancelled'), Type.Literal('requested')]) }),
          404: ErrorBody,
          409: ErrorBody,
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: number };
      const outcome = await orchestrator.cancel(id);
      if (outcome === 'not_found') throw new HttpError(404, 'not_found', `no run ${id}`);
      if (outcome === 'not_running') throw new HttpError(409, 'conflict', `run ${id} is not running`);
      return { run_id: id, outcome };
    },
  );

  app.get(
    '/rejects',
    {
      schema: {
        summary: 'Rejected records and values with their reasons, newest run first',
        tags: ['runs'],
        querystring: Type.Object({ run: Type.Optional(Type.Integer()), pipeline: Type.Optional(Type.String()), ...Paging }),
        response: { 200: list(Reject) },
      },
    },
    async (request) => {
      const q = request.query as { run?: number; pipeline?: string; limit: number; offset: number };
      const { items, total } = await warehouse.listRejects({ runId: q.run, pipeline: q.pipeline, limit: q.limit, offset: q.offset });
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );
}
