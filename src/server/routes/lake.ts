import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../app.js';

/** GET /lake…: browse the zones for the dashboard's Lake page (issue 5) */
export async function lakeRoutes(_app: FastifyInstance, _ctx: ServerContext): Promise<void> {}
