import { navLinks, routeTable, type PageRoute } from './lib/registry.js';
import { LakePage } from './pages/Lake.js';
import { OverviewPage } from './pages/Overview.js';
import { RunPage } from './pages/Run.js';
import { RunsPage } from './pages/Runs.js';
import type { Page } from './pipelines/kit.js';
import { WEB_PIPELINES } from './pipelines/index.js';

/** The page `/` opens on. */
export const HOME = 'overview';

/** The pages every platform has, whatever its pipelines. */
const GENERIC: ReadonlyArray<PageRoute<Page>> = [
  { page: 'overview', component: OverviewPage },
  { page: 'runs', component: RunsPage },
  { page: 'run', component: RunPage },
  { page: 'lake', component: LakePage },
];

/** Every page by its `page=` value: the generic ones and the registry's. Built once, at load: a clash fails at once. */
export const ROUTES = routeTable(GENERIC, WEB_PIPELINES);

/** The header: overview and runs, then the pipelines' pages, then the lake. */
export const NAV = navLinks(
  ROUTES,
  [
    { page: 'overview', label: 'Overview' },
    { page: 'runs', label: 'Runs', also: ['run'] },
  ],
  WEB_PIPELINES,
  [{ page: 'lake', label: 'Lake' }],
);
