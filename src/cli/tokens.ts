import { isScope, SCOPES, TokenError, type ApiTokenInfo, type Scope } from '../warehouse/apiTokens.js';
import { formatTable, printJson } from './format.js';
import { CliError } from './platform.js';
import { throughServerOr } from './client.js';

/**
 * `ecluse tokens create|list|revoke`: the API's named, scoped tokens. Through the running server when it
 * holds the embedded warehouse (with its own admin token), else in process on the warehouse.
 */

const asCliError = (err: unknown) => (err instanceof TokenError ? new CliError(err.message, 1) : err);

export async function createTokenCommand(name: string, opts: { scope: string; json?: boolean }): Promise<void> {
  if (!isScope(opts.scope)) throw new CliError(`--scope ${opts.scope}: expected one of ${SCOPES.join(', ')}`, 2);
  const scope: Scope = opts.scope;
  const created = await throughServerOr(
    'tokens create',
    (server) => server.post<ApiTokenInfo & { token: string }>('/tokens', { name, scope }),
    ({ warehouse }) =>
      warehouse
        .apiTokens()
        .create(name, scope)
        .catch((err: unknown) => Promise.reject(asCliError(err))),
  );
  if (opts.json) return printJson(created);
  console.log(`token "${created.name}" (scope ${created.scope}) created. Its secret, shown this once:\n\n  ${created.token}\n`);
  console.log('Send it as `Authorization: Bearer <token>`. ecluse keeps only its SHA-256 digest: store it now.');
}

export async function listTokensCommand(opts: { json?: boolean }): Promise<void> {
  const items = await throughServerOr(
    'tokens list',
    async (server) => (await server.get<{ items: ApiTokenInfo[] }>('/tokens')).items,
    ({ warehouse }) => warehouse.apiTokens().list(),
  );
  if (opts.json) return printJson(items);
  console.log(
    items.length === 0 ? 'no tokens (ECLUSE_API_TOKEN, when set, is an admin token besides these)' : formatTable(items as unknown as Record<string, unknown>[]),
  );
}

export async function revokeTokenCommand(name: string, opts: { json?: boolean }): Promise<void> {
  const revoked = await throughServerOr(
    'tokens revoke',
    async (server) => {
      try {
        return (await server.delete<{ revoked: boolean }>(`/tokens/${encodeURIComponent(name)}`)).revoked;
      } catch (err) {
        if (err instanceof CliError && /^no token named/.test(err.message)) return false;
        throw err;
      }
    },
    ({ warehouse }) => warehouse.apiTokens().revoke(name),
  );
  if (opts.json) printJson({ name, revoked });
  else console.log(revoked ? `token "${name}" revoked: it is refused from now on (within 5 s by a server that used it)` : `no token named "${name}"`);
  if (!revoked) process.exitCode = 1;
}
