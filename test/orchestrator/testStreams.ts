import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { StreamContext, StreamPipeline } from '../../src/pipelines/kit/streamPipeline.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** Where the test streams write what they consume: one row per number consumed and committed. */
export const NUMBERS_TABLE = 'stream_numbers';
export const NUMBERS_SOURCE = 'numbers:0';

/** An in-memory source of numbers: a log, read by offset, that a test appends to. */
export class NumberLog {
  readonly values: number[] = [];

  append(from: number, to: number): void {
    for (let n = from; n <= to; n++) this.values.push(n);
  }
}

export interface NumbersHooks {
  /** Called in the transaction after the batch's rows are written, before its position is saved: throw to crash there. */
  beforeCommit?: (firstOffset: number) => void;
  /** Told when an instance starts and ends (to see that two never run at once). */
  onStart?: () => void;
  onEnd?: () => void;
  batch?: number;
}

const idle = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal }).catch(() => {});

/**
 * A stream that consumes the log: it resumes after its committed position, writes each batch's numbers
 * and commits the batch's last offset in the same transaction, and reports how far behind it is.
 */
export function numbersStream(log: NumberLog, hooks: NumbersHooks = {}, name = 'numbers'): StreamPipeline {
  return {
    name,
    description: 'numbers from an in-memory log, into a table',
    async start(ctx: StreamContext) {
      hooks.onStart?.();
      try {
        await ctx.warehouse.execute(`CREATE TABLE IF NOT EXISTS ${NUMBERS_TABLE} (value BIGINT NOT NULL, pipeline VARCHAR NOT NULL)`);
        const committed = (await ctx.positions.read()).get(NUMBERS_SOURCE);
        let next = committed === undefined ? 0 : Number(committed) + 1;
        while (!ctx.signal.aborted) {
          const batch = log.values.slice(next, next + (hooks.batch ?? 7));
          ctx.reportLag(NUMBERS_SOURCE, log.values.length - next, batch.length ? 1.5 : 0);
          if (batch.length === 0) {
            await idle(5, ctx.signal);
            continue;
          }
          const first = next;
          await ctx.transaction(async () => {
            for (const v of batch) await ctx.warehouse.execute(`INSERT INTO ${NUMBERS_TABLE} (value, pipeline) VALUES ($1, $2)`, [v, name]);
            hooks.beforeCommit?.(first);
            await ctx.positions.save({ [NUMBERS_SOURCE]: String(first + batch.length - 1) });
          });
          next = first + batch.length;
        }
      } finally {
        hooks.onEnd?.();
      }
    },
  };
}

/** A stream that throws at once its first `crashes` starts, then waits for its signal; records when each start came. */
export function crashingStream(crashes: number, name = 'crashing'): StreamPipeline & { starts: number[] } {
  const starts: number[] = [];
  return {
    name,
    description: 'throws a few times, then runs',
    starts,
    async start(ctx) {
      starts.push(Date.now());
      if (starts.length <= crashes) throw new Error(`crash ${starts.length}`);
      await idle(60_000, ctx.signal);
    },
  };
}

/** A stream that ignores its signal for `ms`. */
export function stubbornStream(ms: number, name = 'stubborn'): StreamPipeline {
  return {
    name,
    description: 'does not stop when asked',
    async start() {
      await new Promise((r) => setTimeout(r, ms));
    },
  };
}

/** A pino logger whose lines land in `lines`. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** Resolves once `check` holds, polling; throws after `ms` saying what was awaited. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
