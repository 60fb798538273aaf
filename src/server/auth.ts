import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer-token check of the write endpoints. Tokens are compared as SHA-256 digests with
 * `timingSafeEqual`, so neither the content nor the length of a token leaks through timing.
 */
export function bearerAuth(tokens: readonly (string | undefined)[]) {
  const accepted = tokens.filter((t): t is string => typeof t === 'string' && t.length > 0).map(digest);
  return async function requireToken(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (accepted.length === 0) {
      return reply.code(401).send({
        error: 'unauthorized',
        message: 'this endpoint needs a token and the server has none: set ECLUSE_API_TOKEN (or use the local CLI, which reads the server’s own token)',
      });
    }
    const m = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '');
    if (!m?.[1]) {
      return reply.code(401).send({ error: 'unauthorized', message: 'missing Authorization: Bearer <token> (ECLUSE_API_TOKEN)' });
    }
    const given = digest(m[1]);
    let ok = false;
    // Every accepted token is compared, so the time does not say which one matched.
    for (const a of accepted) ok = timingSafeEqual(a, given) || ok;
    if (!ok) return reply.code(401).send({ error: 'unauthorized', message: 'invalid token' });
  };
}
