import { Type } from '@sinclair/typebox';

/** Schemas the server's routes share (a module of its own: routes import it, never app.ts's values). */

/** OpenAPI security requirement of the endpoints that need a token. */
export const BEARER = [{ bearer: [] }];

/** The body of every error answer (app.ts's error handler). */
export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() });
