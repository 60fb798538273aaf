import { CliError } from './platform.js';

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer, got "${v}"`, 2);
  return n;
}

export async function generateCommand(pipeline: string, opts: { stations: string; days: string; start: string; seed: string; out: string }): Promise<void> {
  if (pipeline !== 'stations') throw new CliError(`generate: no generator for "${pipeline}" yet (known: stations)`, 2);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(opts.start) || Number.isNaN(Date.parse(`${opts.start}T00:00:00Z`))) {
    throw new CliError(`--start must be a date YYYY-MM-DD, got "${opts.start}"`, 2);
  }
  const { generateStations } = await import('../connectors/generators/stations.js');
  const t0 = Date.now();
  const result = await generateStations({
    stations: positiveInt('stations', opts.stations),
    days: positiveInt('days', opts.days),
    start: opts.start,
    seed: Number(opts.seed),
    out: opts.out,
  });
  console.log(`wrote ${result.files.length} files (${result.reports} reports, ${result.stations} stations) to ${opts.out} in ${Date.now() - t0} ms`);
}
