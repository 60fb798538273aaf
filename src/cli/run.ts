import { resolve } from 'node:path';
import { executeRun } from '../orchestrator/runner.js';
import type { Pipeline, Platform } from '../pipelines/kit/pipeline.js';
import { PIPELINES } from '../pipelines/index.js';
import { feedNamed } from '../pipelines/kit/feeds.js';
import { daysBetween, defaultPartition } from '../time/days.js';
import type { BackfillSummary } from '../orchestrator/orchestrator.js';
// The orchestrator and backfill modules (and the run queue behind them) load only for runs that need them: a
// `run stations --input` pays for neither at start-up.
import { redactUrl } from '../observability/redact.js';
import { CliError } from './platform.js';
import { throughServerOr } from './client.js';
import { requirePipeline } from './requirePipeline.js';
import { printJson } from './format.js';
import { progressReporter } from './progress.js';
import { describeRun } from './summary.js';

export interface RunOptions {
  input?: string[];
  from?: string;
  to?: string;
  staging?: string;
  /** The feed fetched, for a pipeline that fetches several datasets (eco2mix: tr, cons-def). */
  dataset?: string;
  json?: boolean;
}

/** Flags that only some pipelines or combinations accept: a usage error (exit 2) before any work. */
function checkOptions(name: string, pipeline: Pipeline, opts: RunOptions): void {
  const range = opts.from !== undefined || opts.to !== undefined;
  if (range) {
    if (!pipeline.fetchesDays) throw new CliError(`--from/--to: ${name} has no source to fetch days from; use ecluse backfill ${name} --from … --to …`, 2);
    if (opts.input?.length) throw new CliError('--from/--to fetch days from the source; --input runs files: give one or the other', 2);
    if (opts.from === undefined || opts.to === undefined) throw new CliError('--from and --to go together (days YYYY-MM-DD, both included)', 2);
    try {
      daysBetween(opts.from, opts.to);
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
  }
  if (opts.dataset !== undefined) {
    if (opts.input?.length) throw new CliError('--dataset chooses what is fetched from the source; --input runs files, which say their own dataset', 2);
    try {
      feedNamed(pipeline, opts.dataset);
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
  }
  if (opts.staging !== undefined) {
    const copy = pipeline.stagingCopy;
    const writers = [...PIPELINES.values()].filter((p) => p.stagingCopy).map((p) => p.name);
    if (!copy) throw new CliError(`--staging: ${name} has no staging copy (only ${writers.join(', ')} writes one)`, 2);
    if (!opts.staging.startsWith(`${copy.protocol}//`))
      throw new CliError(`--staging ${redactUrl(opts.staging)}: expected ${copy.protocol}//user:password@host:port/database`, 2);
  }
}

/** The running server reads its own configuration: a URL given here could not reach its runs. */
function refuseStagingThroughServer(pipeline: Pipeline): never {
  throw new CliError(
    `--staging cannot be passed to the running ecluse server: set ${pipeline.stagingCopy?.setting ?? 'the staging URL'} in its configuration, or stop it to run here`,
    2,
  );
}

/** Partition runs read their staging URL from the configuration: the flag overrides it for this command's runs. */
function withStaging(platform: Platform, pipeline: Pipeline, staging: string | undefined): Platform {
  const copy = pipeline.stagingCopy;
  return staging === undefined || !copy ? platform : { ...platform, config: copy.withUrl(platform.config, staging) };
}

/** `run synop --from --to`: a backfill of daily partitions, the MySQL staging of `--staging` included. */
async function runRange(name: string, pipeline: Pipeline, opts: RunOptions & { from: string; to: string }): Promise<void> {
  const [{ backfillCommand, describeBackfill }, { localOrchestrator }] = await Promise.all([import('./backfill.js'), import('./orchestrate.js')]);
  if (opts.staging === undefined) return backfillCommand(name, { from: opts.from, to: opts.to, parallel: '1', dataset: opts.dataset, json: opts.json });
  const staging = opts.staging;
  const summary: BackfillSummary = await throughServerOr(
    `run ${name}`,
    () => refuseStagingThroughServer(pipeline),
    (platform) => localOrchestrator(withStaging(platform, pipeline, staging)).backfill(pipeline, opts.from, opts.to, { parallel: 1, trigger: 'backfill' }),
  );
  if (opts.json) printJson(summary);
  else console.log(describeBackfill(summary));
  if (summary.failed + summary.cancelled + summary.busy > 0 || summary.interrupted) process.exitCode = 1;
}

export async function runCommand(name: string, opts: RunOptions): Promise<void> {
  const pipeline = requirePipeline(name);
  checkOptions(name, pipeline, opts);
  if (opts.from !== undefined && opts.to !== undefined) return runRange(name, pipeline, { ...opts, from: opts.from, to: opts.to });
  const progress = progressReporter(!opts.json);
  // A pipeline fetching several datasets runs its feed's current partition (eco2mix tr: today), others yesterday's.
  const feed = opts.input?.length ? undefined : feedNamed(pipeline, opts.dataset);
  const partition = feed?.partitionAt(new Date()) ?? defaultPartition();
  let summary;
  try {
    summary = await throughServerOr(
      `run ${name}`,
      // The server reads the inputs from its own file system: paths go absolute, from this directory.
      (server) => {
        if (opts.staging !== undefined) refuseStagingThroughServer(pipeline);
        if (feed) return server.run(`/pipelines/${encodeURIComponent(name)}/runs`, { partition }, progress.onProgress);
        return server.run('/runs', { pipeline: name, inputs: opts.input?.map((p) => resolve(p)) }, progress.onProgress);
      },
      async (platform) =>
        pipeline.fetchesDays && !opts.input?.length
          ? // The partition from the source: locked and retried like a scheduled run (a 4xx is not retried).
            (await import('./orchestrate.js'))
              .localOrchestrator(withStaging(platform, pipeline, opts.staging))
              .runPartition(pipeline, partition, 'cli', { progress: progress.onProgress })
          : executeRun(platform, pipeline, { inputs: opts.input, staging: opts.staging, trigger: 'cli' }, progress.onProgress),
    );
  } finally {
    progress.stop();
  }
  if (opts.json) printJson(summary);
  else console.log(describeRun(summary));
  if (summary.status !== 'succeeded') process.exitCode = 1;
}
