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
import { performance } from 'node:perf_hooks';

const ROOT = resolve(import.meta.dirname, '..');

interface Target {
  name: string;
  /** Files and folders the output is made from (folders walked, minus `skip`). */
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

/** The newest modification time under `path` (0 when it does not exist), and which file has it. */
function newest(path: string, skip: readonly string[]): { mtimeMs: number; path: string } {
  let best = { mtimeMs: 0, path };
  const visit = (p: string) => {
    if (skip.includes(relative(ROOT, p))) return;
    let info;
    try {
      info = statSync(p);
    } catch {
      return;
    }
    if (info.mtimeMs > best.mtimeMs) best = { mtimeMs: info.mtimeMs, path: p };
    if (info.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
  };
  visit(resolve(ROOT, path));
  return best;
}

function stampTime(path: string): number {
  try {
    return statSync(resolve(ROOT, path)).mtimeMs;
  } catch {
    return 0;
  }
}

const force = process.argv.includes('--force');
let failed = false;
for (const t of TARGETS) {
  const built = stampTime(t.stamp);
  const changed = t.inputs.map((i) => newest(i, t.skip)).reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a));
  if (!force && built > 0 && changed.mtimeMs <= built) {
    console.log(`build: ${t.name} is current`);
    continue;
  }
  const why = force ? '--force' : built === 0 ? 'never built' : `${relative(ROOT, changed.path)} changed`;
  const t0 = performance.now();
  const [bin, ...args] = t.command as [string, ...string[]];
  const r = spawnSync(resolve(ROOT, 'node_modules', '.bin', bin), args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${t.name} failed (${r.error?.message ?? `exit ${r.status}`})`);
    failed = true;
    break;
  }
  // An input touched without a change leaves tsc's build info as it was: the stamp says "built now".
  const now = new Date();
  utimesSync(resolve(ROOT, t.stamp), now, now);
  console.log(`build: ${t.name} built in ${((performance.now() - t0) / 1000).toFixed(1)} s (${why})`);
}
process.exitCode = failed ? 1 : 0;
