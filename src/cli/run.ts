import { resolve } from 'node:path';
import { executeRun } from '../orchestrator/runner.js';
import { pipelineNamed, PIPELINES } from '../pipelines/index.js';
import type { Pipeline } from '../orchestrator/pipeline.js';
import { CliError, throughServerOr } from './platform.js';
import { printJson } from './format.js';
import { progressReporter } from './progress.js';
import { describeRun } from './summary.js';

export function requirePipeline(name: string): Pipeline {
  const p = pipelineNamed(name);
  if (!p) throw new CliError(`unknown pipeline "${name}" (known: ${[...PIPELINES.keys()].join(', ')})`, 2);
  return p;
}

export interface RunOptions {
  input?: string[];
  from?: string;
  to?: string;
  staging?: string;
  json?: boolean;
}

export async function runCommand(name: string, opts: RunOptions): Promise<void> {
  const pipeline = requirePipeline(name);
  const progress = progressReporter(!opts.json);
  let summary;
  try {
    summary = await throughServerOr(
      `run ${name}`,
      // The server reads the inputs from its own file system: paths go absolute, from this directory.
      (server) => server.run('/runs', { pipeline: name, inputs: opts.input?.map((p) => resolve(p)) }, progress.onProgress),
      (platform) => executeRun(platform, pipeline, { inputs: opts.input, trigger: 'cli' }, progress.onProgress),
    );
  } finally {
    progress.stop();
  }
  if (opts.json) printJson(summary);
  else console.log(describeRun(summary));
  if (summary.status !== 'succeeded') process.exitCode = 1;
}
