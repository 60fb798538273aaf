import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckSession, literal, type Row } from '../../src/engine/duckdb.js';
import { withLocalFiles } from '../../src/lake/localFiles.js';
import { openStore } from '../../src/lake/open.js';
import type { ObjectStore } from '../../src/lake/objectStore.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { ecluse, spawnEcluse } from './cli.js';
import { withPlatform } from './platform.js';
import { setupEnv, type Setup } from './setups.js';

/**
 * What the crash suites share: homes on one setup, the CLI run in them, a run killed with SIGKILL at a chosen
 * moment, and a look at what the home holds afterwards. Create it inside the suite's `describe` (setupEnv
 * registers its clean-up there).
 */
export interface CrashHarness {
  /** Puts a home on the setup (warehouse schema, lake prefix) and opens its lake, to watch a run's progress. */
  prepare(home: string): Promise<ObjectStore>;
  /** `ecluse <args> --json` in a prepared home; a non-zero exit throws with what it printed. */
  ecluseJson<T = Record<string, unknown>>(home: string, args: string[]): T;
  /** Starts `ecluse <args> --json` and kills it with SIGKILL as soon as `when` says so; true if it was still running then. */
  killDuring(home: string, args: string[], when: () => Promise<boolean>): Promise<boolean>;
  /** Calls `fn` with the home's platform and a DuckDB session (for reading lake partitions), then closes both. */
  inspect<T>(home: string, fn: (p: Platform, engine: DuckSession) => Promise<T>): Promise<T>;
}

export function crashHarness(setup: Setup): CrashHarness {
  const envOf = setupEnv(setup);
  const envs = new Map<string, Record<string, string>>();
  return {
    async prepare(home) {
      const env = await envOf(home);
      envs.set(home, env);
      return openStore(env.ECLUSE_LAKE ?? join(home, 'lake'), env.ECLUSE_S3_ENDPOINT);
    },

    ecluseJson<T>(home: string, args: string[]): T {
      const r = ecluse(home, [...args, '--json'], envs.get(home));
      if (r.status !== 0) throw new Error(`ecluse ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
      return JSON.parse(r.stdout) as T;
    },

    async killDuring(home, args, when) {
      const child = spawnEcluse(home, [...args, '--json'], envs.get(home));
      let exited = false;
      child.on('exit', () => (exited = true));
      const deadline = Date.now() + 60_000;
      while (!exited && Date.now() < deadline && !(await when())) await sleep(2);
      const killed = !exited && child.kill('SIGKILL');
      await new Promise((r) => (exited ? r(null) : child.on('exit', r)));
      return killed;
    },

    async inspect(home, fn) {
      const engine = await DuckSession.open();
      try {
        return await withPlatform(home, (p) => fn(p, engine), envs.get(home));
      } finally {
        engine.close();
      }
    },
  };
}

/** The row count and a hash sum of `cols` over the Parquet objects under `prefix`: equal digests, equal rows. */
export function lakeDigest(engine: DuckSession, lake: ObjectStore, prefix: string, cols: string): Promise<Row[]> {
  return lake.list(prefix).then((objects) =>
    withLocalFiles(
      lake,
      objects.map((o) => o.key),
      (paths) =>
        paths.length
          ? engine.plainRows(`SELECT count(*) AS n, sum(hash(${cols})) AS h FROM read_parquet([${paths.map(literal).join(', ')}], hive_partitioning = false)`)
          : Promise.resolve([]),
    ),
  );
}
