import type { z } from 'zod';
import { ConfigError, formatIssues, formatPath, type Config } from '../../config/config.js';

/** An environment variable a pipeline reads: it sets one key of the pipeline's section, and wins over the file. */
export interface EnvSetting {
  /** E.g. `ECLUSE_ODS_URL`. Set but empty, it counts as unset. */
  name: string;
  /** The key of `pipelines.<name>` it sets, validated by the section's schema like the file's value. */
  key: string;
  /** What it is for, as `ecluse pipelines` and `GET /pipelines` show it. */
  description: string;
  /** A token, or a URL that may hold a password: its value is never printed nor logged, errors included. */
  secret?: boolean;
}

/**
 * A pipeline's own configuration: the section `pipelines.<name>` of `ecluse.config.json`, the environment
 * variables that override it, and the typed settings the pipeline's code reads.
 */
export interface PipelineConfig<Settings, Section extends object = Record<string, unknown>> {
  /** The pipeline's name: its section is `pipelines.<name>`. */
  readonly name: string;
  readonly env: readonly EnvSetting[];
  /**
   * The pipeline's settings under `config`: file, then environment, validated once per configuration.
   * Throws a ConfigError naming the file and the path of each problem (or the variable, when it came from one).
   */
  settings(config: Config): Settings;
  /**
   * A copy of `config` in which `values` (keys of the section, as written in the file) win over the file
   * and the environment: an option a command was given for its own runs (`--staging`).
   */
  override(config: Config, values: Partial<Section>): Config;
}

/** Declares a pipeline's configuration; its `resolve` turns the validated section into settings (defaults, derived values). */
export function pipelineConfig<Schema extends z.ZodType<object, Record<string, unknown>>, Settings>(spec: {
  name: string;
  /** The section's schema: better `.strict()`, so that a misspelt key is an error rather than ignored. */
  schema: Schema;
  env?: readonly EnvSetting[];
  resolve: (section: z.output<Schema>) => Settings;
}): PipelineConfig<Settings, z.input<Schema>> {
  const { name, schema, resolve } = spec;
  const env = spec.env ?? [];
  // Keyed by the Config object: every run of a configuration shares one validation, and a copy (override) gets its own.
  const cache = new WeakMap<Config, Settings>();
  return {
    name,
    env,
    settings(config) {
      if (cache.has(config)) return cache.get(config) as Settings;
      const raw: Record<string, unknown> = { ...config.pipelines.sections[name] };
      const fromEnv = new Map<string, EnvSetting>();
      for (const e of env) {
        const value = config.pipelines.env(e.name);
        if (value === undefined || value === '') continue;
        raw[e.key] = value;
        fromEnv.set(e.key, e);
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        const details = parsed.error.issues.map((issue) => {
          const [key, ...rest] = issue.path;
          const variable = typeof key === 'string' ? fromEnv.get(key) : undefined;
          if (variable) return `${variable.name} (sets pipelines.${name}.${variable.key}): ${issue.message}`;
          const moved = typeof key === 'string' ? config.pipelines.movedFrom.get(`${name}.${key}`) : undefined;
          if (moved) return `${formatPath([moved, ...rest])} (deprecated: write pipelines.${name}.${String(key)}): ${issue.message}`;
          return formatIssues([issue], ['pipelines', name]);
        });
        throw new ConfigError(`${config.source ?? 'environment'}: invalid configuration: ${details.join('; ')}`);
      }
      const settings = resolve(parsed.data);
      cache.set(config, settings);
      return settings;
    },
    override(config, values) {
      const keys = new Set(Object.keys(values));
      // The variables that set these keys are hidden from the copy: the values given win over them.
      const hidden = new Set(env.filter((e) => keys.has(e.key)).map((e) => e.name));
      const { sections, movedFrom, env: read } = config.pipelines;
      return {
        ...config,
        pipelines: {
          sections: { ...sections, [name]: { ...sections[name], ...values } },
          movedFrom: new Map([...movedFrom].filter(([path]) => ![...keys].some((k) => path === `${name}.${k}`))),
          env: (variable) => (hidden.has(variable) ? undefined : read(variable)),
        },
      };
    },
  };
}

/** A pipeline's environment variables as `ecluse pipelines` and `GET /pipelines` list them: names, never values. */
export function pipelineEnv(
  pipeline: { config?: PipelineConfig<unknown> },
  config: Config,
): { name: string; sets: string; description: string; secret: boolean; set: boolean }[] {
  const spec = pipeline.config;
  if (!spec) return [];
  return spec.env.map((e) => {
    const value = config.pipelines.env(e.name);
    return {
      name: e.name,
      sets: `pipelines.${spec.name}.${e.key}`,
      description: e.description,
      secret: e.secret === true,
      set: value !== undefined && value !== '',
    };
  });
}
