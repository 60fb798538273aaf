import { isDay } from '../../time/days.js';
import { UsageError } from './pipeline.js';

/** Readers of a pipeline's own command-line options: a bad value is a `UsageError` naming the flag. */

export function positiveInt(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

export function integer(name: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got "${v}"`);
  return n;
}

export function day(name: string, v: string | undefined): string {
  if (v === undefined) throw new UsageError(`--${name} YYYY-MM-DD is required`);
  if (!isDay(v)) throw new UsageError(`--${name} must be a date YYYY-MM-DD, got "${v}"`);
  return v;
}
