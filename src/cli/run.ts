import { executeRun } from '../orchestrator/runner.js';
import { pipelineNamed, PIPELINES } from '../pipelines/index.js';
import type { Pipeline } from '../orchestrator/pipeline.js';
import { CliError, withPlatform } from './platform.js';
import { printJson } from './format.js';
import { progressReporter } from './progress.js';
import { describeRun } from './summary.js';

export function requirePipeline(name: string): Pipeline {
  const p = pipelineNamed(name);
  if (!p) throw new CliError(`unknown pipeline "${name}" (known: ${[...PIPELINES.keys()].join(', ')})`, 2);
  return p;
}

export async function runCommand(name: string, opts: { input?: string[]; json?: boolean }): Promise<void> {
  const pipeline = requirePipeline(name);
  const summary = await withPlatform(`run ${name}`, async (platform) => {
    const progress = progressReporter(!opts.json);
    try {
      return await executeRun(platform, pipeline, { inputs: opts.input, trigger: 'cli' }, progress.onProgress);
    } finally {
      progress.stop();
    }
  });
  if (opts.json) printJson(summary);
  else console.log(describeRun(summary));
  if (summary.status !== 'succeeded') process.exitCode = 1;
}
