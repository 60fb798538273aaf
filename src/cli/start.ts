import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { executeRun } from '../orchestrator/runner.js';
import { stationsPipeline } from '../pipelines/stations/pipeline.js';
import { readConfig, withPlatform } from './platform.js';
import { describeRun } from './summary.js';

/**
 * `npm start`: on an empty home, generate a small sample and run the pipeline once, so a new user sees
 * the platform work end to end. (Serving the API comes with the next issue.)
 */
export async function startCommand(): Promise<void> {
  const config = readConfig();
  if (existsSync(config.warehouse)) {
    console.log(`ecluse home ${config.home} already holds a warehouse; nothing to set up.`);
    console.log(`Try: npx ecluse runs · npx ecluse sql "select station_id, count(*) from reports group by 1" · npx ecluse rejects`);
    return;
  }
  const sample = join(config.home, 'sample', 'stations');
  console.log(`empty home ${config.home}: generating a sample in ${sample} …`);
  const { generateStations } = await import('../connectors/generators/stations.js');
  const generated = await generateStations({ stations: 6, days: 3, out: sample });
  console.log(`  ${generated.files.length} files, ${generated.reports} reports`);
  const summary = await withPlatform('start', (platform) => executeRun(platform, stationsPipeline, { inputs: [sample], trigger: 'start' }));
  console.log(describeRun(summary));
  console.log(`Next: npx ecluse sql "select station_id, count(*) from reports group by 1"`);
}
