import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ECO2MIX_REGIONS } from '../../connectors/opendatasoft/eco2mix/fields.js';
import { defaultPartition } from '../../time/days.js';
import { day, integer } from '../kit/options.js';
import { UsageError, type SampleGenerator } from '../kit/pipeline.js';

const DATASETS = ['tr', 'cons-def'] as const;
const LAYOUTS = ['current', '2020'] as const;

function oneOf<T extends string>(flag: string, allowed: readonly T[], v: string | undefined): T {
  const found = allowed.find((a) => a === v);
  if (found === undefined) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got "${v}"`);
  return found;
}

function regionsOption(v: string | undefined): number | 'all' {
  if (v === 'all') return 'all';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > ECO2MIX_REGIONS.size) {
    throw new UsageError(`--regions must be 1 to ${ECO2MIX_REGIONS.size} or all, got "${v}"`);
  }
  return n;
}

/** eCO2mix regional records in the ODRE formats: both datasets, both layouts, every export shape. */
export const eco2mixGenerator: SampleGenerator = {
  options: [
    { flags: '--regions <n>', description: `eco2mix: the first n regions (INSEE code order), or all (${ECO2MIX_REGIONS.size})`, defaultValue: 'all' },
    { flags: '--from <date>', description: 'eco2mix: first Europe/Paris day, YYYY-MM-DD' },
    { flags: '--to <date>', description: 'eco2mix: last Europe/Paris day (inclusive), YYYY-MM-DD' },
    {
      flags: '--dataset <name>',
      description: 'eco2mix: tr (real time, 15 minutes) or cons-def (consolidated and definitive, 30 minutes)',
      defaultValue: 'cons-def',
    },
    { flags: '--format <format>', description: 'eco2mix: jsonl, json, api-json, csv or csv-labels', defaultValue: 'jsonl' },
    { flags: '--layout <layout>', description: 'eco2mix: current (batteries, offshore wind) or 2020 (Import/Export columns)', defaultValue: 'current' },
    { flags: '--seed <n>', description: 'random seed', defaultValue: '1' },
  ],
  async generate(opts, out) {
    const { ECO2MIX_FORMATS, writeEco2mix } = await import('../../connectors/generators/eco2mix.js');
    const from = day('from', opts.from);
    const to = day('to', opts.to);
    if (to < from) throw new UsageError(`--to (${to}) is before --from (${from})`);
    const format = oneOf('format', ECO2MIX_FORMATS, opts.format ?? 'jsonl');
    const dataset = oneOf('dataset', DATASETS, opts.dataset ?? 'cons-def');
    const layout = oneOf('layout', LAYOUTS, opts.layout ?? 'current');
    const regions = regionsOption(opts.regions ?? 'all');
    await mkdir(dirname(out), { recursive: true });
    const t0 = Date.now();
    const { rows } = await writeEco2mix(out, format, { regions, from, to, dataset, layout, seed: integer('seed', opts.seed ?? '1') });
    const which = regions === 'all' ? `all ${ECO2MIX_REGIONS.size} regions` : `${regions} regions`;
    return `wrote ${rows} records (${dataset}, ${which}, ${from} to ${to}, ${format}, ${layout} layout) to ${out} in ${Date.now() - t0} ms`;
  },
  async firstRun(dir, now) {
    // A fortnight of consolidated figures for every region, so the Energy page has something to show offline.
    await mkdir(dir, { recursive: true });
    const to = defaultPartition(now);
    const from = new Date(Date.parse(`${to}T00:00:00Z`) - 13 * 86_400_000).toISOString().slice(0, 10);
    const { writeEco2mix } = await import('../../connectors/generators/eco2mix.js');
    const got = await writeEco2mix(join(dir, 'eco2mix.jsonl'), 'jsonl', { regions: 'all', from, to, dataset: 'cons-def', now: now.getTime() });
    return { inputs: [dir], said: `${got.rows} regional records, ${from} to ${to}` };
  },
};
