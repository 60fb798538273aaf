import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PIPELINES } from '../../src/pipelines/index.js';
import { navLinks, routeTable, shownLinks, type NavLink, type PageRoute, type Route, type WebPipeline } from '../../web/src/lib/registry.js';

/**
 * The dashboard's per-pipeline registry: the route table and the header are built from it, a clash or a
 * link to nothing fails, and a pipeline the server does not run loses its links.
 */

const WEB = join(fileURLToPath(new URL('../..', import.meta.url)), 'web', 'src');

/**
 * The shipped registry and the route table built from it. Imported by path: their pages are React
 * components (JSX, the DOM), which this file's type-check (Node's, without the DOM) does not follow.
 */
async function shipped() {
  const routes = (await import(pathToFileURL(join(WEB, 'routes.ts')).href)) as { ROUTES: ReadonlyMap<string, Route<unknown>>; NAV: NavLink[]; HOME: string };
  const registry = (await import(pathToFileURL(join(WEB, 'pipelines', 'index.ts')).href)) as { WEB_PIPELINES: ReadonlyArray<WebPipeline<unknown>> };
  return { ...routes, ...registry };
}

const generic: ReadonlyArray<PageRoute<string>> = [
  { page: 'overview', component: 'Overview' },
  { page: 'runs', component: 'Runs' },
];
const meters: WebPipeline<string> = { name: 'meters', pages: [{ page: 'meters', component: 'Meters' }], nav: [{ page: 'meters', label: 'Meters' }] };
const gauges: WebPipeline<string> = {
  name: 'gauges',
  pages: [
    { page: 'gauges', component: 'Gauges' },
    { page: 'gauge', component: 'Gauge' },
  ],
  nav: [{ page: 'gauges', label: 'Gauges', also: ['gauge'] }],
};

describe('registry: routes and nav from data', () => {
  test('the route table holds the generic pages and each pipeline’s, with their owner', () => {
    const routes = routeTable(generic, [meters, gauges]);
    assert.deepEqual([...routes.keys()], ['overview', 'runs', 'meters', 'gauges', 'gauge']);
    assert.deepEqual(routes.get('gauge'), { component: 'Gauge', pipeline: 'gauges' });
    assert.deepEqual(routes.get('runs'), { component: 'Runs', pipeline: null });
  });

  test('a page registered twice, or a pipeline twice, throws naming both owners', () => {
    assert.throws(
      () => routeTable(generic, [{ ...meters, pages: [{ page: 'runs', component: 'x' }] }]),
      /page "runs" is registered twice: by the generic pages and by pipeline "meters"/,
    );
    assert.throws(
      () => routeTable(generic, [meters, { ...gauges, pages: [{ page: 'meters', component: 'x' }] }]),
      /by pipeline "meters" and by pipeline "gauges"/,
    );
    assert.throws(() => routeTable(generic, [meters, { ...meters, pages: [] }]), /pipeline "meters" is registered twice/);
  });

  test('nav: generic head, pipelines in registry order, tail; a link to no page throws', () => {
    const routes = routeTable([...generic, { page: 'lake', component: 'Lake' }], [meters, gauges]);
    const links = navLinks(routes, [{ page: 'overview', label: 'Overview' }], [meters, gauges], [{ page: 'lake', label: 'Lake' }]);
    assert.deepEqual(
      links.map((l) => [l.label, l.pipeline]),
      [
        ['Overview', null],
        ['Meters', 'meters'],
        ['Gauges', 'gauges'],
        ['Lake', null],
      ],
    );
    const broken = { ...gauges, nav: [{ page: 'gauges', label: 'Gauges', also: ['gauge', 'gaueg'] }] };
    assert.throws(() => navLinks(routes, [], [meters, broken], []), /nav entry "Gauges" names page "gaueg", which no route draws/);
    assert.throws(() => navLinks(routes, [{ page: 'nope', label: 'Nope' }], [], []), /page "nope"/);
  });

  test('a pipeline the server does not list loses its links; an unknown list hides nothing', () => {
    const routes = routeTable(generic, [meters, gauges]);
    const links = navLinks(routes, [{ page: 'overview', label: 'Overview' }], [meters, gauges], []);
    assert.deepEqual(
      shownLinks(links, new Set(['gauges', 'elsewhere'])).map((l) => l.label),
      ['Overview', 'Gauges'],
    );
    assert.deepEqual(
      shownLinks(links, new Set()).map((l) => l.label),
      ['Overview'],
    );
    assert.deepEqual(
      shownLinks(links, null).map((l) => l.label),
      ['Overview', 'Meters', 'Gauges'],
    );
  });
});

describe('registry: the shipped dashboard', () => {
  test('the router is the registry’s: every registered page routes to its component, generic pages around them', async () => {
    const { ROUTES, WEB_PIPELINES, HOME } = await shipped();
    const registered = WEB_PIPELINES.flatMap((p) => p.pages.map((r) => ({ ...r, pipeline: p.name })));
    for (const r of registered) assert.deepEqual(ROUTES.get(r.page), { component: r.component, pipeline: r.pipeline }, `page "${r.page}"`);
    const genericPages = [...ROUTES].filter(([, r]) => r.pipeline === null).map(([page]) => page);
    assert.deepEqual(genericPages, ['overview', 'runs', 'run', 'lake'], 'the generic pages name no pipeline');
    assert.equal(ROUTES.size, genericPages.length + registered.length);
    assert.equal(HOME, 'overview');
    // The URLs the dashboard has always had (browser tests and bookmarks use them).
    for (const page of ['overview', 'runs', 'run', 'stations', 'station', 'cities', 'lake']) assert.ok(ROUTES.has(page), `?page=${page}`);
  });

  test('the header: overview and runs, the registry’s links in its order, the lake; each resolving to a route', async () => {
    const { ROUTES, NAV, WEB_PIPELINES } = await shipped();
    const row = (l: NavLink) => [l.label, l.page, l.pipeline];
    assert.deepEqual(NAV.map(row), [
      ['Overview', 'overview', null],
      ['Runs', 'runs', null],
      ...WEB_PIPELINES.flatMap((p) => p.nav.map((e) => [e.label, e.page, p.name])),
      ['Lake', 'lake', null],
    ]);
    // The links the dashboard has always had, in their order (a new pipeline adds its own, these stay).
    const kept = NAV.map(row).filter(([, page]) => page === 'stations' || page === 'cities');
    assert.deepEqual(kept, [
      ['Stations', 'stations', 'stations'],
      ['Cities', 'cities', 'synop'],
    ]);
    assert.deepEqual(NAV.find((l) => l.page === 'stations')?.also, ['station'], 'a station lights up Stations');
    for (const l of NAV) for (const page of [l.page, ...(l.also ?? [])]) assert.ok(ROUTES.has(page), `${l.label} → ${page}`);
  });

  test('every registered pipeline is named as the server names it (else its links would always hide)', async () => {
    const { WEB_PIPELINES } = await shipped();
    for (const p of WEB_PIPELINES)
      assert.ok(PIPELINES.has(p.name), `"${p.name}" is not a pipeline of src/pipelines/index.ts (${[...PIPELINES.keys()].join(', ')})`);
  });
});
