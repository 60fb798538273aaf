import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * The CLI from source, as `npx ecluse` runs it from dist/ (tsx saves a build before each test). tsx is
 * named by its resolved URL so that commands can run from any working directory.
 */
const ARGS = ['--import', import.meta.resolve('tsx'), resolve(ROOT, 'src', 'cli', 'main.ts')];

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function ecluse(home: string, args: string[], env: Record<string, string> = {}, cwd = ROOT): CliResult {
  const r = spawnSync(process.execPath, [...ARGS, ...args], {
    cwd,
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

export function spawnEcluse(home: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [...ARGS, ...args], { cwd: ROOT, env: { ...process.env, ECLUSE_HOME: home, ...env }, stdio: 'pipe' });
}

/** The CLI without blocking this process, for commands that call a stand-in living here (spawnSync would deadlock). */
export function ecluseAsync(home: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawnEcluse(home, args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve) => child.once('close', (status) => resolve({ status, stdout, stderr })));
}

export interface RunningServer {
  url: string;
  child: ChildProcess;
  /** Everything the server printed so far (its log lines included). */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `ecluse <command>` (up or start) on a free port and resolves once it prints its URL. */
export function startServer(home: string, command: 'up' | 'start' = 'up', env: Record<string, string> = {}, timeoutMs = 60_000): Promise<RunningServer> {
  const child = spawnEcluse(home, [command], { PORT: '0', ...env });
  let out = '';
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ecluse ${command} printed no URL within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /ecluse API on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolvePromise({
          url: m[1],
          child,
          output: () => out,
          stop: async () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            return exited;
          },
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`ecluse ${command} exited ${code} before serving:\n${out}`));
    });
  });
}
