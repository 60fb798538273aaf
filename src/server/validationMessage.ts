import type { FastifyServerOptions } from 'fastify';

/**
 * Fastify's validation messages, with an unknown key named: JSON bodies are strict
 * (`additionalProperties: false`), so a misspelt key (`input` for `inputs`) is a 400 saying which key
 * and which ones are known, instead of a request run as if the key were absent.
 */
export const schemaErrorFormatter: NonNullable<FastifyServerOptions['schemaErrorFormatter']> = (errors, dataVar) => {
  const parts = errors.map((e) => {
    const where = dataVar + (e.instancePath || '');
    const unknown = (e.params as { additionalProperty?: unknown }).additionalProperty;
    if (e.keyword !== 'additionalProperties' || typeof unknown !== 'string') return `${where} ${e.message ?? 'is invalid'}`;
    // `parentSchema` is there with ajv's `verbose` option (app.ts).
    const known = Object.keys((e as { parentSchema?: { properties?: Record<string, unknown> } }).parentSchema?.properties ?? {});
    return `${where} has an unknown key "${unknown}" (${known.length ? `known keys: ${known.join(', ')}` : 'no key is accepted'})`;
  });
  return new Error(parts.join(', '));
};
