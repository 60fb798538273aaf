import { performance } from 'node:perf_hooks';

/** Peak RSS of this process while `fn` runs (sampled every 20 ms), and how long it took. */
export async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; peak: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const t0 = performance.now();
  try {
    const value = await fn();
    return { value, ms: performance.now() - t0, peak: Math.max(peak, process.memoryUsage().rss) };
  } finally {
    clearInterval(timer);
  }
}

/** Milliseconds as seconds, as every benchmark prints them. */
export const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Bytes as MiB, printed "MB". */
export const mb = (bytes: number) => `${Math.round(bytes / 1024 ** 2)} MB`;

/** A run's step timings (`runs.steps`) on one line. */
export function stepsLine(steps: Record<string, number> | null): string {
  return steps
    ? Object.entries(steps)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(', ')
    : '';
}
