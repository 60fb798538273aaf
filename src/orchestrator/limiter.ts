/**
 * Runs jobs with at most `concurrency` at a time, in arrival order. The embedded warehouse has one write
 * connection, and two runs interleaving their transactions on it would mix their data: there it is 1.
 */
export class Limiter {
  private active = 0;
  private pending = 0;
  private readonly waiting: (() => void)[] = [];
  private idle: Promise<void> = Promise.resolve();
  private resolveIdle: (() => void) | null = null;

  constructor(readonly concurrency = 1) {
    if (!(concurrency >= 1)) throw new RangeError(`concurrency must be at least 1, got ${concurrency}`);
  }

  /** Jobs waiting or running at this moment. */
  get length(): number {
    return this.pending;
  }

  async push<T>(job: () => Promise<T>): Promise<T> {
    if (this.pending++ === 0) this.idle = new Promise((r) => (this.resolveIdle = r));
    try {
      // A finishing job hands its slot straight to the next waiter, so a newcomer cannot slip in between.
      if (this.active >= this.concurrency) await new Promise<void>((r) => this.waiting.push(r));
      else this.active++;
      try {
        return await job();
      } finally {
        const next = this.waiting.shift();
        if (next) next();
        else this.active--;
      }
    } finally {
      if (--this.pending === 0) this.resolveIdle?.();
    }
  }

  /** Resolves when every queued job has finished. */
  async drain(): Promise<void> {
    while (this.pending > 0) await this.idle;
  }
}
