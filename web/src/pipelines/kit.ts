import type { ComponentType } from 'react';
import type { QueryState } from '../lib/query.js';
import type { WebPipeline } from '../lib/registry.js';

/** What every page is given: the URL's state (`page`, ids, selections). */
interface PageProps {
  q: QueryState;
}

export type Page = ComponentType<PageProps>;

/**
 * A pipeline's dashboard pages, as `web/src/pipelines/<name>/index.ts` exports them and
 * `web/src/pipelines/index.ts` lists them (see docs/adding-a-pipeline.md).
 */
export type DashboardPipeline = WebPipeline<Page>;
