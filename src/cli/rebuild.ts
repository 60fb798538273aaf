import { executeRun } from '../orchestrator/runner.js';
import { withPlatform } from './platform.js';
import { printJson } from './format.js';
import { progressReporter } from './progress.js';
import { requirePipeline } from './run.js';
import { describeRun } from './summary.js';

export async function rebuildCommand(name: string, opts: { json?: boolean }): Promise<void> {
  const pipeline = requirePipeline(name);
  const summary = await withPlatform(`rebuild ${name}`, async (platform) => {
    await pipeline.reset(platform);
    const progress = progressReporter(!opts.json);
    try {
      return await executeRun(platform, pipeline, { trigger: 'rebuild', partition: 'rebuild' }, progress.onProgress);
    } finally {
      progress.stop();
    }
  });
  if (opts.json) printJson(summary);
  else console.log(describeRun(summary));
  if (summary.status !== 'succeeded') process.exitCode = 1;
}
