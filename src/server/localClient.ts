import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Whether a request carries one of the server's own local tokens (the one `ecluse up` writes to
 * `server.json`, readable by the server's OS user only): such a caller can read that user's files anyway,
 * so the inputs of its runs are not held to the input roots. Compared as digests, in constant time.
 */
export function localClientCheck(localTokens: readonly string[]): (request: FastifyRequest) => boolean {
  const accepted = localTokens.filter((t) => t.length > 0).map(digest);
  return (request) => {
    const m = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '');
    if (!m?.[1] || accepted.length === 0) return false;
    const given = digest(m[1]);
    let ok = false;
    for (const a of accepted) ok = timingSafeEqual(a, given) || ok;
    return ok;
  };
}
