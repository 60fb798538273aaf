import type { Pipeline } from './kit/pipeline.js';
import { stationsPipeline } from './stations/pipeline.js';
import { synopPipeline } from './synop/pipeline.js';

/** Every pipeline ecluse ships, by name. */
export const PIPELINES: ReadonlyMap<string, Pipeline> = new Map([
  [stationsPipeline.name, stationsPipeline],
  [synopPipeline.name, synopPipeline],
]);

export function pipelineNamed(name: string): Pipeline | undefined {
  return PIPELINES.get(name);
}
