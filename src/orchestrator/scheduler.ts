import { Cron } from 'croner';
import type { Config } from '../config/config.js';
import type { RunSummary } from '../warehouse/metadata.js';
import { Orchestrator, PartitionBusyError, ProcessStoppingError } from './orchestrator.js';
import { defaultPartition } from '../time/days.js';
import type { Feed, Pipeline, Schedule } from '../pipelines/kit/pipeline.js';

export interface EffectiveSchedule {
  pipeline: string;
  /** The feed it ticks for (a pipeline fetching several datasets), or null for the pipeline's one schedule. */
  feed: string | null;
  cron: string;
  timezone: string;
  enabled: boolean;
  /** `config` when `ecluse.config.json` overrides the pipeline's own. */
  origin: 'pipeline' | 'config';
}

type ScheduleOverride = Config['schedules'][string];

function withOverride(pipeline: string, feed: string | null, own: Schedule, override: ScheduleOverride | undefined): EffectiveSchedule {
  if (override) {
    // `{"enabled": false}` alone disables the pipeline's own schedule, which is still shown.
    const kept = override.cron === undefined;
    return {
      pipeline,
      feed,
      cron: override.cron ?? own.cron,
      timezone: kept ? own.timezone : override.timezone,
      enabled: override.enabled,
      origin: 'config',
    };
  }
  return { pipeline, feed, ...own, enabled: true, origin: 'pipeline' };
}

/**
 * A pipeline's schedules after the configuration's `schedules` override (or disable) them: its one
 * schedule, or one per feed (`<pipeline>:<feed>`; the first feed's also answers to `<pipeline>`).
 */
export function effectiveSchedules(pipeline: Pipeline, config: Config): EffectiveSchedule[] {
  const feeds = pipeline.feeds ?? [];
  if (feeds.length === 0) return [withOverride(pipeline.name, null, pipeline.schedule, config.schedules[pipeline.name])];
  return feeds.map((f, i) =>
    withOverride(pipeline.name, f.name, f.schedule, config.schedules[`${pipeline.name}:${f.name}`] ?? (i === 0 ? config.schedules[pipeline.name] : undefined)),
  );
}

/** A pipeline's first schedule (its only one, or its first feed's), as configured. */
export function effectiveSchedule(pipeline: Pipeline, config: Config): EffectiveSchedule {
  return effectiveSchedules(pipeline, config)[0]!;
}

/** `eco2mix:tr` for a feed's schedule, the pipeline's name otherwise. */
function scheduleName(s: EffectiveSchedule): string {
  return s.feed === null ? s.pipeline : `${s.pipeline}:${s.feed}`;
}

/** The last tick of a schedule strictly before `now`, or null when it never ticked. */
export function lastTickBefore(cron: string, timezone: string, now: Date): Date | null {
  const job = new Cron(cron, { timezone, paused: true });
  try {
    const [tick] = job.previousRuns(2, now).filter((t) => t < now);
    return tick ?? null;
  } finally {
    job.stop();
  }
}

export interface SchedulerOptions {
  /** The clock (tests move it). */
  now?: () => Date;
  log?: (message: string) => void;
}

/**
 * Runs each pipeline's schedule (croner) while the server is up. A tick runs the partition of its day
 * (Europe/Paris). On start, the last tick before now is caught up once if its partition has no succeeded
 * or running run (a server down for a week runs one catch-up, not seven), and runs whose process died are
 * retried.
 */
