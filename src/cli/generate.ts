import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliError } from './platform.js';
import { isDay } from '../time/days.js';

/** Options of `ecluse generate`: the stations generator uses the first ones, synop the `--from/--to/--format` ones. */
export interface GenerateOptions {
  stations: string;
  days: string;
  start: string;
  seed: string;
  out: string;
  from?: string;
  to?: string;
  format?: string;
  timezone?: string;
}

const GENERATORS = ['stations', 'synop'];

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer, got "${v}"`, 2);
  return n;
}

function day(name: string, v: string | undefined): string {
  if (v === undefined) throw new CliError(`--${name} YYYY-MM-DD is required`, 2);
  if (!isDay(v)) {
    throw new CliError(`--${name} must be a date YYYY-MM-DD, got "${v}"`, 2);
  }
  return v;
}

function seedOf(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new CliError(`--seed must be an integer, got "${v}"`, 2);
  return n;
}

async function generateStationsFiles(opts: GenerateOptions): Promise<void> {
  const start = day('start', opts.start);
  const { generateStations } = await import('../connectors/generators/stations.js');
  const t0 = Date.now();
  const result = await generateStations({
    stations: positiveInt('stations', opts.stations),
    days: positiveInt('days', opts.days),
    start,
    seed: seedOf(opts.seed),
    out: opts.out,
  });
  console.log(`wrote ${result.files.length} files (${result.reports} reports, ${result.stations} stations) to ${opts.out} in ${Date.now() - t0} ms`);
}

async function generateSynopFile(opts: GenerateOptions): Promise<void> {
  const { SYNOP_FORMATS, synopStations, writeSynop } = await import('../connectors/generators/synop.js');
  const from = day('from', opts.from);
  const to = day('to', opts.to);
  if (to < from) throw new CliError(`--to (${to}) is before --from (${from})`, 2);
  const format = SYNOP_FORMATS.find((f) => f === (opts.format ?? 'jsonl'));
  if (!format) throw new CliError(`--format must be one of ${SYNOP_FORMATS.join(', ')}, got "${opts.format}"`, 2);
  const stations = positiveInt('stations', opts.stations);
  try {
    synopStations(stations);
  } catch (err) {
    throw new CliError(`--stations: ${(err as Error).message}`, 2);
  }
  const timezone = opts.timezone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new CliError(`--timezone must be UTC or an IANA zone such as Europe/Paris, got "${timezone}"`, 2);
  }
  await mkdir(dirname(opts.out), { recursive: true });
  const t0 = Date.now();
  const { rows } = await writeSynop(opts.out, format, { stations, from, to, seed: seedOf(opts.seed), timezone });
  console.log(`wrote ${rows} observations (${stations} stations, ${from} to ${to}, ${format}) to ${opts.out} in ${Date.now() - t0} ms`);
}

export async function generateCommand(pipeline: string, opts: GenerateOptions): Promise<void> {
  if (pipeline === 'stations') return generateStationsFiles(opts);
  if (pipeline === 'synop') return generateSynopFile(opts);
  throw new CliError(`generate: no generator for "${pipeline}" (known: ${GENERATORS.join(', ')})`, 2);
}
