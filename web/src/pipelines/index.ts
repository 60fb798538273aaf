import type { DashboardPipeline } from './kit.js';
import { eco2mixPages } from './eco2mix/index.js';
import { rewardsPages } from './rewards/index.js';
import { stationsPages } from './stations/index.js';
import { synopPages } from './synop/index.js';

/**
 * Every pipeline with pages on the dashboard, in nav order: adding one is its folder and one line here.
 * A pipeline the server runs without pages here still shows on the overview, the runs and the lake.
 */
export const WEB_PIPELINES: readonly DashboardPipeline[] = [stationsPages, synopPages, eco2mixPages, rewardsPages];