export class Scheduler {
  private readonly jobs: Cron[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly now: () => Date;
  private readonly log: (message: string) => void;
  private stopped = false;

  constructor(
    private readonly orchestrator: Orchestrator,
    options: SchedulerOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.log = options.log ?? (() => {});
  }

  schedules(): EffectiveSchedule[] {
    return [...this.orchestrator.pipelines.values()].flatMap((p) => effectiveSchedules(p, this.orchestrator.platform.config));
  }

  /** Starts the cron jobs, then (in the background) recovery and catch-up; `stop()` waits for them. */
  start(): void {
    for (const s of this.schedules()) {
      if (!s.enabled) {
        this.log(`schedule of ${scheduleName(s)} disabled by configuration`);
        continue;
      }
      const pipeline = this.orchestrator.pipelines.get(s.pipeline) as Pipeline;
      const feed = this.feedOf(pipeline, s);
      const job = new Cron(s.cron, { timezone: s.timezone, protect: true }, (self: Cron) => {
        const at = self.currentRun() ?? this.now();
        this.track(this.tick(pipeline, at, 'schedule', feed));
      });
      this.jobs.push(job);
      const missing = pipeline.scheduledSource?.(this.orchestrator.platform.config) ?? null;
      this.log(
        `schedule of ${scheduleName(s)}: ${s.cron} (${s.timezone}), next ${job.nextRun()?.toISOString() ?? 'never'}${missing === null ? '' : ` (ticks skipped for now: ${missing})`}`,
      );
    }
    this.track(
      (async () => {
        await this.orchestrator.recoverInterrupted();
        await this.catchUp();
      })(),
    );
  }

  /** Runs the last missed tick of each enabled schedule, once. */
  async catchUp(): Promise<RunSummary[]> {
    const out: RunSummary[] = [];
    const now = this.now();
    for (const s of this.schedules()) {
      if (this.stopped) break;
      if (!s.enabled) continue;
      const tick = lastTickBefore(s.cron, s.timezone, now);
      if (!tick) continue;
      const pipeline = this.orchestrator.pipelines.get(s.pipeline) as Pipeline;
      const feed = this.feedOf(pipeline, s);
      const partition = Scheduler.partitionOf(tick, feed);
      const { items } = await this.orchestrator.platform.warehouse.listRuns({ pipeline: s.pipeline, partition, limit: 10_000 });
      if (items.some((r) => r.status === 'succeeded' || r.status === 'running' || r.status === 'queued')) continue;
      if (this.missingSource(pipeline, partition, 'catch-up')) continue;
      this.log(`catching up ${s.pipeline} [${partition}] (tick of ${tick.toISOString()} missed)`);
      const summary = await this.tick(pipeline, tick, 'catch-up', feed);
      if (summary) out.push(summary);
    }
    return out;
  }

  /**
   * The partition a tick runs: the Europe/Paris day before the tick's day. A daily tick collects the day
   * that has just ended (stations' midnight tick fetches yesterday's InfoClimat reports; synop's 01:00 tick
   * yesterday's observations). A feed's tick runs the partition the feed says (eco2mix's real-time feed: today).
   */
  static partitionOf(tick: Date, feed?: Feed): string {
    return feed ? feed.partitionAt(tick) : defaultPartition(tick);
  }

  private feedOf(pipeline: Pipeline, s: EffectiveSchedule): Feed | undefined {
    return s.feed === null ? undefined : pipeline.feeds?.find((f) => f.name === s.feed);
  }

  /** Runs the partition of a tick; a partition already running elsewhere is left to that run. */
  async tick(pipeline: Pipeline, at: Date, trigger: 'schedule' | 'catch-up', feed?: Feed): Promise<RunSummary | null> {
    const partition = Scheduler.partitionOf(at, feed);
    if (this.stopped || this.orchestrator.stopping) return null;
    if (this.missingSource(pipeline, partition, trigger)) return null;
    try {
      if (this.orchestrator.viaQueue) {
        // The tick only queues the run: a worker takes it.
        const runId = await this.orchestrator.enqueuePartition(pipeline, partition, trigger);
        this.log(`${trigger} of ${pipeline.name} [${partition}] queued for the workers (run ${runId})`);
        return null;
      }
      const s = await this.orchestrator.runPartition(pipeline, partition, trigger);
      this.log(`${trigger} run ${s.run_id} ${pipeline.name} [${partition}]: ${s.status}${s.error ? ` (${s.error})` : ''}`);
      return s;
    } catch (err) {
      if (err instanceof PartitionBusyError) {
        this.log(err.message);
        return null;
      }
      if (err instanceof ProcessStoppingError) return null;
      this.log(`${trigger} run of ${pipeline.name} [${partition}] could not start: ${(err as Error).message}`);
      return null;
    }
  }

  /**
   * Whether the pipeline has no source its schedule may use on its own (said in the log): a source the
   * user did not configure is never reached by a tick.
   */
  private missingSource(pipeline: Pipeline, partition: string, trigger: 'schedule' | 'catch-up'): boolean {
    const missing = pipeline.scheduledSource?.(this.orchestrator.platform.config) ?? null;
    if (missing !== null) this.log(`${trigger} of ${pipeline.name} [${partition}] skipped: ${missing}`);
    return missing !== null;
  }

  private track(p: Promise<unknown>): void {
    const guarded = p.catch((err: unknown) => this.log(`scheduler: ${(err as Error).message}`));
    this.inFlight.add(guarded);
    void guarded.finally(() => this.inFlight.delete(guarded));
  }

  /**
   * Stops the cron jobs and waits for the runs they started; no tick or catch-up starts after it. To end
   * those runs at once rather than after their attempts, stop the orchestrator first.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const j of this.jobs) j.stop();
    this.jobs.length = 0;
    await Promise.allSettled([...this.inFlight]);
  }
}
