import { TOKEN_STORAGE_KEY } from '../../web/src/lib/token.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { chromiumSkipReason, launchChromium } from '../helpers/chromium.js';
import type { Platform } from '../../src/pipelines/kit/pipeline.js';
import { COMMUTE_MODES } from '../../src/pipelines/rewards/companyDb.js';
import { REWARDS, REWARDS_EMPLOYEES, REWARDS_NOTIFICATIONS, SPORT_ACTIVITIES } from '../../src/pipelines/rewards/schema.js';
import { buildApp } from '../../src/server/app.js';
import { WEB_DIST } from '../../src/server/routes/web.js';
import type { SqlParam } from '../../src/warehouse/warehouse.js';
import type { Inconsistencies, MonthlyActivities, Notifications, RewardsList, RewardsSummary } from '../../web/src/pipelines/rewards/api.js';
import {
  FEED_SIZE,
  IMPORT_COMMAND,
  REWARDS_PAGE_SIZE,
  distanceVsLimit,
  formatEur,
  monthlySeries,
  parisToday,
  parisYear,
  statusCounts,
  yearMonths,
  yearRange,
} from '../../web/src/pipelines/rewards/rewards.js';
import { openPlatform, tempHome } from '../helpers/platform.js';

/**
 * The Rewards page (web/src/pipelines/rewards/) in a real headless Chromium against a real server (DuckDB +
 * folder lake) whose warehouse holds what the rewards pipeline writes: employees, activities, the computed
 * rewards of 2025 and the Slack outbox, written through the warehouse's own `upsert`. What the page shows
 * is checked against what the API answers, through the page's own shaping functions (rewards.ts).
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ARTIFACTS = join(ROOT, 'test', 'artifacts', 'dashboard');

const YEAR = 2025;
/** More than a page of the per-employee table: the pager shows. */
const EMPLOYEES = REWARDS_PAGE_SIZE + 12;
const SPORTS = ['Course à pied', 'Randonnée', 'Vélo', 'Natation', 'Escalade', 'Tennis de table'] as const;
const DISTANCE_SPORTS = new Set(['Course à pied', 'Randonnée', 'Vélo', 'Natation']);
const BUS = ['Finance', 'Support', 'Ventes', 'R&D', 'Marketing'] as const;
const [CAR, TRANSIT, WALK, BIKE] = COMMUTE_MODES;
/** Over their mode's limit (15 km walking, 25 km bike): inconsistent, their bonus withheld. */
const INCONSISTENT = new Map<number, number>([
  [8, 18.4],
  [7, 31.2],
  [11, 26.05],
]);
const LIMITS: Record<string, number> = { [WALK]: 15, [BIKE]: 25 };

const pick = <T>(xs: readonly T[], i: number): T => xs[i % xs.length] as T;
const ts = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');

interface Fixture {
  employees: SqlParam[][];
  activities: SqlParam[][];
  rewards: SqlParam[][];
  notifications: SqlParam[][];
}

