import type { StreamPipeline } from './kit/streamPipeline.js';

/**
 * Every stream pipeline ecluse ships: `ecluse up` and `ecluse worker` supervise them. None yet: `rewards`
 * (PostgreSQL change-data-capture) and `meteostream` (live readings from the broker) will be listed here,
 * until the pipeline registry (index.ts) takes stream pipelines too.
 */
export const STREAM_PIPELINES: readonly StreamPipeline[] = [];
