import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../app.js';

/** POST /ingest: streamed multipart upload into a synop run (issue 4 §7) */
export async function ingestRoutes(_app: FastifyInstance, _ctx: ServerContext): Promise<void> {}
