/**
 * The dashboard's pages as data: the generic pages (overview, runs, lake) and the pages each pipeline
 * registers (web/src/pipelines/). routes.ts builds the route table and the header with these, so the app
 * names no pipeline. DOM-free and React-free (the component type is a parameter): unit-tested.
 */

/** One page: the `page=` value of its URLs and what draws it. */
export interface PageRoute<C> {
  page: string;
  component: C;
}

/** A link in the header. `also`: other pages that light it up (a station is under Stations). */
export interface NavEntry {
  page: string;
  label: string;
  also?: readonly string[];
}

/** A pipeline's dashboard pages. `name` is the server's (GET /pipelines), which decides whether its links show. */
export interface WebPipeline<C> {
  name: string;
  pages: ReadonlyArray<PageRoute<C>>;
  nav: readonly NavEntry[];
}

/** A route of the table: its component, and the pipeline it belongs to (null: a generic page). */
export interface Route<C> {
  component: C;
  pipeline: string | null;
}

/**
 * Every page by its `page=` value. Two pages claiming one value (a pipeline's and a generic one, or two
 * pipelines') throw: one of them would silently never show, and URLs must keep meaning one page.
 */
export function routeTable<C>(generic: ReadonlyArray<PageRoute<C>>, pipelines: ReadonlyArray<WebPipeline<C>>): ReadonlyMap<string, Route<C>> {
  const table = new Map<string, Route<C>>();
  const owner = (pipeline: string | null) => (pipeline === null ? 'the generic pages' : `pipeline "${pipeline}"`);
  const add = (r: PageRoute<C>, pipeline: string | null) => {
    const taken = table.get(r.page);
    if (taken) throw new Error(`page "${r.page}" is registered twice: by ${owner(taken.pipeline)} and by ${owner(pipeline)}`);
    table.set(r.page, { component: r.component, pipeline });
  };
  const names = new Set<string>();
  for (const r of generic) add(r, null);
  for (const p of pipelines) {
    if (names.has(p.name)) throw new Error(`pipeline "${p.name}" is registered twice on the dashboard`);
    names.add(p.name);
    for (const r of p.pages) add(r, p.name);
  }
  return table;
}

/** A header link, and the pipeline whose page it opens (null: a generic page). */
export interface NavLink extends NavEntry {
  pipeline: string | null;
}

/**
 * The header's links: the generic ones first (`head`), each pipeline's in registry order, then `tail`.
 * A link to no route throws, like a duplicate page, hidden pipelines' links included.
 */
export function navLinks<C>(
  routes: ReadonlyMap<string, Route<C>>,
  head: readonly NavEntry[],
  pipelines: ReadonlyArray<WebPipeline<C>>,
  tail: readonly NavEntry[],
): NavLink[] {
  const links = [
    ...head.map((e) => ({ ...e, pipeline: null })),
    ...pipelines.flatMap((p) => p.nav.map((e) => ({ ...e, pipeline: p.name }))),
    ...tail.map((e) => ({ ...e, pipeline: null })),
  ];
  for (const e of links)
    for (const page of [e.page, ...(e.also ?? [])]) if (!routes.has(page)) throw new Error(`nav entry "${e.label}" names page "${page}", which no route draws`);
  return links;
}

/**
 * The links to show. `listed` is the pipelines the server runs (GET /pipelines): a pipeline it does not
 * list loses its links, as its pages would only show the API's 404s (a typed URL still opens them).
 * Unknown yet or unreadable (null), every link shows: the nav never waits for, nor breaks on, that answer.
 */
export function shownLinks(links: readonly NavLink[], listed: ReadonlySet<string> | null): NavLink[] {
  return links.filter((l) => l.pipeline === null || listed === null || listed.has(l.pipeline));
}

/** The nav entry a page lights up (itself, or one whose `also` names it). */
export function isActive(entry: NavEntry, page: string): boolean {
  return entry.page === page || (entry.also?.includes(page) ?? false);
}