/** A small company and its year, deterministic: enough of each kind for every view to have rows and totals. */
function fixture(): Fixture {
  const employees: SqlParam[][] = [];
  const activities: SqlParam[][] = [];
  const rewards: SqlParam[][] = [];
  const notifications: SqlParam[][] = [];
  const computedAt = '2025-12-31 20:00:00';
  for (let id = 1; id <= EMPLOYEES; id++) {
    const mode = id % 3 === 0 ? CAR : id % 5 === 0 ? TRANSIT : id % 2 === 0 ? WALK : BIKE;
    const salary = 30_000 + ((id * 1373) % 40_000);
    const over = INCONSISTENT.get(id);
    assert.ok(over === undefined || over > (LIMITS[mode] ?? Infinity), `employee ${id} (${mode}) is over the limit of their mode`);
    const known = id % 4 !== 0;
    const distance = over ?? (known ? 2 + ((id * 7) % 12) : null);
    const address = id === 11 ? null : `${id} Rue du Port, 34000 Montpellier`;
    employees.push([id, `Nom${id}`, `Prénom${id}`, pick(BUS, id), '2020-01-01', salary, 'CDI', address, mode, distance, pick(SPORTS, id), computedAt]);

    // Every employee's activities of 2025, fewer for some: 15 or more earns the well-being days.
    const count = id % 6 === 0 ? 3 : 10 + (id % 9);
    for (let k = 0; k < count; k++) {
      const sport = pick(SPORTS, id + k);
      const start = new Date(Date.UTC(YEAR, (id + k * 5) % 12, 1 + ((id * 3 + k) % 27), 17, 30));
      const elapsed = 1800 + ((id * 97 + k * 31) % 7200);
      const end = new Date(start.getTime() + elapsed * 1000);
      activities.push([
        id,
        ts(start),
        ts(end),
        elapsed,
        sport,
        DISTANCE_SPORTS.has(sport) ? 1000 + ((id * 311 + k * 17) % 20_000) : null,
        null,
        'simulated',
        ts(end),
      ]);
    }

    const eligibleMode = mode === WALK || mode === BIKE;
    const bonus = Math.round(salary * 5) / 100;
    const status = !eligibleMode ? 'not-applicable' : over !== undefined ? 'inconsistent' : distance === null ? 'unchecked' : 'checked';
    const paid = eligibleMode && over === undefined ? bonus : 0;
    const withheld = over !== undefined ? bonus : 0;
    const reason = !eligibleMode
      ? `${mode} : pas de prime sportive`
      : over !== undefined
        ? `distance ${over} km au-delà de la limite de ${LIMITS[mode]} km : prime retenue`
        : '5 % du salaire brut';
    const wellbeing = count >= 15 ? 5 : 0;
    rewards.push([
      YEAR,
      id,
      `Prénom${id}`,
      `Nom${id}`,
      pick(BUS, id),
      mode,
      salary,
      distance,
      distance === null ? null : 'hr-file',
      status,
      paid > 0,
      reason,
      paid,
      withheld,
      count,
      wellbeing,
      computedAt,
    ]);
  }

  // The outbox: mostly sent, one dead letter, one unconfirmed post, one pending, one skipped.
  const statuses = ['dead', 'unconfirmed', 'pending', 'skipped', ...Array.from({ length: FEED_SIZE + 6 }, () => 'sent')];
  statuses.forEach((status, i) => {
    const id = (i % EMPLOYEES) + 1;
    const started = new Date(Date.UTC(YEAR, 10, 1 + (i % 28), 18, i % 60));
    const created = new Date(Date.UTC(YEAR, 11, 1, 8, 0) + (statuses.length - i) * 60_000);
    notifications.push([
      `${id}:${started.toISOString()}`,
      `evt-${i}`,
      id,
      ts(started),
      `Bravo Prénom${id} Nom${id} ! Vous avez fait 1 heure de Randonnée le samedi ${1 + (i % 28)} novembre 2025`,
      status,
      status === 'dead' ? 5 : status === 'sent' || status === 'unconfirmed' ? 1 : 0,
      status === 'dead' ? 'HTTP 500 from Slack after 5 attempts' : status === 'unconfirmed' ? 'timeout after 10 s: Slack may have posted it' : null,
      null,
      ts(created),
      status === 'sent' ? ts(new Date(created.getTime() + 1500)) : null,
    ]);
  });
  return { employees, activities, rewards, notifications };
}

/** The read token the pages hold and the `api` helper sends. */
const TOKEN = 'rewards-e2e';

