import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ProgressEvent } from '../orchestrator/pipeline.js';
import type { RunSummary } from '../warehouse/metadata.js';
import type { RunQueue } from './runQueue.js';

export const NDJSON = 'application/x-ndjson';

/**
 * One line of a streamed run (`Accept: application/x-ndjson`): where it stands in the queue, its progress,
 * then its summary, or an error if it could not run at all.
 */
export type RunLine = { queued: number } | { progress: ProgressEvent } | { summary: RunSummary } | { error: { error: string; message: string } };

/**
 * Queues a run and answers with its summary, or, when the client asks for NDJSON, streams its progress
 * and ends with the summary (the CLI shows its progress bar from these lines).
 */
export async function answerRun(
  request: FastifyRequest,
  reply: FastifyReply,
  queue: RunQueue,
  job: (progress: (e: ProgressEvent) => void) => Promise<RunSummary>,
): Promise<unknown> {
  if (!(request.headers.accept ?? '').includes(NDJSON)) return queue.push(() => job(() => {}));
  const out = new PassThrough();
  // A client that goes away does not stop the run; its lines are dropped.
  out.on('error', () => {});
  const send = (line: RunLine) => {
    if (!out.destroyed && !out.writableEnded) out.write(JSON.stringify(line) + '\n');
  };
  if (queue.length > 0) send({ queued: queue.length });
  queue
    .push(() => job((e) => send({ progress: e })))
    .then(
      (summary) => send({ summary }),
      (err: unknown) => {
        request.log.error({ err }, 'run failed to start');
        send({ error: { error: 'internal', message: err instanceof Error ? err.message : String(err) } });
      },
    )
    .finally(() => out.end());
  return reply.type(NDJSON).send(out);
}
