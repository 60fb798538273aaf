import { readFileSync, existsSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { z } from 'zod';

/** A station whose metadata is not in its data files (Weather Underground) or that we want to describe ourselves. */
export const stationConfigSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  city: z.string(),
  country: z.string().length(2).optional(),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  elevation_m: z.number().nullable().default(null),
  type: z.string().default('wunderground'),
  hardware: z.string().nullable().default(null),
  software: z.string().nullable().default(null),
  timezone: z.string().default('Europe/Paris'),
  license: z.string().nullable().default(null),
});
export type StationConfig = z.infer<typeof stationConfigSchema>;

const scheduleSchema = z.object({
  cron: z.string(),
  timezone: z.string().default('Europe/Paris'),
  enabled: z.boolean().default(true),
});

const fileSchema = z
  .object({
    stations: z.array(stationConfigSchema).optional(),
    schedules: z.record(z.string(), scheduleSchema).default({}),
    retries: z
      .object({ max_attempts: z.number().int().min(1).default(3), backoff_ms: z.number().int().min(0).default(1000) })
      .default({ max_attempts: 3, backoff_ms: 1000 }),
    home: z.string().optional(),
    lake: z.string().optional(),
    warehouse: z.string().optional(),
    duckdb_memory_limit: z.string().optional(),
  })
  .strict();
export type ConfigFile = z.infer<typeof fileSchema>;

/** The two amateur stations GreenAndCoop integrates; their metadata is not in the WU exports. */
export const DEFAULT_WU_STATIONS: StationConfig[] = [
  {
    id: 'IICHTE19',
    name: 'WeerstationBS',
    city: 'Ichtegem',
    country: 'BE',
    latitude: 51.092,
    longitude: 2.999,
    elevation_m: 15,
    type: 'wunderground',
    hardware: 'other',
    software: 'EasyWeatherV1.6.6',
    timezone: 'Europe/Brussels',
    license: null,
  },
  {
    id: 'ILAMAD25',
    name: 'La Madeleine',
    city: 'La Madeleine',
    country: 'FR',
    latitude: 50.659,
    longitude: 3.07,
    elevation_m: 23,
    type: 'wunderground',
    hardware: 'other',
    software: 'EasyWeatherPro_V5.1.6',
    timezone: 'Europe/Paris',
    license: null,
  },
];

export interface Config {
  /** Working folder holding the embedded lake and warehouse. */
  home: string;
  /** Lake location: a folder path (or, later, s3://bucket/prefix). */
  lake: string;
  /** Warehouse location: a DuckDB file path (or, later, postgres://…). */
  warehouse: string;
  stations: StationConfig[];
  schedules: ConfigFile['schedules'];
  retries: ConfigFile['retries'];
  duckdbMemoryLimit: string | undefined;
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
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new ConfigError(`${path}: invalid configuration: ${details}`);
    }
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
    stations: file.stations ?? DEFAULT_WU_STATIONS,
    schedules: file.schedules,
    retries: file.retries,
    duckdbMemoryLimit: env.ECLUSE_DUCKDB_MEMORY_LIMIT ?? file.duckdb_memory_limit,
    source,
  };
}
