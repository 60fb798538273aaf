import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../app.js';

/** GET /raw/files, GET /raw/files/{key}: the raw zone (issue 4 §7) */
export async function rawRoutes(_app: FastifyInstance, _ctx: ServerContext): Promise<void> {}
