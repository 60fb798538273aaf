import type { Config } from '../config/config.js';
import { FolderStore } from './folderStore.js';
import type { ObjectStore } from './objectStore.js';

/** Raised when the lake location cannot be used as configured. */
export class LakeConfigError extends Error {
  override name = 'LakeConfigError';
}

/** The lake named by the configuration: a folder, or (soon) `s3://bucket/prefix`. */
export function openLake(config: Config): ObjectStore {
  if (config.lake.startsWith('s3://')) {
    throw new LakeConfigError(`ECLUSE_LAKE=${config.lake}: S3 lakes are not supported yet; use a folder`);
  }
  return new FolderStore(config.lake);
}
