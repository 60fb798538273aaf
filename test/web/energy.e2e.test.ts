import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkipReason, launchChromium } from '../helpers/chromium.js';
import { writeEco2mix } from '../../src/connectors/generators/eco2mix.js';
import { executeRun } from '../../src/orchestrator/runner.js';
import { eco2mixPipeline } from '../../src/pipelines/eco2mix/pipeline.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { buildApp } from '../../src/server/app.js';
import { WEB_DIST } from '../../src/server/routes/web.js';
import type { EnergyMix, EnergyObservations, EnergyRegion, EnergyStat } from '../../web/src/pipelines/eco2mix/api.js';
import {
  ENERGY_MAX_POINTS,
  formatMw,
  formatMwh,
  formatShare,
  latestHour,
  stackedSources,
  statsAsObservations,
} from '../../web/src/pipelines/eco2mix/energy.js';
import { openPlatform, tempHome } from '../helpers/platform.js';

/**
 * The Energy page (web/src/pipelines/eco2mix/) in a real headless Chromium against a real server (DuckDB +
 * folder lake) holding what the eco2mix pipeline made of generated consolidated files, one region's day cut
 * short so that it is incomplete. Charts are checked through the `data-*` attributes the Chart component
 * sets from its ECharts option, against what the API answers.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ARTIFACTS = join(ROOT, 'test', 'artifacts', 'dashboard');

/** Ten Paris days of the 12 regions; the page opens on the last seven. */
const FROM = '2024-01-01';
const TO = '2024-01-10';
/** Bretagne's 5 January loses its first six hours: 36 of 48 half hours, 75 %. */
const CUT_REGION = '53';
const CUT_DAY = '2024-01-05';

interface List<T> {
  items: T[];
  total: number;
}

