import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** The CLI from source, as `npx ecluse` runs it from dist/ (tsx saves a build before each test). */
const ARGS = ['--import', 'tsx', resolve(ROOT, 'src', 'cli', 'main.ts')];

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function ecluse(home: string, args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [...ARGS, ...args], {
    cwd: ROOT,
    env: { ...process.env, ECLUSE_HOME: home, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function ecluseJson<T = Record<string, unknown>>(home: string, args: string[]): T {
  const r = ecluse(home, [...args, '--json']);
  if (r.status !== 0) throw new Error(`ecluse ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function spawnEcluse(home: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [...ARGS, ...args], { cwd: ROOT, env: { ...process.env, ECLUSE_HOME: home }, stdio: 'pipe' });
}
