import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Store, type S3StoreOptions } from '../../src/lake/s3Store.js';

/** s3rver's only account: it checks request signatures against it. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3rverHandle {
  endpoint: string;
  /** A bucket created at start. */
  bucket: string;
  credentials: typeof S3RVER_CREDENTIALS;
  /** Creates another, empty bucket and returns its name. */
  newBucket(): Promise<string>;
  /** An S3Store on this server (close it, or let `close()` do it). */
  store(options: Omit<S3StoreOptions, 'endpoint' | 'credentials'>): S3Store;
  close(): Promise<void>;
}

/*
 * s3rver runs in a child process: its ListObjectsV2 continuation tokens are DES-encrypted, which
 * OpenSSL 3 (Node ≥ 17) refuses unless the legacy provider is loaded, and that can only be chosen at
 * process start. The child exits when its stdin closes, so it never outlives the test process.
 */
const CHILD = `
const S3rver = require(process.env.S3RVER_MODULE);
const server = new S3rver({ port: 0, address: '127.0.0.1', directory: process.env.S3RVER_DIR, silent: true,
  configureBuckets: [{ name: process.env.S3RVER_BUCKET, configs: [] }] });
server.run().then((a) => process.stdout.write(JSON.stringify({ port: a.port }) + '\\n'),
  (err) => { console.error(err); process.exit(1); });
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

/** Starts s3rver on 127.0.0.1 (a free port) over a temporary folder, with one bucket. */
export async function startS3rver(): Promise<S3rverHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'ecluse-s3rver-'));
  const bucket = 'lake';
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD], {
    env: { ...process.env, S3RVER_MODULE: createRequire(import.meta.url).resolve('s3rver'), S3RVER_DIR: dir, S3RVER_BUCKET: bucket },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([once(lines, 'line').then(([line]) => line as string), exited.then(() => null)]);
  lines.close();
  if (first === null) throw new Error(`s3rver exited with code ${String(child.exitCode)} before listening`);
  const { port } = JSON.parse(first) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  // As S3Store does: the SDK's warning that its 2027 releases need Node 22 is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
  const stores: S3Store[] = [];
  let buckets = 0;
  return {
    endpoint,
    bucket,
    credentials: S3RVER_CREDENTIALS,
    async newBucket() {
      const name = `bucket-${++buckets}`;
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    store(options) {
      const s = new S3Store({ ...options, endpoint, credentials: S3RVER_CREDENTIALS });
      stores.push(s);
      return s;
    },
    async close() {
      for (const s of stores) s.close();
      client.destroy();
      child.stdin.end();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
