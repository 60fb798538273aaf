import type { RouteSpec } from '../../orchestrator/routeSpec.js';

/** The synop API: `/staging/cities…` and `/curated/cities…` (issue 4, §7). */
export const synopRoutes: readonly RouteSpec[] = [];
