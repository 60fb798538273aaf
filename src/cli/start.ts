import { join } from 'node:path';
import { executeRun } from '../orchestrator/runner.js';
import { stationsPipeline } from '../pipelines/stations/pipeline.js';
import { openPlatform, readConfig } from './platform.js';
import { describeRun } from './summary.js';
import { assertNoServer, serve } from './up.js';

/**
 * `npm start`: on an empty home (no run yet), generate a small sample and run the pipeline once, so a
 * new user sees the platform work end to end; then serve the API like `ecluse up`.
 */
export async function startCommand(): Promise<void> {
  const config = readConfig();
  await assertNoServer(config);
  const platform = await openPlatform('start', config);
  try {
    if ((await platform.warehouse.listRuns({ limit: 1 })).total === 0) {
      const sample = join(config.home, 'sample', 'stations');
      console.log(`empty home ${config.home}: generating a sample in ${sample} …`);
      const { generateStations } = await import('../connectors/generators/stations.js');
      const generated = await generateStations({ stations: 6, days: 3, out: sample });
      console.log(`  ${generated.files.length} files, ${generated.reports} reports`);
      console.log(describeRun(await executeRun(platform, stationsPipeline, { inputs: [sample], trigger: 'start' })));
    } else {
      console.log(`ecluse home ${config.home} already holds data; serving it.`);
    }
    await serve(platform);
  } finally {
    await platform.warehouse.close();
  }
}
