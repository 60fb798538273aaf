import { rebuildPipeline } from '../orchestrator/runner.js';
import { throughServerOr } from './client.js';
import { printJson } from './format.js';
import { progressReporter } from './progress.js';
import { requirePipeline } from './requirePipeline.js';
import { describeRun } from './summary.js';

export async function rebuildCommand(name: string, opts: { json?: boolean }): Promise<void> {
  const pipeline = requirePipeline(name);
  const progress = progressReporter(!opts.json);
  let summary;
  try {
    summary = await throughServerOr(
      `rebuild ${name}`,
      (server) => server.run(`/pipelines/${encodeURIComponent(name)}/rebuild`, {}, progress.onProgress),
      (platform) => rebuildPipeline(platform, pipeline, progress.onProgress),
    );
  } finally {
    progress.stop();
  }
  if (opts.json) printJson(summary);
  else console.log(describeRun(summary));
  if (summary.status !== 'succeeded') process.exitCode = 1;
}
