import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../app.js';

/** The dashboard (web/dist) served at / (issue 5) */
export async function webRoutes(_app: FastifyInstance, _ctx: ServerContext): Promise<void> {}
