import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client, S3ClientConfig, S3ServiceException } from '@aws-sdk/client-s3';
import { assertSafeKey, ObjectNotFoundError, type ObjectInfo, type ObjectStore } from './objectStore.js';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing `/`; '' or unset for the whole bucket. */
  prefix?: string;
  /** An S3-protocol server (MinIO, s3rver…); AWS itself when unset. */
  endpoint?: string;
  /** `AWS_REGION`, else `us-east-1`. */
  region?: string;
  /** Explicit credentials; unset, the SDK's default chain (environment, profile, instance role). */
  credentials?: S3ClientConfig['credentials'];
  /** Keys per ListObjectsV2 page (S3 serves at most 1000); tests lower it to cross page boundaries. */
  listPageSize?: number;
  /** Keys per DeleteObjects call (S3 accepts at most 1000). */
  deleteBatchSize?: number;
  /** Where `withLocalFile` downloads to; the OS temporary folder when unset. */
  tmpDir?: string;
}

const MAX_BATCH = 1000;

/** Reads of one object whose body breaks mid-transfer before the failure is the caller's. */
const BODY_ATTEMPTS = 3;

type Sdk = typeof import('@aws-sdk/client-s3') & Pick<typeof import('@aws-sdk/lib-storage'), 'Upload'>;

/**
 * The AWS SDK, loaded on first use: importing it costs every command a few hundred ms of start-up (the
 * lake is opened by all of them), and with a folder lake most never touch S3.
 */
let loading: Promise<Sdk> | undefined;
let loaded: Sdk | undefined;

function loadSdk(): Promise<Sdk> {
  loading ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]).then(([s3, storage]) => (loaded = { ...s3, Upload: storage.Upload }));
  return loading;
}

/** An error the SDK raised (it is loaded by then: only its calls raise them). */
function isServiceError(err: unknown): err is S3ServiceException {
  return loaded !== undefined && err instanceof loaded.S3ServiceException;
}

/**
 * The lake on S3 or any S3-protocol store.
 *
 * Nothing is half-published: S3 makes an object visible only when its single PutObject or its
 * CompleteMultipartUpload succeeds, and replaces an existing object atomically, so a reader sees the
 * old object or the new one, never a part. There is no temporary name to rename (S3 has no rename);
 * a failed upload must only leave no parts behind, which `upload` sees to.
 */
export class S3Store implements ObjectStore {
  readonly bucket: string;
  /** Prefix of every object of this store inside the bucket: '' or ending with '/'. */
  private readonly root: string;
  private readonly clientConfig: S3ClientConfig;
  private client: S3Client | undefined;
  private readonly listPageSize: number;
  private readonly deleteBatchSize: number;
  private readonly tmpDir: string | undefined;

