/**
 * Runs jobs one at a time, in arrival order. The embedded warehouse has one write connection, and two
 * runs interleaving their transactions on it would mix their data.
 */
export class RunQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** Jobs waiting or running, this one excluded, at the time it was queued. */
  get length(): number {
    return this.pending;
  }

  push<T>(job: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(job).finally(() => {
      this.pending--;
    });
    // The next job waits for this one whatever its outcome.
    this.tail = result.catch(() => {});
    return result;
  }

  /** Resolves when every queued job has finished. */
  async drain(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}
