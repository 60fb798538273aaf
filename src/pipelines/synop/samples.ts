import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { defaultPartition } from '../../time/days.js';
import { assertTimeZone } from '../../time/zones.js';
import { day, integer, positiveInt } from '../kit/options.js';
import { UsageError, type SampleGenerator } from '../kit/pipeline.js';

/** SYNOP observations in the OpenDataSoft formats (JSONL, JSON exports, API JSON, CSV with field names or French labels). */
export const synopGenerator: SampleGenerator = {
  options: [
    { flags: '--stations <n>', description: 'number of stations', defaultValue: '10' },
    { flags: '--seed <n>', description: 'random seed', defaultValue: '1' },
    { flags: '--from <date>', description: 'synop: first day (UTC), YYYY-MM-DD' },
    { flags: '--to <date>', description: 'synop: last day (UTC, inclusive), YYYY-MM-DD' },
    { flags: '--format <format>', description: 'synop: jsonl, json, api-json, csv or csv-labels', defaultValue: 'jsonl' },
    { flags: '--timezone <zone>', description: 'synop: time zone of the dates written (UTC or an IANA zone)', defaultValue: 'UTC' },
  ],
  async generate(opts, out) {
    const { SYNOP_FORMATS, synopStations, writeSynop } = await import('../../connectors/generators/synop.js');
    const from = day('from', opts.from);
    const to = day('to', opts.to);
    if (to < from) throw new UsageError(`--to (${to}) is before --from (${from})`);
    const format = SYNOP_FORMATS.find((f) => f === (opts.format ?? 'jsonl'));
    if (!format) throw new UsageError(`--format must be one of ${SYNOP_FORMATS.join(', ')}, got "${opts.format}"`);
    const stations = positiveInt('stations', opts.stations);
    try {
      synopStations(stations);
    } catch (err) {
      throw new UsageError(`--stations: ${(err as Error).message}`);
    }
    const timezone = opts.timezone ?? 'UTC';
    try {
      assertTimeZone(timezone);
    } catch {
      throw new UsageError(`--timezone must be UTC or an IANA zone such as Europe/Paris, got "${timezone}"`);
    }
    await mkdir(dirname(out), { recursive: true });
    const t0 = Date.now();
    const { rows } = await writeSynop(out, format, { stations, from, to, seed: integer('seed', opts.seed ?? '1'), timezone });
    return `wrote ${rows} observations (${stations} stations, ${from} to ${to}, ${format}) to ${out} in ${Date.now() - t0} ms`;
  },
  async firstRun(dir, now) {
    // A month for a few cities, so the dashboard's cities page has something to show offline.
    await mkdir(dir, { recursive: true });
    const to = defaultPartition(now);
    const from = new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
    const { writeSynop } = await import('../../connectors/generators/synop.js');
    const synop = await writeSynop(join(dir, 'synop.jsonl'), 'jsonl', { stations: 6, from, to });
    return { inputs: [dir], said: `${synop.rows} observations, ${from} to ${to}` };
  },
};
