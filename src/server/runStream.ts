import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BackfillProgress, BackfillSummary, Orchestrator } from '../orchestrator/orchestrator.js';
import type { ExecuteOptions } from '../orchestrator/runner.js';
import type { ProgressEvent } from '../pipelines/kit/pipeline.js';
import { HttpError } from '../pipelines/kit/routeSpec.js';
import type { RunSummary } from '../warehouse/metadata.js';

const NDJSON = 'application/x-ndjson';

/**
 * One line of a streamed run (`Accept: application/x-ndjson`): where it stands in the queue, its progress,
 * then its summary (a backfill: its progress, then its summary), or an error if it could not run at all.
 */
export type RunLine =
  | { queued: number }
  | { progress: ProgressEvent }
  | { summary: RunSummary }
  | { backfill: BackfillProgress }
  | { backfill_summary: BackfillSummary }
  | { error: { error: string; message: string } };

/**
 * Answers with a job's result, or, when the client asks for NDJSON, streams the lines the job sends and
 * ends with its result (the CLI shows its progress from these lines). `ahead`: jobs queued before it.
 */
export async function answerStreamed<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  ahead: number,
  job: (send: (line: RunLine) => void) => Promise<T>,
  last: (result: T) => RunLine,
): Promise<unknown> {
  if (!(request.headers.accept ?? '').includes(NDJSON)) return job(() => {});
  const out = new PassThrough();
  // A client that goes away does not stop the run; its lines are dropped.
  out.on('error', () => {});
  const send = (line: RunLine) => {
    if (!out.destroyed && !out.writableEnded) out.write(JSON.stringify(line) + '\n');
  };
  if (ahead > 0) send({ queued: ahead });
  job(send)
    .then(
      (result) => send(last(result)),
      (err: unknown) => {
        if (!(err instanceof HttpError)) request.log.error({ err }, 'run failed to start');
        const code = err instanceof HttpError ? err.code : 'internal';
        send({ error: { error: code, message: err instanceof Error ? err.message : String(err) } });
      },
    )
    .finally(() => out.end());
  return reply.type(NDJSON).send(out);
}

/** Queues an ad-hoc run (or rebuild) on the orchestrator, cancellable, and answers with its summary, or streams it. */
export async function answerRun(
  request: FastifyRequest,
  reply: FastifyReply,
  orchestrator: Orchestrator,
  job: (progress: (e: ProgressEvent) => void, options: ExecuteOptions) => Promise<RunSummary>,
): Promise<unknown> {
  return answerStreamed(
    request,
    reply,
    orchestrator.queue.length,
    (send) => orchestrator.runOnce((options) => job((e) => send({ progress: e }), options)),
    (summary) => ({ summary }),
  );
}
