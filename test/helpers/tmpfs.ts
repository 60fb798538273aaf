import { execFileSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';

/** A small RAM-backed file system mounted for a test (`mount -t tmpfs` needs root). */
export interface Tmpfs {
  readonly path: string;
  /** Writes `file` (inside the mount) until the file system is full, then frees `leave` bytes of it; returns its size. */
  fillWith(file: string, leave?: number): number;
  unmount(): void;
}

/**
 * Mounts a tmpfs of `sizeBytes` on `path` (created if missing), or says why it cannot: false means "mounted".
 * Where mounting is not permitted the test skips with that reason; CI runs as root on a machine where it is
 * permitted, so there (CI=true and root) a refusal is a failure.
 */
export async function mountTmpfs(path: string, sizeBytes: number): Promise<Tmpfs | { skip: string }> {
  await mkdir(path, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const why = `cannot mount a tmpfs on ${path} (${(err as Error).message.split('\n')[0]})`;
    if (process.env.CI === 'true' && userInfo().uid === 0) throw new Error(`${why}: required in CI, which runs as root`, { cause: err });
    return { skip: userInfo().uid === 0 ? why : `${why}: mounting needs root` };
  }
  return {
    path,
    fillWith(file, leave = 0) {
      const fd = openSync(file, 'a');
      let written = 0;
      try {
        // Large blocks, then a page at a time to take the last pages too.
        for (const size of [1 << 20, 4096, 1]) {
          const block = Buffer.alloc(size, 0x55);
          for (;;) {
            try {
              written += writeSync(fd, block);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
              break;
            }
          }
        }
        written = Math.max(0, written - leave);
        ftruncateSync(fd, written);
      } finally {
        closeSync(fd);
      }
      return written;
    },
    unmount() {
      execFileSync('umount', [path], { stdio: 'ignore' });
    },
  };
}
