import type { Pipeline } from './kit/pipeline.js';
import { stationsPipeline } from './stations/pipeline.js';
import { synopPipeline } from './synop/pipeline.js';
import { eco2mixPipeline } from './eco2mix/pipeline.js';
import { rewardsPipeline } from './rewards/pipeline.js';

/** Every pipeline ecluse ships, by name. */
export const PIPELINES: ReadonlyMap<string, Pipeline> = new Map([
  [stationsPipeline.name, stationsPipeline],
  [synopPipeline.name, synopPipeline],
  [eco2mixPipeline.name, eco2mixPipeline],
  [rewardsPipeline.name, rewardsPipeline],
]);

export function pipelineNamed(name: string): Pipeline | undefined {
  return PIPELINES.get(name);
}