  constructor(options: S3StoreOptions) {
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix !== '') assertSafeKey(prefix);
    this.bucket = options.bucket;
    this.root = prefix === '' ? '' : `${prefix}/`;
    this.listPageSize = Math.min(options.listPageSize ?? MAX_BATCH, MAX_BATCH);
    this.deleteBatchSize = Math.min(options.deleteBatchSize ?? MAX_BATCH, MAX_BATCH);
    this.tmpDir = options.tmpDir;
    // The SDK warns on every process start that its releases from 2027 will need Node 22; ecluse pins
    // its SDK version and supports Node 20, so that warning is noise on every CLI command's stderr.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.clientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // Checksums only where S3 requires them: S3-protocol servers (s3rver, older MinIO) reject or
      // mishandle the flexible checksums the SDK would otherwise add to every request.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
  }

  /** The SDK and this store's client, both made on first use. */
  private async s3(): Promise<{ sdk: Sdk; client: S3Client }> {
    const sdk = await loadSdk();
    this.client ??= new sdk.S3Client(this.clientConfig);
    return { sdk, client: this.client };
  }

  get location(): string {
    return `s3://${this.bucket}${this.root === '' ? '' : `/${this.root.slice(0, -1)}`}`;
  }

  /** Releases the client's sockets; the store is unusable afterwards. */
  close(): void {
    this.client?.destroy();
    this.client = undefined;
  }

  private objectKey(key: string): string {
    assertSafeKey(key);
    return this.root + key;
  }

  /** The object prefix of a listing or deletion: like the folder store, `prefix` names a folder. */
  private folderPrefix(prefix: string): string {
    const base = prefix.replace(/\/+$/, '');
    return base === '' ? this.root : `${this.objectKey(base)}/`;
  }

  private url(objectKey: string): string {
    return `s3://${this.bucket}/${objectKey}`;
  }

  /** An error naming the bucket and key; a missing object becomes `ObjectNotFoundError`. */
  private failure(key: string, objectKey: string, err: unknown, note = ''): Error {
    if (isNotFound(err) && !(isServiceError(err) && err.name === 'NoSuchBucket')) {
      return new ObjectNotFoundError(key, this.location, `${this.url(objectKey)}: ${err instanceof Error ? err.name : 'NotFound'}`);
    }
    const reason = isServiceError(err) ? `${err.name}: ${err.message}` : err instanceof Error ? err.message : String(err);
    return new Error(`${this.url(objectKey)}: ${reason}${note}`, { cause: err });
  }

  async putFile(key: string, localPath: string, options: { consume?: boolean } = {}): Promise<void> {
    const objectKey = this.objectKey(key);
    const body = createReadStream(localPath);
    try {
      await this.upload(key, objectKey, body);
    } finally {
      body.destroy();
    }
    // Only once the object is published: on failure the caller still has its file.
    if (options.consume) await rm(localPath, { force: true });
  }

  async putStream(key: string, body: Readable): Promise<void> {
    try {
      await this.upload(key, this.objectKey(key), body);
    } finally {
      // As `pipeline` does for the folder store: a failed upload does not leave the source open.
      body.destroy();
    }
  }

  async putBytes(key: string, body: Uint8Array | string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      // An explicit length: the SDK omits it for an empty body, then warns about streams of unknown length.
      const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
      const { sdk, client } = await this.s3();
      await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: body, ContentLength: length }));
    } catch (err) {
      throw this.failure(key, objectKey, err);
    }
  }

  /**
   * Streams `body` up: one PutObject when it fits in a part, a multipart upload otherwise. A failed
   * multipart upload is aborted here (not by lib-storage, which would then report the abort's error
   * instead of the cause), so it leaves neither an object nor billable parts.
   */
  private async upload(key: string, objectKey: string, body: Readable): Promise<void> {
    const { sdk, client } = await this.s3();
    const upload = new sdk.Upload({ client, params: { Bucket: this.bucket, Key: objectKey, Body: body }, leavePartsOnError: true });
    try {
      await upload.done();
    } catch (err) {
      let note = '';
      if (upload.uploadId) {
        try {
          await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: upload.uploadId }));
        } catch (abortErr) {
          const why = abortErr instanceof Error ? `${abortErr.name}: ${abortErr.message}` : String(abortErr);
          note = ` (aborting multipart upload ${upload.uploadId} failed too, ${why}; its parts stay until a lifecycle rule removes them)`;
        }
      }
      throw this.failure(key, objectKey, err, note);
    }
  }

  private async getObject(key: string, objectKey: string): Promise<Readable> {
    try {
      const { sdk, client } = await this.s3();
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      // In Node the SDK's body is an http.IncomingMessage, a Readable.
      if (!(out.Body instanceof Readable)) throw new Error('response body is not a stream');
      return out.Body;
    } catch (err) {
      throw this.failure(key, objectKey, err);
    }
  }

  getStream(key: string): Promise<Readable> {
    return this.getObject(key, this.objectKey(key));
  }

  async getBytes(key: string): Promise<Buffer> {
    return this.download(key, this.objectKey(key), async (body) => {
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    });
  }

  /**
   * Reads an object's body with `consume`, again from the start if the transfer breaks: the SDK retries a
   * request only until the response's headers arrive, and a connection cut mid-body would fail the run.
   */
  private async download<T>(key: string, objectKey: string, consume: (body: Readable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const body = await this.getObject(key, objectKey);
      try {
        return await consume(body);
      } catch (err) {
        if (attempt >= BODY_ATTEMPTS) throw this.failure(key, objectKey, err, ` (reading its body failed ${attempt} times)`);
      } finally {
        body.destroy();
      }
    }
  }

  /** Downloads (streamed) to a private temporary folder, removed once `fn` settles. */
  async withLocalFile<T>(key: string, fn: (path: string) => Promise<T>): Promise<T> {
    const objectKey = this.objectKey(key);
    const dir = await mkdtemp(join(this.tmpDir ?? tmpdir(), 'ecluse-s3-'));
    try {
      // The key's last segment keeps its extension: readers (and DuckDB) choose the format from it.
      const path = join(dir, key.slice(key.lastIndexOf('/') + 1));
      await this.download(key, objectKey, (body) => pipeline(body, createWriteStream(path)));
      return await fn(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async exists(key: string): Promise<boolean> {
    const objectKey = this.objectKey(key);
    try {
      const { sdk, client } = await this.s3();
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return true;
    } catch (err) {
      // A HEAD response has no body, so a missing bucket also reads as 404 here; list() names it.
      if (isNotFound(err)) return false;
      throw this.failure(key, objectKey, err);
    }
  }

  /** Every object under `prefix`, page after page. */
  private async *objects(prefix: string): AsyncGenerator<{ objectKey: string; info: ObjectInfo }> {
    const objectPrefix = this.folderPrefix(prefix);
    try {
      const { sdk, client } = await this.s3();
      const pages = sdk.paginateListObjectsV2({ client, pageSize: this.listPageSize }, { Bucket: this.bucket, Prefix: objectPrefix });
      for await (const page of pages) {
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined) continue;
          const key = o.Key.slice(this.root.length);
          // Objects this store could not address (console "folder/" markers, `a//b`) are not part of the lake.
          if (!isSafeKey(key)) continue;
          yield { objectKey: o.Key, info: { key, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) } };
        }
      }
    } catch (err) {
      throw this.failure(prefix, objectPrefix, err);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for await (const o of this.objects(prefix)) out.push(o.info);
    // S3 orders by UTF-8 bytes; sort as the folder store does (UTF-16 code units) so both agree.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    try {
      const { sdk, client } = await this.s3();
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    } catch (err) {
      throw this.failure(key, objectKey, err);
    }
  }

  /** Deletes while listing (a continuation token marks a position, so deleting what was listed is safe). */
  async deletePrefix(prefix: string): Promise<void> {
    let batch: string[] = [];
    for await (const o of this.objects(prefix)) {
      batch.push(o.objectKey);
      if (batch.length >= this.deleteBatchSize) {
        await this.deleteBatch(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await this.deleteBatch(batch);
  }

  private async deleteBatch(objectKeys: string[]): Promise<void> {
    const first = objectKeys[0] as string;
    let errors;
    try {
      const { sdk, client } = await this.s3();
      const out = await client.send(
        new sdk.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objectKeys.map((Key) => ({ Key })), Quiet: true } }),
      );
      errors = out.Errors ?? [];
    } catch (err) {
      throw this.failure(first.slice(this.root.length), first, err);
    }
    const e = errors[0];
    if (e)
      throw new Error(
        `${this.url(e.Key ?? first)}: ${e.Code ?? 'error'}: ${e.Message ?? 'not deleted'} (${errors.length} of ${objectKeys.length} objects not deleted)`,
      );
  }
}

function isNotFound(err: unknown): boolean {
  if (!isServiceError(err)) return false;
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404;
}

function isSafeKey(key: string): boolean {
  try {
    assertSafeKey(key);
    return true;
  } catch {
    return false;
  }
}