describe('Rewards page in headless Chromium', { skip: chromiumSkipReason() }, () => {
  let home: string;
  let platform: Platform;
  let app: FastifyInstance;
  let browser: Browser | undefined;
  let base: string;

  const api = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200, `${path}: ${r.status}`);
    return (await r.json()) as T;
  };

  const open = async (path: string, ready: string): Promise<Page> => {
    assert.ok(browser);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // HR's data about people needs a read token: held as if the user had given it when the page asked.
    await page.addInitScript(`sessionStorage.setItem(${JSON.stringify(TOKEN_STORAGE_KEY)}, ${JSON.stringify(TOKEN)})`);
    page.on('pageerror', (err) => console.error(`page error on ${path}: ${err.message}`));
    await page.goto(`${base}${path}`);
    await page.waitForSelector(ready, { timeout: 20_000 });
    return page;
  };

  const text = async (page: Page, selector: string) => ((await page.textContent(selector)) ?? '').trim();

  before(async () => {
    if (!existsSync(join(WEB_DIST, 'index.html'))) {
      execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
        cwd: ROOT,
        stdio: 'inherit',
      });
    }
    await mkdir(ARTIFACTS, { recursive: true });
    home = await tempHome('ecluse-rewards-e2e-');
    platform = await openPlatform(home);
    const { warehouse } = platform;
    const f = fixture();
    for (const [ds, rows] of [
      [REWARDS_EMPLOYEES, f.employees],
      [SPORT_ACTIVITIES, f.activities],
      [REWARDS, f.rewards],
      [REWARDS_NOTIFICATIONS, f.notifications],
    ] as const) {
      await warehouse.ensureDataset(ds);
      await warehouse.upsert(ds, rows);
    }

    app = await buildApp({ platform, logger: false, localToken: TOKEN });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    await platform?.warehouse.close();
  });

  test('opened without a year: the current Paris year goes into the URL; a year without rewards says how to import', async () => {
    const current = parisYear(Date.now());
    const summary = await api<RewardsSummary>(`/rewards/summary?year=${current}`);
    assert.equal(summary.employees, 0, `the fixture has no rewards in ${current}`);
    const page = await open('/?page=rewards', '[data-state="empty"] [data-testid="import-command"]');
    await page.waitForURL(new RegExp(`page=rewards&year=${current}$`));
    assert.equal(await text(page, '[data-testid="import-command"]'), IMPORT_COMMAND);
    assert.equal(await page.inputValue('select[name="year"]'), String(current));
    assert.equal(await page.locator('[data-testid="rewards-summary"]').count(), 0);
    assert.equal(await page.getAttribute('header nav a.active', 'href'), '?page=rewards');

    // Choosing the year with data: the URL moves, the totals show.
    await page.selectOption('select[name="year"]', String(YEAR));
    await page.waitForURL(new RegExp(`year=${YEAR}`));
    await page.waitForSelector('[data-testid="rewards-summary"]');
    await page.close();
  });

  test('the totals: each figure as the API has it, euros written the French way', async () => {
    const s = await api<RewardsSummary>(`/rewards/summary?year=${YEAR}`);
    assert.equal(s.year, YEAR);
    assert.equal(s.employees, EMPLOYEES);
    assert.equal(s.inconsistencies, INCONSISTENT.size);
    assert.ok(s.bonus_employees > 0 && s.bonus_total_eur > 0 && s.bonus_withheld_eur > 0 && s.wellbeing_employees > 0, JSON.stringify(s));
    const page = await open(`/?page=rewards&year=${YEAR}`, '[data-testid="rewards-summary"]');
    const stat = (field: string) => text(page, `[data-testid="rewards-summary"] [data-field="${field}"] .stat-value`);
    assert.equal(await stat('employees'), String(s.employees));
    assert.equal(await stat('bonus_employees'), String(s.bonus_employees));
    assert.equal(await stat('bonus_total_eur'), formatEur(s.bonus_total_eur));
    assert.match(await stat('bonus_total_eur'), /^\d{1,3}(\u202f\d{3})*,\d{2}\u00a0€$/);
    assert.equal(await stat('bonus_withheld_eur'), formatEur(s.bonus_withheld_eur));
    assert.equal(await stat('wellbeing_employees'), String(s.wellbeing_employees));
    assert.equal(await stat('wellbeing_days_total'), String(s.wellbeing_days_total));
    assert.equal(await stat('inconsistencies'), String(s.inconsistencies));
    assert.equal(await stat('unchecked'), String(s.unchecked));
    assert.equal(await page.getAttribute('[data-field="inconsistencies"]', 'class'), 'stat warn', 'inconsistencies stand out');
    await page.screenshot({ path: join(ARTIFACTS, 'rewards.png'), fullPage: true });
    await page.close();
  });

  test('activities by sport and month: a stacked bar per sport over the year’s months, as the API counts them; the measure is in the URL', async () => {
    const { from, to } = yearRange(YEAR);
    const monthly = await api<MonthlyActivities>(`/sport/activities/monthly?from=${from}&to=${to}`);
    const months = yearMonths(YEAR, parisToday(Date.now()));
    const chart = monthlySeries(monthly.items, months, 'activities');
    assert.equal(chart.sports.length, SPORTS.length, chart.sports.map((s) => s.sport).join(', '));
    assert.equal(
      chart.sports.reduce((n, s) => n + s.total, 0),
      fixture().activities.length,
      'every activity of the year counted once',
    );
    const page = await open(`/?page=rewards&year=${YEAR}`, '[data-testid="rewards-monthly"][data-points]');
    const attr = async (name: string) => Number(await page.getAttribute('[data-testid="rewards-monthly"]', name));
    assert.equal(await attr('data-series'), chart.sports.length);
    assert.equal(await attr('data-points'), chart.sports.length * chart.months.length);

    // Distance: sports without one (climbing, table tennis) have no bars.
    await page.selectOption('select[name="measure"]', 'distance_km');
    await page.waitForURL(/measure=distance_km/);
    const km = monthlySeries(monthly.items, months, 'distance_km');
    assert.equal(km.sports.length, DISTANCE_SPORTS.size);
    await page.waitForSelector(`[data-testid="rewards-monthly"][data-series="${km.sports.length}"]`);
    await page.close();
  });

  test('the inconsistencies: one row per declaration over its limit, with the distance against the limit and the bonus withheld', async () => {
    const inc = await api<Inconsistencies>(`/rewards/inconsistencies?year=${YEAR}`);
    assert.deepEqual(
      inc.items.map((i) => i.employee_id).sort((a, b) => a - b),
      [...INCONSISTENT.keys()].sort((a, b) => a - b),
    );
    const page = await open(`/?page=rewards&year=${YEAR}`, '[data-testid="rewards-inconsistencies"]');
    assert.equal(await page.locator('[data-testid="rewards-inconsistencies"] tbody tr').count(), inc.items.length);
    for (const item of inc.items) {
      const row = page.locator(`[data-testid="rewards-inconsistencies"] tr[data-employee="${item.employee_id}"]`);
      assert.equal(await row.locator('[data-field="commute_mode"]').textContent(), item.commute_mode, 'the HR file’s French label as it is');
      assert.equal(await row.locator('[data-field="distance"]').textContent(), distanceVsLimit(item.distance_km, item.limit_km));
      assert.equal(await row.locator('[data-field="bonus_withheld_eur"]').textContent(), formatEur(item.bonus_withheld_eur));
      assert.ok(item.bonus_withheld_eur > 0);
      assert.match((await row.textContent()) ?? '', new RegExp(item.reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    }
    await page.close();
  });

  test('the per-employee table pages through the year’s rewards; the offset is in the URL', async () => {
    const first = await api<RewardsList>(`/rewards?year=${YEAR}&limit=${REWARDS_PAGE_SIZE}&offset=0`);
    assert.equal(first.total, EMPLOYEES);
    const page = await open(`/?page=rewards&year=${YEAR}`, '[data-testid="rewards-table"]');
    assert.equal(await page.locator('[data-testid="rewards-table"] tbody tr').count(), REWARDS_PAGE_SIZE);
    const r = first.items[0];
    assert.ok(r);
    const row = page.locator(`[data-testid="rewards-table"] tr[data-employee="${r.employee_id}"]`);
    assert.equal(await row.locator('[data-field="bonus_eur"]').textContent(), formatEur(r.bonus_eur));
    assert.equal(await row.locator('[data-field="commute_mode"]').textContent(), r.commute_mode);
    await page.click('[data-testid="pager"] button:has-text("Next")');
    await page.waitForURL(new RegExp(`offset=${REWARDS_PAGE_SIZE}`));
    await page.waitForFunction(`document.querySelectorAll('[data-testid="rewards-table"] tbody tr').length === ${EMPLOYEES - REWARDS_PAGE_SIZE}`, undefined, {
      timeout: 20_000,
    });
    await page.close();
  });

  test('the Slack feed: counts by status as the API has them, dead letters and unconfirmed posts highlighted; a count filters the feed', async () => {
    const all = await api<Notifications>(`/rewards/notifications?limit=${FEED_SIZE}`);
    const want = statusCounts(all.counts);
    assert.equal(all.counts.dead, 1);
    assert.equal(all.counts.unconfirmed, 1);
    const page = await open(`/?page=rewards&year=${YEAR}`, '[data-testid="notification-feed"]');
    for (const c of want) {
      const b = page.locator(`[data-testid="notification-counts"] [data-status="${c.status}"]`);
      assert.equal(Number(await b.getAttribute('data-count')), c.count, c.status);
      assert.equal((await b.getAttribute('data-highlight')) === 'true', c.highlight, c.status);
    }
    assert.equal(await page.locator('[data-testid="notification-feed"] tbody tr').count(), Math.min(FEED_SIZE, all.total));
    if (all.total > FEED_SIZE) assert.match(await text(page, '[data-testid="notification-more"]'), new RegExp(`of ${all.total}`));

    // The dead letters alone: its row highlighted, with its attempts and last error.
    await page.click('[data-testid="notification-counts"] [data-status="dead"]');
    await page.waitForURL(/status=dead/);
    await page.waitForFunction(`document.querySelectorAll('[data-testid="notification-feed"] tbody tr').length === 1`, undefined, { timeout: 20_000 });
    const dead = page.locator('[data-testid="notification-feed"] tbody tr');
    assert.equal(await dead.getAttribute('data-status'), 'dead');
    assert.equal(await dead.getAttribute('data-alarming'), 'true');
    assert.equal(await dead.locator('[data-field="last_error"]').textContent(), 'HTTP 500 from Slack after 5 attempts');
    assert.match((await dead.locator('[data-field="message"]').textContent()) ?? '', /^Bravo Prénom\d+ Nom\d+ ! Vous avez fait/);
    // Pressed again: the whole feed.
    await page.click('[data-testid="notification-counts"] [data-status="dead"]');
    await page.waitForFunction(`!location.search.includes('status=')`);
    await page.close();
  });
});
