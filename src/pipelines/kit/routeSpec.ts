import type { Static, TSchema } from '@sinclair/typebox';
import type { Config } from '../../config/config.js';
import type { Warehouse } from '../../warehouse/warehouse.js';

/**
 * HTTP routes declared as data by a pipeline: the server mounts them, so pipelines never import the
 * server. Handlers read through the warehouse and return plain data, or throw an HttpError.
 */

/** An error with an HTTP status; the server answers `{error: code, message}` with that status. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string) => new HttpError(400, 'bad_request', message);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);

export interface RouteContext<P = Record<string, string>, Q = Record<string, unknown>, B = unknown> {
  warehouse: Warehouse;
  /** The platform's configuration: a pipeline's settings (a write route reaching its own source database). */
  config?: Config;
  params: P;
  query: Q;
  /** The validated JSON body (POST routes). */
  body?: B;
}

export interface RouteSchema<P extends TSchema = TSchema, Q extends TSchema = TSchema, B extends TSchema = TSchema> {
  params?: P;
  querystring?: Q;
  /** The JSON body of a POST route. */
  body?: B;
  /** Response schemas by status: they document the route and serialise its answer. */
  response?: Record<number, TSchema>;
}

export interface RouteSpec {
  /** `POST` routes write: they need `access: 'write'` and are never cached. */
  method: 'GET' | 'POST';
  /** Fastify-style path: `/stations/:id`. */
  url: string;
  summary: string;
  description?: string;
  tags?: readonly string[];
  schema: RouteSchema;
  /**
   * The answer depends only on the URL and the warehouse's committed data: the server may keep the
   * serialised response until `warehouse.dataVersion()` changes.
   */
  cacheable?: boolean;
  /**
   * Who may read it: `public` (default) for aggregates anyone may see unless the operator closed reads;
   * `read` for anything holding raw values or about a person (a token with scope read is then needed).
   */
  access?: 'public' | 'read' | 'write';
  /** The status of a successful answer (default 200; 201 for a POST that creates). */
  status?: number;
  handler(ctx: RouteContext): Promise<unknown>;
}

/** Declares a route with handler arguments typed from its schemas. */
export function defineRoute<P extends TSchema, Q extends TSchema, B extends TSchema = TSchema>(
  spec: Omit<RouteSpec, 'schema' | 'handler'> & {
    schema: RouteSchema<P, Q, B>;
    handler(ctx: RouteContext<Static<P>, Static<Q>, Static<B>>): Promise<unknown>;
  },
): RouteSpec {
  // The server validates params and query against these schemas before calling the handler.
  return spec as unknown as RouteSpec;
}
