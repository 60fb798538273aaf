import { readFileSync, existsSync } from 'node:fs';
import { resolve, join, delimiter } from 'node:path';
import { z } from 'zod';
import { DEFAULT_SQL_LIMITS, type SqlLimits } from '../warehouse/readOnlySql.js';
import { DEFAULT_ZIP_LIMITS, MAX_ENTRY_BYTES_LIMIT, type ZipLimits } from '../engine/readers/zip.js';
import { DEFAULT_TIME_ZONE } from '../time/zones.js';

// `cron` may be left out to disable a schedule (`{"enabled": false}`); an enabled one names its cron.
const scheduleSchema = z
  .object({
    cron: z.string().optional(),
    timezone: z.string().default(DEFAULT_TIME_ZONE),
    enabled: z.boolean().default(true),
  })
  .refine((s) => !s.enabled || s.cron !== undefined, { message: 'cron is required unless enabled is false', path: ['cron'] });

/**
 * Top-level keys that held pipeline settings before pipelines had sections of their own, and where each
 * lives now (pipeline, key of its section). Still read, so that existing files keep working; frozen: a new
 * setting goes in its pipeline's section, never here.
 */
const DEPRECATED_KEYS = {
  stations: ['stations', 'stations'],
  infoclimat_url: ['stations', 'infoclimat_url'],
  ods_url: ['synop', 'ods_url'],
  synop_mysql: ['synop', 'mysql'],
} as const satisfies Record<string, readonly [string, string]>;

const fileSchema = z
  .object({
    /**
     * One section per pipeline, `pipelines.<name>`: validated by that pipeline's own schema once the
     * registry is known (`loadPlatformConfig`), not here, as the base knows no pipeline.
     */
    pipelines: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Deprecated aliases (DEPRECATED_KEYS): validated as the section keys they moved to. */
    stations: z.unknown().optional(),
    schedules: z.record(z.string(), scheduleSchema).default({}),
    retries: z
      .object({
        max_attempts: z.number().int().min(1).default(3),
        backoff_ms: z.number().int().min(0).default(1000),
        /** A run still going after this long is aborted (and retried if attempts remain). */
        timeout_ms: z
          .number()
          .int()
          .min(1000)
          .default(6 * 3600 * 1000),
      })
      .default({ max_attempts: 3, backoff_ms: 1000, timeout_ms: 6 * 3600 * 1000 }),
    home: z.string().optional(),
    lake: z.string().optional(),
    warehouse: z.string().optional(),
    duckdb_memory_limit: z.string().optional(),
    s3_endpoint: z.string().optional(),
    landing: z.string().optional(),
    /** The message broker: `nats://host:port` for NATS JetStream; absent, the embedded broker under `<home>/broker`. */
    broker: z.string().optional(),
    /** Folders whose files `POST /runs` may read, besides a landing folder (see docs/security.md). */
    input_roots: z.array(z.string().min(1)).optional(),
    infoclimat_url: z.unknown().optional(),
    ods_url: z.unknown().optional(),
    synop_mysql: z.unknown().optional(),
    max_upload_mb: z.number().positive().optional(),
    /** Limits of the SQL endpoint (`POST /sql`, `ecluse sql`). */
    sql: z
      .object({ timeout_s: z.number().positive().optional(), max_rows: z.number().int().min(1).optional(), max_mb: z.number().positive().optional() })
      .strict()
      .optional(),
    /** Limits on ZIP archives (zip bombs): entries, MiB per entry and in all, expansion ratio. */
    zip: z
      .object({
        max_entries: z.number().int().positive().optional(),
        max_entry_mb: z.number().positive().optional(),
        max_total_mb: z.number().positive().optional(),
        max_ratio: z.number().positive().optional(),
      })
      .strict()
      .optional(),
    port: z.number().int().min(0).max(65535).optional(),
    host: z.string().optional(),
    /** false: every read of the API needs a token with scope `read` (aggregates included). */
    public_reads: z.boolean().optional(),
    /** Origins allowed to call the API from a browser (CORS); none by default. */
    cors_origins: z.array(z.string().min(1)).optional(),
    rate_limits: z
      .object({
        writes_per_minute: z.number().int().min(1).default(300),
        failed_auth_per_minute: z.number().int().min(1).default(20),
      })
      .default({ writes_per_minute: 300, failed_auth_per_minute: 20 }),
  })
  .strict();
type ConfigFile = z.infer<typeof fileSchema>;

/** The pipelines' sections as written, for each pipeline to validate with its own schema (`pipelines/kit/settings.ts`). */
interface PipelineSections {
  /** `pipelines.<name>` of the file, with the deprecated top-level keys moved into their sections. */
  sections: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Where a moved key came from (`synop.ods_url` → `ods_url`): errors name what the user wrote. */
  movedFrom: ReadonlyMap<string, string>;
  /** Reads the environment the configuration was loaded with (the variables a pipeline declares). */
  env(name: string): string | undefined;
}

