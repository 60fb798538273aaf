import type { RunSummary } from '../warehouse/metadata.js';

/** The status as a person reads it: a success with warnings is not a plain success. */
export function statusText(s: Pick<RunSummary, 'status' | 'warnings'>): string {
  const n = s.warnings?.length ?? 0;
  return s.status === 'succeeded' && n > 0 ? `succeeded with ${n} warning${n === 1 ? '' : 's'}` : s.status;
}

/** The human summary of a run: counts, "N errors out of M reports", and what it did not load and why. */
export function describeRun(s: RunSummary): string {
  const errors = s.rows_rejected + s.values_rejected;
  const deferred = s.files_deferred ?? 0;
  const lines = [
    `run ${s.run_id} ${s.pipeline} [${s.partition}]: ${statusText(s)} in ${s.duration_ms ?? '?'} ms`,
    `  files: ${s.files} processed, ${s.files_skipped} already seen${deferred ? `, ${deferred} left for a later run` : ''}`,
    `  rows: ${s.rows_read} read, ${s.rows_written} written, ${s.rows_rejected} rejected, ${s.values_rejected} values set to null`,
    `  ${errors} errors out of ${s.rows_read} reports${errors ? ` (see: ecluse rejects --run ${s.run_id})` : ''}`,
  ];
  for (const w of s.warnings ?? []) lines.push(`  warning: ${w}`);
  if (s.error) lines.push(`  error: ${s.error}`);
  return lines.join('\n');
}
