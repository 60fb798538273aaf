/**
 * `npm run build` (and so `npm start`'s prestart): builds only what changed since the last build. The
 * server (src/ → dist/) is compiled by `tsc` incrementally, and not at all when dist/ is newer than every
 * input; the dashboard (web/ → web/dist/) is bundled by Vite only when one of its inputs is newer than
 * its last bundle. `--force` builds both. Inputs are compared by modification time, folders included (a
 * deleted file changes its folder's time).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(import.meta.dirname, '..');

export interface Target {
  name: string;
  /** Files and folders the output is made from, relative to the root (folders walked, minus `skip`). */
  inputs: string[];
  skip: string[];
  /** Written by every build, last: its time is the build's. */
  stamp: string;
  command: string[];
}

const TARGETS: Target[] = [
  {
    name: 'server (dist/)',
    inputs: ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'],
    skip: [],
    // tsc writes its build info after the JavaScript; kept in dist/ so that deleting dist/ rebuilds all.
    stamp: 'dist/.tsbuildinfo',
    command: ['tsc', '-p', 'tsconfig.build.json', '--incremental', '--tsBuildInfoFile', 'dist/.tsbuildinfo'],
  },
  {
    name: 'dashboard (web/dist/)',
    inputs: ['web', 'package-lock.json'],
    skip: ['web/dist'],
    stamp: 'web/dist/index.html',
    command: ['vite', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'],
  },
];

/** The newest modification time under `path` (0 when it does not exist), and which file or folder has it. */
function newest(root: string, path: string, skip: readonly string[]): { mtimeMs: number; path: string } {
  let best = { mtimeMs: 0, path };
  const visit = (p: string) => {
    if (skip.includes(relative(root, p))) return;
    let info;
    try {
      info = statSync(p);
    } catch {
      return;
    }
    if (info.mtimeMs > best.mtimeMs) best = { mtimeMs: info.mtimeMs, path: relative(root, p) };
    if (info.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
  };
  visit(resolve(root, path));
  return best;
}

/** Why `target` must be built (never built, or the newest input that changed since), or null when it is current. */
export function staleness(root: string, target: Target): string | null {
  let built: number;
  try {
    built = statSync(resolve(root, target.stamp)).mtimeMs;
  } catch {
    return 'never built';
  }
  const changed = target.inputs.map((i) => newest(root, i, target.skip)).reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a));
  return changed.mtimeMs > built ? `${changed.path} changed` : null;
}

function main(): void {
  const force = process.argv.includes('--force');
  for (const t of TARGETS) {
    const why = force ? '--force' : staleness(ROOT, t);
    if (why === null) {
      console.log(`build: ${t.name} is current`);
      continue;
    }
    const t0 = performance.now();
    const [bin, ...args] = t.command as [string, ...string[]];
    const r = spawnSync(resolve(ROOT, 'node_modules', '.bin', bin), args, { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) {
      console.error(`build: ${t.name} failed (${r.error?.message ?? `exit ${r.status}`})`);
      process.exitCode = 1;
      return;
    }
    // An input touched without a change leaves tsc's build info as it was: the stamp says "built now".
    const now = new Date();
    utimesSync(resolve(ROOT, t.stamp), now, now);
    console.log(`build: ${t.name} built in ${((performance.now() - t0) / 1000).toFixed(1)} s (${why})`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