describe('Energy page in headless Chromium', { skip: chromiumSkipReason() }, () => {
  let home: string;
  let platform: Platform;
  let app: FastifyInstance;
  let browser: Browser;
  let base: string;

  const api = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${base}${path}`);
    assert.equal(r.status, 200, `${path}: ${r.status}`);
    return (await r.json()) as T;
  };

  const open = async (path: string, ready: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => console.error(`page error on ${path}: ${err.message}`));
    await page.goto(`${base}${path}`);
    await page.waitForSelector(ready, { timeout: 20_000 });
    return page;
  };

  const attr = async (page: Page, testId: string, name: string): Promise<number> => Number(await page.getAttribute(`[data-testid="${testId}"]`, name));

  /** What the page's two charts must draw for a region and range: the values the observations route answers. */
  const expected = async (code: string, from: string, to: string) => {
    const obs = await api<EnergyObservations>(`/energy/regions/${code}/observations?from=${from}&to=${to}&max_points=${ENERGY_MAX_POINTS}`);
    assert.ok(obs.items.length > 0, `${code} has observations from ${from} to ${to}`);
    const values = (s: keyof EnergyObservations['items'][number]) => obs.items.filter((r) => typeof r[s] === 'number').length;
    const layers = stackedSources(obs.items);
    return {
      layers,
      series: layers.length + 1,
      production: layers.reduce((n, s) => n + values(s), 0) + values('consumption'),
      exchanges: values('exchanges'),
    };
  };

  /** Waits until the chart holds `value` in attribute `name` (it redrew after the URL moved). */
  const waitForAttr = (page: Page, testId: string, name: string, value: number) =>
    page.waitForSelector(`[data-testid="${testId}"][${name}="${value}"]`, { timeout: 20_000 });

  before(async () => {
    if (!existsSync(join(WEB_DIST, 'index.html'))) {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
        cwd: ROOT,
        stdio: 'inherit',
      });
    }
    await mkdir(ARTIFACTS, { recursive: true });
    home = await tempHome('ecluse-energy-e2e-');
    platform = await openPlatform(home);
    const dir = join(home, 'in');
    await mkdir(dir, { recursive: true });
    const generated = join(home, 'generated.jsonl');
    await writeEco2mix(generated, 'jsonl', { regions: 'all', from: FROM, to: TO, dataset: 'cons-def', seed: 7, now: Date.parse('2025-06-01T00:00:00Z') });
    const lines = (await readFile(generated, 'utf8')).split('\n').filter((l) => l.trim() !== '');
    const kept = lines.filter((l) => {
      const r = JSON.parse(l) as { code_insee_region: string; date: string; heure: string };
      return !(r.code_insee_region === CUT_REGION && r.date === CUT_DAY && r.heure < '06:00');
    });
    assert.equal(lines.length - kept.length, 12, 'six hours of half hours cut');
    await writeFile(join(dir, 'eco2mix.jsonl'), `${kept.join('\n')}\n`);
    const run = await executeRun(platform, eco2mixPipeline, { inputs: [dir], trigger: 'cli' });
    assert.equal(run.status, 'succeeded', run.error ?? '');

    app = await buildApp({ platform, logger: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await platform?.warehouse.close();
  });

  test('opened without a choice: France’s last 7 days, written into the URL; a region’s stacked production, consumption line, exchange bars', async () => {
    const regions = await api<{ items: EnergyRegion[] }>('/energy/regions');
    // The 12 regions and France, whose national totals the pipeline computes.
    assert.equal(regions.items.length, 13);
    const first = regions.items[0];
    assert.equal(first?.code, 'FR');
    const opened = await open('/?page=energy', '[data-testid="energy-production"][data-points]');
    await opened.waitForURL(new RegExp(`region=FR&from=2024-01-04&to=${TO}`));
    await opened.close();
    // The charts drawn from a region's observations (France's come from its hour statistics, below).
    const region = regions.items.find((r) => r.code !== 'FR');
    assert.ok(region);
    const page = await open(`/?page=energy&region=${region.code}&from=2024-01-04&to=${TO}`, '[data-testid="energy-production"][data-points]');
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('page'), 'energy');
    assert.equal(url.searchParams.get('region'), region.code);
    assert.equal(url.searchParams.get('from'), '2024-01-04');
    assert.equal(url.searchParams.get('to'), TO);
    assert.equal(await page.inputValue('select[name="region"]'), region.code);
    assert.equal(await page.inputValue('input[name="from"]'), '2024-01-04');
    assert.equal(await page.inputValue('input[name="to"]'), TO);
    assert.equal(await page.getAttribute('header nav a.active', 'href'), '?page=energy');

    const want = await expected(region.code, '2024-01-04', TO);
    await waitForAttr(page, 'energy-production', 'data-points', want.production);
    assert.ok(want.production > 7 * 48, 'several layers of 7 days of half hours');
    assert.equal(await attr(page, 'energy-production', 'data-series'), want.series, `${want.layers.join(', ')} and consumption`);
    // Each layer is stacked on the one below; consumption is a line, no area.
    const areas = (await page.getAttribute('[data-testid="energy-production"]', 'data-areas')) ?? '';
    assert.equal(areas.split(', ').length, want.layers.length, areas);
    assert.match(areas, /^\S.* from axis(, .* from .*)*$/);
    assert.ok(!areas.includes('Consumption'), areas);
    assert.equal(await attr(page, 'energy-exchanges', 'data-points'), want.exchanges);
    assert.ok(want.exchanges > 0);
    await page.screenshot({ path: join(ARTIFACTS, 'energy-state.png'), fullPage: true });

    // A reload keeps the region and the range.
    await page.reload();
    await page.waitForSelector('[data-testid="energy-production"][data-points]');
    assert.equal(new URL(page.url()).search, url.search);
    await page.close();
  });

  test('changing the region or the dates updates the URL and the data; the mix table holds the API’s figures', async () => {
    const page = await open(`/?page=energy&region=11&from=2024-01-04&to=${TO}`, '[data-testid="energy-production"][data-points]');
    const idf = await expected('11', '2024-01-04', TO);
    await waitForAttr(page, 'energy-production', 'data-points', idf.production);

    await page.selectOption('select[name="region"]', CUT_REGION);
    await page.waitForURL(new RegExp(`region=${CUT_REGION}`));
    const bzh = await expected(CUT_REGION, '2024-01-04', TO);
    assert.notEqual(bzh.production, idf.production, 'another region, other figures');
    await waitForAttr(page, 'energy-production', 'data-points', bzh.production);
    await waitForAttr(page, 'energy-exchanges', 'data-points', bzh.exchanges);
    assert.match((await page.textContent('[data-testid="energy-title"]')) ?? '', /^Bretagne, /);
    assert.match(page.url(), /from=2024-01-04&to=2024-01-10/, 'the dates stay');

    // The mix: one row per source the API gives, each figure as the API has it.
    const mixOf = async (from: string, to: string) => {
      const mix = await api<EnergyMix>(`/energy/mix?from=${from}&to=${to}&region=${CUT_REGION}`);
      assert.ok(mix.items.length >= 3);
      await page.waitForFunction(`document.querySelectorAll('[data-testid="mix-table"] tbody tr').length === ${mix.items.length}`);
      for (const item of mix.items) {
        const row = page.locator(`[data-testid="mix-table"] tr[data-source="${item.source}"]`);
        assert.equal(await row.locator('[data-field="energy_mwh"]').textContent(), formatMwh(item.energy_mwh), item.source);
        assert.equal(await row.locator('[data-field="share_of_production"]').textContent(), formatShare(item.share_of_production), item.source);
        assert.equal(await row.locator('[data-field="share_of_consumption"]').textContent(), formatShare(item.share_of_consumption), item.source);
      }
      return mix;
    };
    const week = await mixOf('2024-01-04', TO);
    const shares = week.items.reduce((s, i) => s + (i.share_of_production ?? 0), 0);
    assert.ok(Math.abs(shares - 1) < 1e-3, `production shares sum to 1 (${shares})`);

    // The dates: the URL moves, the charts and the mix follow.
    await page.fill('input[name="from"]', '2024-01-08');
    await page.waitForURL(/from=2024-01-08/);
    const shorter = await expected(CUT_REGION, '2024-01-08', TO);
    await waitForAttr(page, 'energy-production', 'data-points', shorter.production);
    const three = await mixOf('2024-01-08', TO);
    assert.notDeepEqual(three.items, week.items);
    // A start after the end drags the end along: the range never runs backwards.
    await page.fill('input[name="to"]', '2024-01-02');
    await page.waitForURL(/from=2024-01-02&to=2024-01-02/);
    await page.close();
  });

  test('a day below 100 % shows its completeness; complete days do not', async () => {
    const stats = await api<List<EnergyStat>>(`/energy/regions/${CUT_REGION}/stats?from=2024-01-04&to=${TO}&grain=day&sources=consumption`);
    const cut = stats.items.find((r) => r.period === CUT_DAY);
    assert.ok(cut && cut.completeness !== null && cut.completeness < 1, JSON.stringify(cut));
    assert.equal(cut.completeness, 0.75);
    const incomplete = stats.items.filter((r) => (r.completeness ?? 0) < 1);
    const page = await open(`/?page=energy&region=${CUT_REGION}&from=2024-01-04&to=${TO}`, '[data-testid="completeness"]');
    const rows = page.locator('[data-testid="completeness"] tbody tr');
    assert.equal(await rows.count(), incomplete.length, incomplete.map((r) => r.period).join(', '));
    const row = page.locator(`[data-testid="completeness"] tr[data-day="${CUT_DAY}"]`);
    assert.equal(await row.locator('[data-testid="completeness-badge"]').textContent(), formatShare(cut.completeness));
    assert.equal(formatShare(cut.completeness), '75.0 %');
    assert.match((await row.textContent()) ?? '', new RegExp(`5 Jan 2024.*${cut.samples}`));
    await page.close();

    // Another region, complete every day: said so, no table.
    const full = await api<List<EnergyStat>>(`/energy/regions/11/stats?from=2024-01-04&to=${TO}&grain=day&sources=consumption`);
    if (full.items.every((r) => r.completeness === 1)) {
      const other = await open(`/?page=energy&region=11&from=2024-01-04&to=${TO}`, '[data-testid="completeness-ok"]');
      assert.equal(await other.locator('[data-testid="completeness"]').count(), 0);
      await other.close();
    }
  });

  test('the regions’ grid: the 12 regions’ latest hour as the API has it; a region’s name opens it with the same dates', async () => {
    const page = await open(`/?page=energy&region=11&from=2024-01-04&to=${TO}`, '[data-testid="regions-grid"]');
    const regions = await api<{ items: EnergyRegion[] }>('/energy/regions');
    assert.equal(await page.locator('[data-testid="regions-grid"] > section').count(), 12);
    for (const r of regions.items.filter((x) => x.code !== 'FR')) {
      const stats = await api<List<EnergyStat>>(`/energy/regions/${r.code}/stats?from=2024-01-09&to=${TO}&grain=hour&limit=1000`);
      const hour = latestHour(stats.items);
      assert.ok(hour, r.code);
      // The last half hour loaded is 23:30 Paris on the 10th: its hour starts at 22:00 UTC.
      assert.equal(hour.period, '2024-01-10T22:00:00Z');
      const card = page.locator(`[data-testid="region-${r.code}"]`);
      await card.locator('[data-testid="latest-hour"]').waitFor();
      assert.equal(await card.locator('[data-testid="latest-hour"]').textContent(), '2024-01-10 23:00 Europe/Paris');
      assert.equal(await card.locator('dd[data-source="consumption"]').textContent(), formatMw(hour.consumption?.avg_mw));
      const main = hour.main[0];
      assert.ok(main, `${r.code} produces something`);
      assert.match((await card.locator(`dd[data-source="${main.source}"]`).textContent()) ?? '', new RegExp(`^${formatMw(main.avg_mw)}`));
    }
    assert.equal(await page.getAttribute('[data-testid="region-11"]', 'data-selected'), 'true');
    await page.click(`[data-testid="region-${CUT_REGION}"] h3 a`);
    await page.waitForURL(new RegExp(`region=${CUT_REGION}`));
    assert.match(page.url(), /from=2024-01-04&to=2024-01-10/);
    await page.waitForSelector(`[data-testid="region-${CUT_REGION}"][data-selected="true"]`);
    await page.close();
  });

  test('an unknown region is an error; a range without data is empty', async () => {
    const unknown = await open('/?page=energy&region=atlantis', '[data-state="error"]');
    assert.match((await unknown.textContent('[data-state="error"]')) ?? '', /no region "atlantis"/);
    assert.match(unknown.url(), /region=atlantis/, 'the URL is left as given');
    await unknown.close();
    // The charts ask for the region's stats when it has no instant in the range; none either: empty, like the mix and the days.
    const empty = await open('/?page=energy&region=11&from=2023-06-01&to=2023-06-07', '[data-state="empty"]:has-text("No data for Île-de-France")');
    assert.equal(await empty.locator('[data-testid="energy-production"]').count(), 0);
    await empty.waitForSelector('[data-state="empty"]:has-text("No energy for Île-de-France")');
    await empty.close();
  });

  test('France, from the national totals: the page opens on it, drawn from its hour statistics; the grid keeps the 12 regions', async () => {
    const regions = await api<{ items: EnergyRegion[] }>('/energy/regions');
    assert.equal(regions.items[0]?.code, 'FR');
    const page = await open('/?page=energy', '[data-testid="energy-production"][data-points]');
    await page.waitForURL(/region=FR&from=2024-01-04&to=2024-01-10/);
    const stats = await api<List<EnergyStat>>(`/energy/regions/FR/stats?from=2024-01-04&to=${TO}&grain=hour&limit=10000`);
    const hours = statsAsObservations(stats.items);
    // No national total for the hours Bretagne's cut day lacks: France needs all 12 regions.
    assert.equal(hours.length, 7 * 24 - 6);
    const layers = stackedSources(hours);
    const values = (s: keyof (typeof hours)[number]) => hours.filter((r) => typeof r[s] === 'number').length;
    await waitForAttr(page, 'energy-production', 'data-points', layers.reduce((n, s) => n + values(s), 0) + values('consumption'));
    assert.equal(await attr(page, 'energy-production', 'data-series'), layers.length + 1);
    assert.equal(await attr(page, 'energy-exchanges', 'data-points'), values('exchanges'));
    assert.match((await page.textContent('[data-testid="energy-time-note"]')) ?? '', /Average power of each hour/);
    await page.waitForSelector('[data-testid="mix-table"] tbody tr');
    assert.equal(await page.locator('[data-testid="regions-grid"] > section').count(), 12);
    assert.equal(await page.locator('[data-testid="region-FR"]').count(), 0);
    await page.close();
  });
});
