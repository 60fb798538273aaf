import type { Config } from '../config/config.js';
import { FolderStore } from './folderStore.js';
import { assertSafeKey, type ObjectStore } from './objectStore.js';
import { S3Store } from './s3Store.js';

/** Raised when the lake location cannot be used as configured. */
export class LakeConfigError extends Error {
  override name = 'LakeConfigError';
}

export interface S3Location {
  bucket: string;
  /** Without leading or trailing `/`; '' for the whole bucket. */
  prefix: string;
}

/** S3 bucket naming rules (general-purpose buckets): 3–63 of a-z 0-9 . -, alphanumeric at both ends. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses `s3://bucket[/prefix][/]` strictly. Credentials, queries, fragments and escapes are refused
 * rather than guessed at: credentials come from the SDK's chain (AWS_ACCESS_KEY_ID…), never the URL.
 */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(url);
  if (!m) throw new LakeConfigError(`${JSON.stringify(url)} is not an s3://bucket/prefix URL`);
  const bucket = m[1] as string;
  if (bucket.includes('@')) {
    // Do not echo the URL: what precedes '@' may be a secret.
    throw new LakeConfigError('an s3:// URL must not hold credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead');
  }
  if (/[?#%\s\\]/.test(url)) throw new LakeConfigError(`${JSON.stringify(url)}: no query, fragment, escape or whitespace allowed in an s3:// URL`);
  if (bucket === '') throw new LakeConfigError(`${JSON.stringify(url)}: the bucket is missing (s3://bucket/prefix)`);
  if (!BUCKET.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new LakeConfigError(`${JSON.stringify(url)}: ${JSON.stringify(bucket)} is not a valid bucket name (3–63 of a-z 0-9 . -)`);
  }
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '') {
    try {
      assertSafeKey(prefix);
    } catch {
      throw new LakeConfigError(`${JSON.stringify(url)}: the prefix ${JSON.stringify(prefix)} has an empty, '.' or '..' segment`);
    }
  }
  return { bucket, prefix };
}

/** Is `location` a URL rather than a folder path? The same test as `loadConfig`, which resolves paths only. */
function isUrl(location: string): boolean {
  return location.includes('://');
}

/**
 * The object store at `location`: a folder path, or `s3://bucket/prefix` (on `s3Endpoint` when given,
 * AWS otherwise). Shared by the lake and by sources that read an `s3://` landing location.
 */
export function openStore(location: string, s3Endpoint?: string): ObjectStore {
  // An empty ECLUSE_S3_ENDPOINT= means "not set": AWS itself.
  if (s3Endpoint === '') s3Endpoint = undefined;
  if (!isUrl(location)) return new FolderStore(location);
  if (!location.startsWith('s3://')) {
    // Only the scheme is echoed: the rest of an unknown URL may hold credentials.
    const scheme = location.slice(0, location.indexOf('://'));
    throw new LakeConfigError(`${JSON.stringify(scheme)}:// locations are not supported; use a folder or s3://bucket/prefix`);
  }
  const { bucket, prefix } = parseS3Url(location);
  if (s3Endpoint !== undefined) {
    let endpoint: URL;
    try {
      endpoint = new URL(s3Endpoint);
    } catch {
      throw new LakeConfigError(`ECLUSE_S3_ENDPOINT=${JSON.stringify(s3Endpoint)} is not a URL (e.g. http://127.0.0.1:9000)`);
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
      throw new LakeConfigError(`ECLUSE_S3_ENDPOINT must be an http:// or https:// URL, not ${endpoint.protocol}//`);
    }
    if (endpoint.username || endpoint.password) {
      throw new LakeConfigError('ECLUSE_S3_ENDPOINT must not hold credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead');
    }
  }
  return new S3Store({ bucket, prefix, ...(s3Endpoint !== undefined ? { endpoint: s3Endpoint } : {}) });
}

/** The lake named by the configuration: a folder, or `s3://bucket/prefix`. */
export function openLake(config: Config): ObjectStore {
  try {
    return openStore(config.lake, config.s3Endpoint);
  } catch (err) {
    if (err instanceof LakeConfigError) throw new LakeConfigError(`lake: ${err.message}`);
    throw err;
  }
}