export interface Config {
  /** Working folder holding the embedded lake and warehouse. */
  home: string;
  /** Lake location: a folder path (or, later, s3://bucket/prefix). */
  lake: string;
  /** Warehouse location: a DuckDB file path (or, later, postgres://…). */
  warehouse: string;
  schedules: ConfigFile['schedules'];
  retries: ConfigFile['retries'];
  duckdbMemoryLimit: string | undefined;
  /** Endpoint of an S3-protocol server (MinIO, s3rver…) for an `s3://` lake or landing; AWS when unset. */
  s3Endpoint: string | undefined;
  /** Where daily files are dropped for scheduled runs: a folder or `s3://bucket/prefix`. */
  landing: string | undefined;
  /** `ECLUSE_BROKER` (file key `broker`): `nats://host:port`, or undefined for the embedded broker (`stream/open.ts`). */
  broker: string | undefined;
  /**
   * Folders (absolute) whose files the inputs of an API run (`POST /runs`) may be, besides the landing
   * folder: `input_roots` of the file, or `ECLUSE_INPUT_ROOTS` (path-delimited), which replaces it.
   */
  inputRoots: string[];
  /** Token of the API's write endpoints (secret: never logged). */
  apiToken: string | undefined;
  /** Each pipeline's own settings, unvalidated: read them with the pipeline's `PipelineConfig.settings(config)`. */
  pipelines: PipelineSections;
  maxUploadBytes: number;
  /** Limits of the SQL endpoint: statement timeout, rows and bytes of an answer. */
  sqlLimits: SqlLimits;
  /** PostgreSQL login of the SQL endpoint's read-only role (secret: may hold a password); derived when unset. */
  warehouseReader: string | undefined;
  /** What one ZIP archive may hold and expand to (ECLUSE_ZIP_*). */
  zipLimits: ZipLimits;
  port: number;
  /** Interface `ecluse up` listens on: loopback unless asked otherwise. */
  host: string;
  /** Whether aggregates (stations, curated statistics, run summaries, metrics) are readable without a token. */
  publicReads: boolean;
  /** Origins allowed by CORS; empty: CORS off (no browser on another origin may call the API). */
  corsOrigins: string[];
  rateLimits: ConfigFile['rate_limits'];
  /** The file the configuration was read from, if any. */
  source: string | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads `ecluse.config.json` (or `$ECLUSE_CONFIG`) and lets the environment override it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const explicit = env.ECLUSE_CONFIG;
  const path = explicit ? resolve(cwd, explicit) : join(cwd, 'ecluse.config.json');
  let file: ConfigFile = fileSchema.parse({});
  let source: string | null = null;
  if (existsSync(path)) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`${path}: not valid JSON (${(err as Error).message})`);
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) throw new ConfigError(`${path}: invalid configuration: ${formatIssues(parsed.error.issues)}`);
    file = parsed.data;
    source = path;
  } else if (explicit) {
    throw new ConfigError(`ECLUSE_CONFIG names ${path}, which does not exist`);
  }
  const home = resolve(cwd, env.ECLUSE_HOME ?? file.home ?? '.ecluse');
  const lake = env.ECLUSE_LAKE ?? file.lake ?? join(home, 'lake');
  const warehouse = env.ECLUSE_WAREHOUSE ?? file.warehouse ?? join(home, 'warehouse.duckdb');
  return {
    home,
    lake: lake.includes('://') ? lake : resolve(cwd, lake),
    warehouse: warehouse.includes('://') ? warehouse : resolve(cwd, warehouse),
    pipelines: pipelineSections(file, path, env),
    schedules: file.schedules,
    retries: file.retries,
    duckdbMemoryLimit: env.ECLUSE_DUCKDB_MEMORY_LIMIT ?? file.duckdb_memory_limit,
    s3Endpoint: env.ECLUSE_S3_ENDPOINT ?? file.s3_endpoint,
    landing: landingOf(env.ECLUSE_LANDING ?? file.landing, cwd),
    broker: (env.ECLUSE_BROKER ?? file.broker) || undefined,
    inputRoots: inputRootsOf(env.ECLUSE_INPUT_ROOTS, file.input_roots, cwd),
    apiToken: env.ECLUSE_API_TOKEN || undefined,
    maxUploadBytes: numberFrom(env, 'ECLUSE_MAX_UPLOAD_MB', file.max_upload_mb ?? 512) * 1024 * 1024,
    sqlLimits: {
      timeoutMs: numberFrom(env, 'ECLUSE_SQL_TIMEOUT_S', file.sql?.timeout_s ?? DEFAULT_SQL_LIMITS.timeoutMs / 1000) * 1000,
      maxRows: numberFrom(env, 'ECLUSE_SQL_MAX_ROWS', file.sql?.max_rows ?? DEFAULT_SQL_LIMITS.maxRows),
      maxBytes: numberFrom(env, 'ECLUSE_SQL_MAX_MB', file.sql?.max_mb ?? DEFAULT_SQL_LIMITS.maxBytes / 1024 / 1024) * 1024 * 1024,
    },
    warehouseReader: env.ECLUSE_WAREHOUSE_READER || undefined,
    zipLimits: zipLimitsOf(env, file.zip ?? {}),
    port: numberFrom(env, 'PORT', file.port ?? 8080),
    host: env.HOST || file.host || '127.0.0.1',
    publicReads: booleanFrom(env, 'ECLUSE_PUBLIC_READS', file.public_reads ?? true),
    corsOrigins:
      env.ECLUSE_CORS_ORIGINS !== undefined
        ? env.ECLUSE_CORS_ORIGINS.split(',')
            .map((o) => o.trim())
            .filter(Boolean)
        : (file.cors_origins ?? []),
    rateLimits: file.rate_limits,
    source,
  };
}

