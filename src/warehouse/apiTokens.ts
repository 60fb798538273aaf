import { createHash, randomBytes } from 'node:crypto';
import type { MetaSql } from './runLocks.js';

/**
 * API tokens: named, scoped, stored as SHA-256 digests (the secret is shown once, at creation, and never
 * stored). A token is 32 random bytes, so a plain digest is enough: there is no dictionary to attack, and
 * a lookup by digest costs one indexed read.
 */

/** What a token may do; each scope includes the ones before it. */
export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** True when a token of scope `held` may do what needs `needed`. */
export function scopeCovers(held: Scope, needed: Scope): boolean {
  return SCOPES.indexOf(held) >= SCOPES.indexOf(needed);
}

/** Names users choose and type: short, no spaces, nothing that needs quoting in a shell. */
const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Not readable through `POST /sql`, read scope or not: digests are no secret, but nobody needs them. */
export const API_TOKENS_TABLE = 'api_tokens';

export const API_TOKENS_DDL = [
  `CREATE TABLE IF NOT EXISTS api_tokens (
    name VARCHAR PRIMARY KEY,
    -- ISO UTC text: the same value back from DuckDB and PostgreSQL, whatever the session's time zone.
    scope VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL UNIQUE,
    created_at VARCHAR NOT NULL
  )`,
];

export interface ApiTokenInfo {
  name: string;
  scope: Scope;
  /** ISO UTC. */
  created_at: string;
}

export class TokenError extends Error {
  override name = 'TokenError';
}

/** The digest a token is stored and looked up by. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new secret: `ecl_` and 43 base64url characters (256 bits). */
function newTokenSecret(): string {
  return `ecl_${randomBytes(32).toString('base64url')}`;
}

/**
 * The tokens table, through a warehouse's autocommitting connection: a token created or revoked while a
 * run holds a transaction takes effect at once and never rolls back with the run.
 */
export class ApiTokenStore {
  constructor(private readonly db: MetaSql) {}

  /** Creates a token and answers its secret, the only time it is seen. */
  async create(name: string, scope: Scope): Promise<ApiTokenInfo & { token: string }> {
    if (!TOKEN_NAME.test(name))
      throw new TokenError(`invalid token name "${name}": letters, digits, '_', '.', '-' (at most 64, starting with a letter or digit)`);
    if (!isScope(scope)) throw new TokenError(`invalid scope "${String(scope)}": one of ${SCOPES.join(', ')}`);
    const existing = await this.db.rows(`SELECT name FROM api_tokens WHERE name = $1`, [name]);
    if (existing.length > 0) throw new TokenError(`a token named "${name}" exists; revoke it first or choose another name`);
    const token = newTokenSecret();
    const createdAt = new Date();
    await this.db.exec(`INSERT INTO api_tokens (name, scope, sha256, created_at) VALUES ($1, $2, $3, $4)`, [
      name,
      scope,
      tokenDigest(token),
      createdAt.toISOString(),
    ]);
    return { name, scope, created_at: createdAt.toISOString(), token };
  }

  async list(): Promise<ApiTokenInfo[]> {
    const rows = await this.db.rows(`SELECT name, scope, created_at FROM api_tokens ORDER BY name`, []);
    return rows.map((r) => ({ name: String(r.name), scope: String(r.scope) as Scope, created_at: String(r.created_at) }));
  }

  /** False when no token has that name. */
  async revoke(name: string): Promise<boolean> {
    return (await this.db.exec(`DELETE FROM api_tokens WHERE name = $1`, [name])) > 0;
  }

  /** The token whose digest this is, or null. */
  async find(digest: string): Promise<{ name: string; scope: Scope } | null> {
    const [row] = await this.db.rows(`SELECT name, scope FROM api_tokens WHERE sha256 = $1`, [digest]);
    if (!row || !isScope(String(row.scope))) return null;
    return { name: String(row.name), scope: String(row.scope) as Scope };
  }
}
