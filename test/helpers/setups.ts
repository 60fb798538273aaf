import { after } from 'node:test';
import { basename } from 'node:path';
import { startS3rver, type S3rverHandle } from './s3.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from './warehouses.js';

export type LakeKind = 'folder' | 's3';

/** A combination of warehouse and lake a suite runs on: each kind of each part is covered by one of them. */
export interface Setup {
  name: string;
  warehouse: WarehouseKind;
  lake: LakeKind;
}

export const SETUPS: readonly Setup[] = [
  { name: 'DuckDB + folder lake', warehouse: 'duckdb', lake: 'folder' },
  { name: 'PostgreSQL + S3 lake (s3rver)', warehouse: 'postgres', lake: 's3' },
];

export async function skipSetup(setup: Setup): Promise<string | false> {
  return skipUnless(setup.warehouse);
}

/**
 * The environment variables that put a home on a setup's warehouse and lake. Call inside a suite: it starts
 * s3rver on first use and registers the clean-up (s3rver, PostgreSQL schemas) for the end of the file.
 */
export function setupEnv(setup: Setup): (home: string) => Promise<Record<string, string>> {
  const homes: string[] = [];
  let s3: Promise<S3rverHandle> | undefined;
  after(async () => {
    await dropSchemas(homes);
    if (s3) await (await s3).close();
  });
  return async (home) => {
    if (!homes.includes(home)) homes.push(home);
    const env: Record<string, string> = {};
    const wh = warehouseFor(setup.warehouse, home);
    if (wh) env.ECLUSE_WAREHOUSE = wh;
    if (setup.lake === 's3') {
      s3 ??= startS3rver();
      const server = await s3;
      env.ECLUSE_LAKE = `s3://${server.bucket}/${basename(home).toLowerCase()}`;
      env.ECLUSE_S3_ENDPOINT = server.endpoint;
      env.AWS_ACCESS_KEY_ID = server.credentials.accessKeyId;
      env.AWS_SECRET_ACCESS_KEY = server.credentials.secretAccessKey;
      env.AWS_REGION = 'us-east-1';
      // In-process platforms take credentials from this process's environment.
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY, AWS_REGION: 'us-east-1' });
    }
    return env;
  };
}