/** `a.b[0].c`: a path as a user finds it in the JSON. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

/** zod's issues as one line; messages only, never the values (which may be secrets). */
export function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[], prefix: readonly PropertyKey[] = []): string {
  return issues.map((i) => `${formatPath([...prefix, ...i.path]) || '(root)'}: ${i.message}`).join('; ');
}

function pipelineSections(file: ConfigFile, path: string, env: NodeJS.ProcessEnv): PipelineSections {
  const sections: Record<string, Record<string, unknown>> = {};
  for (const [name, section] of Object.entries(file.pipelines)) sections[name] = { ...section };
  const movedFrom = new Map<string, string>();
  for (const [key, [pipeline, setting]] of Object.entries(DEPRECATED_KEYS)) {
    const value = file[key as keyof typeof DEPRECATED_KEYS];
    if (value === undefined) continue;
    const section = (sections[pipeline] ??= {});
    // Two places for one setting would leave the reader guessing which one counts.
    if (setting in section)
      throw new ConfigError(`${path}: both ${key} (deprecated) and pipelines.${pipeline}.${setting} are set: keep pipelines.${pipeline}.${setting}`);
    section[setting] = value;
    movedFrom.set(`${pipeline}.${setting}`, key);
  }
  // A copy: the variables are read when a pipeline asks, and must be those this configuration was loaded with.
  const vars = { ...env };
  return { sections, movedFrom, env: (name) => vars[name] };
}

function landingOf(value: string | undefined, cwd: string): string | undefined {
  if (!value) return undefined;
  return value.includes('://') ? value : resolve(cwd, value);
}

function booleanFrom(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(`${name}=${env[name]}: expected true or false`);
}

function inputRootsOf(fromEnv: string | undefined, fromFile: string[] | undefined, cwd: string): string[] {
  const roots = fromEnv !== undefined ? fromEnv.split(delimiter).filter((r) => r !== '') : (fromFile ?? []);
  const remote = roots.find((r) => r.includes('://'));
  if (remote !== undefined) throw new ConfigError(`input root ${remote}: input roots are folders of the server's machine, not URLs`);
  return roots.map((r) => resolve(cwd, r));
}

function numberFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${name}=${raw}: expected a non-negative number`);
  return n;
}

function zipLimitsOf(env: NodeJS.ProcessEnv, file: NonNullable<ConfigFile['zip']>): ZipLimits {
  const d = DEFAULT_ZIP_LIMITS;
  const MiB = 1024 * 1024;
  const positive = (name: string, fallback: number) => {
    const n = numberFrom(env, name, fallback);
    if (n === 0) throw new ConfigError(`${name}=0: expected a positive number`);
    return n;
  };
  const maxEntryBytes = Math.floor(positive('ECLUSE_ZIP_MAX_ENTRY_MB', file.max_entry_mb ?? d.maxEntryBytes / MiB) * MiB);
  if (maxEntryBytes > MAX_ENTRY_BYTES_LIMIT) {
    throw new ConfigError(
      `ECLUSE_ZIP_MAX_ENTRY_MB (zip.max_entry_mb) = ${maxEntryBytes / MiB}: at most ${MAX_ENTRY_BYTES_LIMIT / MiB}, as a ZIP entry is read in memory; deliver larger files unzipped`,
    );
  }
  return {
    maxEntries: Math.max(1, Math.floor(positive('ECLUSE_ZIP_MAX_ENTRIES', file.max_entries ?? d.maxEntries))),
    maxEntryBytes,
    maxTotalBytes: Math.floor(positive('ECLUSE_ZIP_MAX_TOTAL_MB', file.max_total_mb ?? d.maxTotalBytes / MiB) * MiB),
    maxRatio: positive('ECLUSE_ZIP_MAX_RATIO', file.max_ratio ?? d.maxRatio),
  };
}
