import type { Pipeline } from '../pipelines/kit/pipeline.js';
import { pipelineNamed, PIPELINES } from '../pipelines/index.js';
import { CliError } from './platform.js';

/** The pipeline a command names; an unknown name is a usage error (exit 2) listing the known ones. */
export function requirePipeline(name: string): Pipeline {
  const p = pipelineNamed(name);
  if (!p) throw new CliError(`unknown pipeline "${name}" (known: ${[...PIPELINES.keys()].join(', ')})`, 2);
  return p;
}
