import { randomUUID } from 'node:crypto';
import type { RunSummary } from '../warehouse/metadata.js';
import type { RunLock } from '../warehouse/runLocks.js';
import type { Warehouse } from '../warehouse/warehouse.js';
import type { NextRunStart } from './runner.js';

/** How one partition of a backfill ended, run here or by a worker of the queue. */
export interface BackfillResult {
  partition: string;
  status: RunSummary['status'] | 'skipped' | 'busy';
  run_id: number | null;
  attempt: number | null;
  error: string | null;
}

/** A partition a backfill slot has taken for its next run: its lock held if it could be, its run maybe recorded. */
export interface ClaimedPartition {
  partition: string;
  /** Null when it was not free: the slot then runs it the usual way (and reports it busy). */
  lock: RunLock | null;
  /** Its `running` row, committed with the previous run; null when that transaction rolled back. */
  runId: number | null;
  /** Aborts the claimed run before it starts (a cancel that arrives between the two runs). */
  controller: AbortController;
}

/** The days of a backfill not taken yet, shared by its slots. */
export interface DayCursor {
  peek(): string | undefined;
  take(): string | undefined;
}

/**
 * One backfill slot's NextRunStart: at the commit of the slot's run, takes the backfill's next day, holds
 * its lock and records its `running` row in that same transaction. The slot then runs that day with the
 * row already there: one commit per run. Nothing is taken once the backfill is stopped. A day whose lock is
 * held elsewhere is taken without it, and the slot then runs it the usual way (and reports it busy).
 */
export class BackfillChain implements NextRunStart {
  private claimed: ClaimedPartition | undefined;
  /** The run's transaction may have committed or not: the row is looked up before it is used. */
  private uncertain = false;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly pipeline: string,
    private readonly trigger: string,
    private readonly days: DayCursor,
    private readonly lockTtlMs: number,
    private readonly stopped: () => boolean,
    /** Told of the run recorded for the claimed day as soon as it is written, so that a cancel finds it. */
    private readonly onRecorded: (claimed: ClaimedPartition) => void = () => {},
    /** Told when that run turned out not to exist (its transaction rolled back). */
    private readonly onDropped: (runId: number) => void = () => {},
  ) {}

  async start(): Promise<void> {
    if (!this.claimed) {
      if (this.days.peek() === undefined || this.stopped()) return;
      // Taken before the lock is asked for (an await): another slot cannot take the same day meanwhile.
      const day = this.days.take() as string;
      this.claimed = { partition: day, lock: null, runId: null, controller: new AbortController() };
      const lock: RunLock = { pipeline: this.pipeline, partition: day, owner: randomUUID() };
      const got = await this.warehouse.acquireRunLock(lock, this.lockTtlMs);
      if (!got.acquired) return;
      if (got.tookOverFrom) {
        // Its holder died: the usual path marks that holder's run failed first.
        await this.warehouse.releaseRunLock(lock);
        return;
      }
      this.claimed.lock = lock;
    }
    if (this.claimed.lock === null) return;
    if (this.claimed.runId !== null && this.uncertain) {
      // A previous attempt's transaction may have committed the row after all: not recorded twice.
      const run = await this.warehouse.getRun(this.claimed.runId);
      this.uncertain = false;
      if (run?.status === 'running') return;
    }
    this.dropRun();
    this.claimed.runId = await this.warehouse.startRun(this.pipeline, this.claimed.partition, this.trigger, 1);
    // Registered before its commit: a cancel between the two runs then stops it before it starts.
    this.onRecorded(this.claimed);
  }

  settle(committed: boolean | null): void {
    if (!this.claimed) return;
    if (committed === false) this.dropRun();
    this.uncertain = committed === null;
  }

  /** The claimed day's run record does not exist (rolled back): forgotten, with any cancel aimed at it. */
  private dropRun(): void {
    if (!this.claimed || this.claimed.runId === null) return;
    this.onDropped(this.claimed.runId);
    this.claimed.runId = null;
    this.claimed.controller = new AbortController();
  }

  /** The day taken for the slot's next run, if any (then forgotten: the next run gets a new chain). */
  async take(): Promise<ClaimedPartition | undefined> {
    const claimed = this.claimed;
    this.claimed = undefined;
    if (claimed && this.uncertain && claimed.runId !== null) {
      const run = await this.warehouse.getRun(claimed.runId).catch(() => null);
      if (run?.status !== 'running') {
        this.claimed = claimed;
        this.dropRun();
        this.claimed = undefined;
      }
    }
    return claimed;
  }
}
