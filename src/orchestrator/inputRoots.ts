import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { basename, delimiter, dirname, isAbsolute, join, parse, relative, resolve, sep } from 'node:path';
import type { Config } from '../config/config.js';

/**
 * Which server-side paths the inputs of an API run may name (`POST /runs`): a caller with a token must
 * not make the server read a file it could not read itself (its token, `/etc/passwd`) into the raw zone,
 * where raw reads would hand it back. See docs/security.md, "Inputs of API runs".
 */

export interface InputPolicy {
  /** Folders every input must lie in once links are resolved; `anywhere` for the server's own local client. */
  roots: readonly string[] | 'anywhere';
  /** Folders no input may lie in, roots or not: the ecluse home and the folder lake. */
  excludedFolders: readonly string[];
  /** Files no input may be, nor share the name of as a prefix: the embedded warehouse and its companions (`.wal`). */
  excludedFiles: readonly string[];
  /** Where the allowed locations come from, for the refusal messages. */
  describe: string;
}

/** An input the policy refuses: nothing of the run has been read or recorded. */
export class InputRefusedError extends Error {
  override name = 'InputRefusedError';
}

const HOW_TO_CONFIGURE = `input_roots in ecluse.config.json, or ECLUSE_INPUT_ROOTS (folders separated by "${delimiter}")`;

/** The folders API runs may read: the landing location when it is a folder, and the configured input roots. */
export function configuredInputRoots(config: Config): string[] {
  const roots = config.landing && !config.landing.includes('://') ? [config.landing] : [];
  return [...new Set([...roots, ...config.inputRoots])];
}

/**
 * The policy of an API run's inputs. `localClient`: the request carries the server's own token (from
 * `server.json`, readable by the server's OS user only), so it comes from someone who can read that user's
 * files anyway: any path is allowed but ecluse's own files, which raw reads would hand to other tokens.
 */
export function apiInputPolicy(config: Config, { localClient }: { localClient: boolean }): InputPolicy {
  const excludedFolders = [config.home];
  if (!config.lake.includes('://')) excludedFolders.push(config.lake);
  const excludedFiles = config.warehouse.includes('://') ? [] : [config.warehouse];
  const own = 'the ecluse home, its lake and its warehouse are never inputs of an API run';
  if (localClient) {
    // Only the local client is told where the home is: it can read server.json, other tokens need not know.
    return { roots: 'anywhere', excludedFolders, excludedFiles, describe: `the server's own CLI may name any file but ecluse's: ${own} (home ${config.home})` };
  }
  const roots = configuredInputRoots(config);
  const describe = roots.length
    ? `the input roots of this server are ${roots.join(', ')} (the landing folder and ${HOW_TO_CONFIGURE}); ${own}`
    : `this server has no input roots: API runs read files only under the landing folder (ECLUSE_LANDING) or the folders of ${HOW_TO_CONFIGURE}`;
  return { roots, excludedFolders, excludedFiles, describe };
}

/** `path` is `folder` or lies under it. */
function isWithin(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The real path of `path` (links resolved); for a path that cannot be resolved (missing, unreadable, a
 * name too long), the real path of its nearest resolvable ancestor joined with the rest: where it would
 * be. So a refusal never depends on whether a file outside the roots exists or can be read.
 */
async function realLocation(path: string): Promise<string> {
  const rest: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(await realpath(current), ...rest.reverse());
    } catch (err) {
      if (current === parse(current).root) throw err;
      rest.push(basename(current));
      current = dirname(current);
    }
  }
}

/** A location both as configured and with its links resolved (a home under a linked /tmp is the same home). */
async function bothForms(paths: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const p of paths) {
    out.add(resolve(p));
    out.add(await realLocation(resolve(p)).catch(() => resolve(p)));
  }
  return [...out];
}

/** Why `real` (a resolved path) may not be read, or null when it may. */
function refusal(real: string, policy: InputPolicy): string | null {
  if (policy.excludedFolders.some((x) => isWithin(real, x)) || policy.excludedFiles.some((x) => real.startsWith(x))) {
    return 'is one of ecluse’s own files';
  }
  if (policy.roots !== 'anywhere' && !policy.roots.some((r) => isWithin(real, r))) return 'is outside the input roots';
  return null;
}

/**
 * Checks every input of an API run before a byte of it is read: each given path, and each file found
 * inside a given folder (the way the pipelines list them: recursively, links to folders followed), with
 * links resolved. Throws an InputRefusedError naming the first offending input. A path that does not
 * exist (or cannot be resolved) is judged by where it would be; when allowed, the run reports it.
 */
export async function checkInputs(inputs: readonly string[], policy: InputPolicy): Promise<void> {
  const resolved: InputPolicy = {
    roots: policy.roots === 'anywhere' ? 'anywhere' : await bothForms(policy.roots),
    excludedFolders: await bothForms(policy.excludedFolders),
    excludedFiles: await bothForms(policy.excludedFiles),
    describe: policy.describe,
  };
  for (const input of inputs) {
    const path = resolve(input);
    const real = await realLocation(path);
    const why = refusal(real, resolved);
    const shown = real === path ? `"${input}"` : `"${input}" (resolving to ${real})`;
    if (why) throw new InputRefusedError(`input ${shown} ${why}; ${resolved.describe}`);
    const info = await stat(real).catch(() => null);
    if (!info?.isDirectory()) continue;
    // Listed as the pipelines list it (names, recursively: this form of readdir walks through links to
    // folders, the `withFileTypes` one does not). A folder that cannot be listed is left to the run.
    const names = await readdir(path, { recursive: true }).catch(() => [] as string[]);
    // A plain file's real path is its folder's plus its name: one realpath per folder, not per file.
    const realFolders = new Map<string, Promise<string>>();
    for (const name of names) {
      const found = join(path, name);
      const entry = await lstat(found).catch(() => null);
      let target: string;
      if (entry?.isFile()) {
        const parent = dirname(found);
        let folder = realFolders.get(parent);
        if (!folder) realFolders.set(parent, (folder = realLocation(parent)));
        target = join(await folder, basename(found));
      } else if (entry?.isSymbolicLink() && (await stat(found).catch(() => null))?.isFile()) {
        target = await realLocation(found);
      } else {
        // Only files are read; a folder's files come as names of their own.
        continue;
      }
      const whyFound = refusal(target, resolved);
      if (whyFound) throw new InputRefusedError(`input "${input}" holds ${found}, which resolves to ${target} and ${whyFound}; ${resolved.describe}`);
    }
  }
}
