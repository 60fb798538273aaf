import type { RunSummary } from '../warehouse/metadata.js';

/** The human summary of a run: counts, and "N errors out of M reports". */
export function describeRun(s: RunSummary): string {
  const errors = s.rows_rejected + s.values_rejected;
  const lines = [
    `run ${s.run_id} ${s.pipeline} [${s.partition}]: ${s.status} in ${s.duration_ms ?? '?'} ms`,
    `  files: ${s.files} processed, ${s.files_skipped} already seen`,
    `  rows: ${s.rows_read} read, ${s.rows_written} written, ${s.rows_rejected} rejected, ${s.values_rejected} values set to null`,
    `  ${errors} errors out of ${s.rows_read} reports${errors ? ` (see: ecluse rejects --run ${s.run_id})` : ''}`,
  ];
  if (s.error) lines.push(`  error: ${s.error}`);
  return lines.join('\n');
}
