import { join } from 'node:path';
import { executeRun } from '../orchestrator/runner.js';
import { PIPELINES } from '../pipelines/index.js';
import { openPlatform, readConfig } from './platform.js';
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
      const samples = join(config.home, 'sample');
      console.log(`empty home ${config.home}: generating a sample per pipeline in ${samples} …`);
      for (const pipeline of PIPELINES.values()) {
        if (!pipeline.generator) continue;
        const { inputs, said } = await pipeline.generator.firstRun(join(samples, pipeline.name), new Date());
        console.log(`  ${pipeline.name}: ${said}`);
        console.log(describeRun(await executeRun(platform, pipeline, { inputs, trigger: 'start' })));
      }
    } else {
      console.log(`ecluse home ${config.home} already holds data; serving it.`);
    }
    await serve(platform);
  } finally {
    await platform.warehouse.close();
  }
}
