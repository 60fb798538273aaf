import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `$ECLUSE_HOME/server.json`: how local CLI commands find the running `ecluse up` and talk to it (one
 * writer on the embedded warehouse). It holds the server's own token, so it is readable by its owner only.
 */
export interface ServerFile {
  pid: number;
  url: string;
  port: number;
  started_at: string;
  /** The warehouse the server holds: a command on another warehouse does not go through it. */
  warehouse: string;
  token: string;
}

function serverFilePath(home: string): string {
  return join(home, 'server.json');
}

export async function writeServerFile(home: string, info: ServerFile): Promise<void> {
  const path = serverFilePath(home);
  // Written whole under a temporary name and renamed: a reader never sees half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, path);
}

export async function readServerFile(home: string): Promise<ServerFile | null> {
  try {
    const v = JSON.parse(await readFile(serverFilePath(home), 'utf8')) as Partial<ServerFile>;
    if (typeof v.pid !== 'number' || typeof v.url !== 'string' || typeof v.token !== 'string') return null;
    return v as ServerFile;
  } catch {
    return null;
  }
}

/** Removes the file if it is this process's (a newer server may have replaced it). */
export async function removeServerFile(home: string, pid = process.pid): Promise<void> {
  const current = await readServerFile(home);
  if (current && current.pid !== pid) return;
  await rm(serverFilePath(home), { force: true });
}
