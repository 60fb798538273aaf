import { ConfigError, loadConfig, type Config } from '../config/config.js';
import type { PipelineConfig } from './kit/settings.js';
import { PIPELINES } from './index.js';
import { STREAM_PIPELINES } from './streams.js';

/** What the check needs of a pipeline, run or stream. */
interface Configurable {
  name: string;
  config?: PipelineConfig<unknown>;
}

/**
 * Checks every section of `pipelines` against the pipeline it names: an unknown name, a section for a
 * pipeline that takes no settings, or a section its schema refuses is a ConfigError naming the file and
 * the path. Done at startup, so that a mistake stops the command instead of failing a run hours later.
 */
export function validatePipelineConfigs(config: Config, pipelines: Iterable<Configurable> = [...PIPELINES.values(), ...STREAM_PIPELINES]): void {
  const byName = new Map([...pipelines].map((p) => [p.name, p]));
  const where = config.source ?? 'environment';
  for (const name of Object.keys(config.pipelines.sections)) {
    const pipeline = byName.get(name);
    if (!pipeline)
      throw new ConfigError(`${where}: invalid configuration: pipelines.${name}: no pipeline is named ${name} (known: ${[...byName.keys()].join(', ')})`);
    if (!pipeline.config) throw new ConfigError(`${where}: invalid configuration: pipelines.${name}: the ${name} pipeline takes no settings`);
  }
  for (const p of byName.values()) p.config?.settings(config);
}

/** `loadConfig` with every pipeline's section validated: what the CLI and the server start from. */
export function loadPlatformConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const config = loadConfig(env, cwd);
  validatePipelineConfigs(config);
  return config;
}
