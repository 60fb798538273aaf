import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** Where Debian's postgresql-15 package puts the server binaries; override with ECLUSE_TEST_PG_BIN. */
const PG_BIN = process.env.ECLUSE_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A throwaway PostgreSQL cluster of its own (initdb in a temporary folder, a free port): the fault tests
 * restart it, which they must never do to the shared server other suites use.
 */
export interface PgCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  /** Stops the server (fast: sessions are terminated, as an operator's restart does) and starts it again; blocks until it accepts connections. */
  restartSync(): void;
  /**
   * The same without blocking the event loop: what a test needs when this process holds a replication
   * connection, since a fast shutdown waits for each walsender's client to answer before it completes.
   */
  restart(): Promise<void>;
  /** Stops the server and removes its folder. */
  destroy(): Promise<void>;
}

/** The server refuses to run as root: run its tools as `postgres` then. */
function asServerUser(bin: string, args: string[]): string[] {
  const tool = join(PG_BIN, bin);
  return userInfo().uid === 0 ? ['runuser', '-u', 'postgres', '--', tool, ...args] : [tool, ...args];
}

function runTool(bin: string, args: string[]): void {
  const [cmd, ...rest] = asServerUser(bin, args);
  execFileSync(cmd as string, rest, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

async function runToolAsync(bin: string, args: string[]): Promise<void> {
  const [cmd, ...rest] = asServerUser(bin, args);
  await promisify(execFile)(cmd as string, rest, { timeout: 60_000 });
}

/** false to run, or why not; in CI (CI=true) missing binaries are a failure. */
export function skipUnlessPgBinaries(): string | false {
  const missing = ['initdb', 'pg_ctl'].filter((b) => !existsSync(join(PG_BIN, b)));
  if (missing.length === 0) return false;
  const why = `PostgreSQL server binaries not found in ${PG_BIN} (${missing.join(', ')}); set ECLUSE_TEST_PG_BIN`;
  if (process.env.CI === 'true') throw new Error(`${why}: required in CI`);
  return why;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no TCP port for the test PostgreSQL');
  return address.port;
}

export async function startPgCluster(): Promise<PgCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'ecluse-pgcluster-'));
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    await chown(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const port = await freePort();
  // Durability is not under test here (a fast restart flushes everything): no fsync keeps the cluster quick.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=40`;
  const ctl = (action: string[]) => {
    try {
      runTool('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', ...action]);
    } catch (err) {
      const tail = existsSync(log) ? execFileSync('tail', ['-n', '20', log], { encoding: 'utf8' }) : '';
      throw new Error(`pg_ctl ${action.join(' ')} failed: ${(err as Error).message}\n${tail}`, { cause: err });
    }
  };
  try {
    runTool('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    ctl(['-o', options, 'start']);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restartSync: () => ctl(['-m', 'fast', '-o', options, 'restart']),
    restart: async () => {
      try {
        await runToolAsync('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-m', 'fast', '-o', options, 'restart']);
      } catch (err) {
        const tail = existsSync(log) ? execFileSync('tail', ['-n', '20', log], { encoding: 'utf8' }) : '';
        throw new Error(`pg_ctl restart failed: ${(err as Error).message}\n${tail}`, { cause: err });
      }
    },
    async destroy() {
      try {
        ctl(['-m', 'immediate', 'stop']);
      } catch (err) {
        // Already stopped is fine; say anything else in the test output.
        const text = await readFile(log, 'utf8').catch(() => '');
        if (!/no server running/i.test(`${(err as Error).message}${text}`)) console.error(err);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
