import { day, integer, positiveInt } from '../kit/options.js';
import type { SampleGenerator } from '../kit/pipeline.js';

/** InfoClimat JSON and Weather Underground workbooks, as the stations pipeline reads them. */
export const stationsGenerator: SampleGenerator = {
  options: [
    { flags: '--stations <n>', description: 'number of stations', defaultValue: '10' },
    { flags: '--days <n>', description: 'stations: number of days', defaultValue: '7' },
    { flags: '--start <date>', description: 'stations: first day, YYYY-MM-DD', defaultValue: '2024-10-01' },
    { flags: '--seed <n>', description: 'random seed', defaultValue: '1' },
  ],
  async generate(opts, out) {
    const start = day('start', opts.start);
    // Loaded on use: the generator is large and most commands never generate.
    const { generateStations } = await import('../../connectors/generators/stations.js');
    const t0 = Date.now();
    const result = await generateStations({
      stations: positiveInt('stations', opts.stations),
      days: positiveInt('days', opts.days),
      start,
      seed: integer('seed', opts.seed),
      out,
    });
    return `wrote ${result.files.length} files (${result.reports} reports, ${result.stations} stations) to ${out} in ${Date.now() - t0} ms`;
  },
  async firstRun(dir) {
    const { generateStations } = await import('../../connectors/generators/stations.js');
    const generated = await generateStations({ stations: 6, days: 3, out: dir });
    return { inputs: [dir], said: `${generated.files.length} files, ${generated.reports} reports` };
  },
};
