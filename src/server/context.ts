import type { FastifyRequest } from 'fastify';
import type { Orchestrator } from '../orchestrator/orchestrator.js';
import type { Pipeline, Platform } from '../pipelines/kit/pipeline.js';
import type { ResponseCache } from './cache.js';

/** What every route module gets. */
export interface ServerContext {
  platform: Platform;
  pipelines: ReadonlyMap<string, Pipeline>;
  /** The request carries the server's own local token: see docs/security.md, "Inputs of API runs". */
  isLocalClient(request: FastifyRequest): boolean;
  /** Partition runs, backfills, cancels; its queue takes ad-hoc runs and rebuilds, one at a time. */
  orchestrator: Orchestrator;
  cache: ResponseCache;
  /** Drops the access check's memory of looked-up tokens (after a revoke). */
  forgetTokens(): void;
  /** The version cached answers belong to: the warehouse's, moved on by SQL sent through `/admin/sql` too. */
  dataVersion(): number;
  bumpVersion(): void;
}
