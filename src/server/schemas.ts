/** Schemas and constants the server's routes share: a leaf module, so that no route imports app.ts, which imports every route. */

/** OpenAPI security requirement of the endpoints that need a token. */
export const BEARER = [{ bearer: [] }];

/** The body of every error answer (app.ts's error handler): the one pipelines' routes declare too. */
export { ErrorBody } from '../pipelines/kit/routeHelpers.js';

/** Content type of answers sent as ready-made JSON text (cached bodies). */
export const JSON_TYPE = 'application/json; charset=utf-8';
