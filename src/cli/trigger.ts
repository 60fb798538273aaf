import { PartitionBusyError } from '../orchestrator/orchestrator.js';
import { isPartitionOf } from '../pipelines/kit/feeds.js';
import { defaultPartition } from '../time/days.js';
import { printJson } from './format.js';
import { openOrchestrator } from './orchestrate.js';
import { CliError } from './platform.js';
import { throughServerOr } from './client.js';
import { progressReporter } from './progress.js';
import { requirePipeline } from './requirePipeline.js';
import { describeRun } from './summary.js';

/** `ecluse trigger <pipeline> [--partition DAY]`: runs one partition (default yesterday, Europe/Paris: the day a daily tick collects), with retries. */
export async function triggerCommand(name: string, opts: { partition?: string; json?: boolean }): Promise<void> {
  const pipeline = requirePipeline(name);
  const partition = opts.partition ?? pipeline.feeds?.[0]?.partitionAt(new Date()) ?? defaultPartition();
  if (!isPartitionOf(pipeline, partition)) {
    throw new CliError(
      `--partition ${partition}: expected a day YYYY-MM-DD${pipeline.feeds?.length ? ` or a partition of ${pipeline.name}'s datasets` : ''}`,
      2,
    );
  }
  const progress = progressReporter(!opts.json);
  let summary;
  try {
    summary = await throughServerOr(
      `trigger ${name}`,
      (server) => server.run(`/pipelines/${encodeURIComponent(name)}/runs`, { partition }, progress.onProgress),
      async (platform) => {
        // Without a server, the run happens here unless ECLUSE_EXECUTION=queue hands it to the workers.
        const { orchestrator, close } = await openOrchestrator(platform, 'local');
        try {
          return await orchestrator.submitPartition(pipeline, partition, 'cli', { progress: progress.onProgress });
        } catch (err) {
          if (err instanceof PartitionBusyError) throw new CliError(err.message, 1);
          throw err;
        } finally {
          await close();
        }
      },
    );
  } finally {
    progress.stop();
  }
  if (opts.json) printJson(summary);
  else console.log(describeRun(summary));
  if (summary.status !== 'succeeded') process.exitCode = 1;
}
