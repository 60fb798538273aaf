import cliProgress from 'cli-progress';
import type { BackfillProgress, BackfillSummary } from '../orchestrator/orchestrator.js';
import { feedNamed } from '../pipelines/kit/feeds.js';
import { daysBetween } from '../time/days.js';
import { printJson } from './format.js';
import { openOrchestrator } from './orchestrate.js';
import { CliError } from './platform.js';
import { throughServerOr } from './client.js';
import { requirePipeline } from './requirePipeline.js';

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60
    ? `${s}s`
    : s < 3600
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** done/failed/remaining and ETA on stderr when it is a terminal; silent otherwise. */
function backfillBar(enabled: boolean): { onProgress: (p: BackfillProgress) => void; stop: () => void } {
  if (!enabled || !process.stderr.isTTY) return { onProgress: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'backfill [{bar}] {value}/{total} · {succeeded} done, {failed} failed, {remaining} left · ETA {eta_text}',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: (p) => {
      const payload = { succeeded: p.done, failed: p.failed, remaining: p.remaining, eta_text: p.eta_ms === null ? '?' : duration(p.eta_ms) };
      const value = p.skipped + p.done + p.failed;
      if (!started) {
        bar.start(p.total, value, payload);
        started = true;
      } else bar.update(value, payload);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

export function describeBackfill(s: BackfillSummary): string {
  const lines = [
    `backfill ${s.pipeline} ${s.from}..${s.to}: ${s.partitions} partitions in ${duration(s.duration_ms)}` +
      (s.interrupted ? ' (interrupted: rerun to resume)' : ''),
    `  ${s.succeeded} succeeded, ${s.failed} failed, ${s.cancelled} cancelled, ${s.busy} already running elsewhere, ${s.skipped} skipped (succeeded before; --force to rerun)`,
    s.queued
      ? '  through the PostgreSQL queue (ecluse worker processes)'
      : `  parallel ${s.parallel}` +
        (s.parallel_effective < s.parallel
          ? ` (effective ${s.parallel_effective}${s.parallel_effective === 1 ? ': the embedded warehouse has one writer, runs go one at a time' : ''})`
          : ''),
  ];
  for (const r of s.results.filter((x) => x.status !== 'succeeded' && x.status !== 'skipped')) {
    lines.push(`  ${r.partition} ${r.status}${r.run_id !== null ? ` (run ${r.run_id})` : ''}: ${r.error ?? ''}`);
  }
  return lines.join('\n');
}

/**
 * `ecluse backfill <pipeline> --from --to`: every day a partition, `--parallel` at a time where the
 * warehouse allows it; rerunning resumes (succeeded days are skipped unless `--force`).
 */
export interface BackfillOptions {
  from: string;
  to: string;
  parallel: string;
  force?: boolean;
  /** The feed of a pipeline that fetches several datasets (eco2mix: tr, cons-def). */
  dataset?: string;
  json?: boolean;
}

export async function backfillCommand(name: string, opts: BackfillOptions): Promise<void> {
  const pipeline = requirePipeline(name);
  let feed;
  try {
    daysBetween(opts.from, opts.to);
    feed = feedNamed(pipeline, opts.dataset);
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const parallel = Number(opts.parallel);
  if (!Number.isInteger(parallel) || parallel < 1) throw new CliError(`--parallel ${opts.parallel}: expected a positive integer`, 2);
  const bar = backfillBar(!opts.json);
  const body = { from: opts.from, to: opts.to, parallel, force: opts.force === true, ...(opts.dataset === undefined ? {} : { dataset: opts.dataset }) };
  let summary: BackfillSummary;
  try {
    summary = await throughServerOr(
      `backfill ${name}`,
      (server) => server.backfill(`/pipelines/${encodeURIComponent(name)}/runs`, body, bar.onProgress),
      async (platform) => {
        // Ctrl-C: no new partition starts; those running finish, and a rerun resumes. A second one exits.
        const stop = new AbortController();
        const onSigint = () => {
          if (stop.signal.aborted) process.exit(130);
          process.stderr.write('\necluse: stopping after the partitions in progress (Ctrl-C again to quit now)\n');
          stop.abort();
        };
        process.on('SIGINT', onSigint);
        // Without a server, partitions run here unless ECLUSE_EXECUTION=queue hands them to the workers.
        const { orchestrator, close } = await openOrchestrator(platform, 'local');
        try {
          return await orchestrator.backfill(pipeline, opts.from, opts.to, {
            ...body,
            feed,
            trigger: 'backfill',
            onProgress: bar.onProgress,
            signal: stop.signal,
          });
        } finally {
          process.off('SIGINT', onSigint);
          await close();
        }
      },
    );
  } finally {
    bar.stop();
  }
  if (opts.json) printJson(summary);
  else console.log(describeBackfill(summary));
  if (summary.failed + summary.cancelled + summary.busy > 0 || summary.interrupted) process.exitCode = 1;
}
