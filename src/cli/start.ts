import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultPartition } from '../orchestrator/partitions.js';
import { executeRun } from '../orchestrator/runner.js';
import { openPlatform, readConfig } from './platform.js';
import { requirePipeline } from './requirePipeline.js';
import { describeRun } from './summary.js';
import { assertNoServer, serve } from './up.js';

/**
 * `npm start`: on an empty home (no run yet), generate small samples and run the pipelines once, so a
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
      console.log(describeRun(await executeRun(platform, requirePipeline('stations'), { inputs: [sample], trigger: 'start' })));
      // A month of SYNOP for a few cities, so the dashboard's cities page has something to show offline.
      const synopDir = join(config.home, 'sample', 'synop');
      await mkdir(synopDir, { recursive: true });
      const to = defaultPartition(new Date());
      const from = new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
      const { writeSynop } = await import('../connectors/generators/synop.js');
      const synop = await writeSynop(join(synopDir, 'synop.jsonl'), 'jsonl', { stations: 6, from, to });
      console.log(`  synop: ${synop.rows} observations, ${from} to ${to}`);
      console.log(describeRun(await executeRun(platform, requirePipeline('synop'), { inputs: [synopDir], trigger: 'start' })));
    } else {
      console.log(`ecluse home ${config.home} already holds data; serving it.`);
    }
    await serve(platform);
  } finally {
    await platform.warehouse.close();
  }
}
