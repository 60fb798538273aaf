import type { StreamPipeline } from './kit/streamPipeline.js';
import { rewardsCapture } from './rewards/capture.js';
import { rewardsNotifier } from './rewards/notifierStream.js';

/**
 * Every stream pipeline ecluse ships: `ecluse up` and `ecluse worker` supervise them. `meteostream` (live
 * readings from the broker) will be listed here too, until the pipeline registry (index.ts) takes stream
 * pipelines as well.
 */
export const STREAM_PIPELINES: readonly StreamPipeline[] = [rewardsCapture, rewardsNotifier];
