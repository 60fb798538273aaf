import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, copyFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertSafeKey, ObjectNotFoundError, type ObjectInfo, type ObjectStore } from './objectStore.js';

/** The embedded lake: a folder. Publication is write-to-temporary-name then rename, atomic on one file system. */
export class FolderStore implements ObjectStore {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  pathOf(key: string): string {
    assertSafeKey(key);
    return join(this.root, ...key.split('/'));
  }

  private async publish(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    // Temporary names start with '.' so listings never show a half-written object.
    const tmp = join(dirname(target), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await write(tmp);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      // Node's own message may name no file (`ENOSPC: no space left on device, write`): say which object.
      const code = (err as NodeJS.ErrnoException).code;
      throw Object.assign(new Error(`lake ${this.root}: cannot write ${key}: ${(err as Error).message}`, { cause: err }), code ? { code } : {});
    }
  }

  putFile(key: string, localPath: string, options: { consume?: boolean } = {}): Promise<void> {
    return this.publish(key, async (tmp) => {
      if (options.consume) {
        try {
          await rename(localPath, tmp);
          return;
        } catch (err) {
          // Another file system: fall back to a copy.
          if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        }
      }
      await copyFile(localPath, tmp);
    });
  }

  putStream(key: string, body: Readable): Promise<void> {
    return this.publish(key, (tmp) => pipeline(body, createWriteStream(tmp)));
  }

  putBytes(key: string, body: Uint8Array | string): Promise<void> {
    return this.publish(key, (tmp) => writeFile(tmp, body));
  }

  async getStream(key: string): Promise<Readable> {
    await this.statOrThrow(key);
    return createReadStream(this.pathOf(key));
  }

  async getBytes(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(key, this.root);
      throw err;
    }
  }

  async withLocalFile<T>(key: string, fn: (path: string) => Promise<T>): Promise<T> {
    await this.statOrThrow(key);
    return fn(this.pathOf(key));
  }

  async exists(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    try {
      return (await stat(path)).isFile();
    } catch {
      return false;
    }
  }

  private async statOrThrow(key: string) {
    try {
      return await stat(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(key, this.root);
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const base = prefix.replace(/\/+$/, '');
    const dir = base === '' ? this.root : this.pathOf(base);
    let names: string[];
    try {
      names = await readdir(dir, { recursive: true });
    } catch (err) {
      // No such folder, or the prefix is an object's key rather than a folder: nothing under it.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw err;
    }
    const out: ObjectInfo[] = [];
    for (const name of names) {
      const parts = name.split(sep);
      if (parts.some((p) => p.startsWith('.tmp-'))) continue;
      const full = join(dir, name);
      const info = await stat(full);
      if (!info.isFile()) continue;
      out.push({ key: relative(this.root, full).split(sep).join('/'), size: info.size, modifiedAt: info.mtime });
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    const base = prefix.replace(/\/+$/, '');
    const dir = base === '' ? this.root : this.pathOf(base);
    // A prefix names a folder: an object whose key equals it is not under it (as on S3).
    const info = await stat(dir).catch(() => null);
    if (info?.isDirectory()) await rm(dir, { recursive: true, force: true });
  }
}
