/**
 * The warehouse's side of the rewards: copies the company's employees and activities, resolves the home →
 * office distances, and computes the `rewards` rows of the current year and of every year having activities.
 */
import type { Logger } from 'pino';
import { sqlInstant } from '../kit/routeHelpers.js';
import type { SqlParam, Warehouse } from '../../warehouse/warehouse.js';
import { columnNames, quoteIdent, type Dataset } from '../../warehouse/dataset.js';
import { bulkInsert } from '../../engine/bulk.js';
import type { CompanyDb } from './companyDb.js';
import { chainDistances, hrFileDistances, noDistances, type DistanceProvider, type DistanceQuery } from './distance.js';
import { geocoderDistances } from './geocoder.js';
import { activityWindow, computeReward, countInWindow, yearOf, type ApprovalMatch, type Distance, type RewardEmployee, type RewardRow } from './rules.js';
import { REWARDS, REWARDS_DATASETS, REWARDS_EMPLOYEES, SPORT_ACTIVITIES } from './schema.js';
import { withRewardsWriteLock } from './writeLock.js';
import type { RewardsRules, RewardsSettings } from './settings.js';

/** Creates every table of the rewards pipeline that is missing. */
export async function createRewardsTables(warehouse: Warehouse): Promise<void> {
  for (const ds of REWARDS_DATASETS) await warehouse.ensureDataset(ds);
}

/** The distance providers of this configuration: the HR file's column first, then the geocoder or none. */
function distanceProvider(
  settings: RewardsSettings,
  warehouse: Warehouse,
  opts: { fetch?: typeof fetch; signal?: AbortSignal; log?: Logger } = {},
): DistanceProvider {
  const next = settings.geocoderUrl
    ? geocoderDistances({ url: settings.geocoderUrl, warehouse, office: settings.rules.office, roadFactor: settings.rules.roadFactor, ...opts })
    : noDistances;
  return chainDistances([hrFileDistances, next]);
}

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
/** An instant from the databases' plain values (ISO, with or without its `Z`) as a naive UTC timestamp parameter. */
const instantParam = (v: unknown) => (v === null || v === undefined ? null : sqlInstant(toDate(v)));
export function toDate(v: unknown): Date {
  if (v instanceof Date) return v;
  const s = String(v).replace(' ', 'T');
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
}

/** A `rewards` row as parameters in the table's column order. */
export function rewardParams(r: RewardRow): SqlParam[] {
  const row: Record<string, SqlParam> = { ...r, computed_at: sqlInstant(r.computed_at) };
  return columnNames(REWARDS).map((c) => row[c] ?? null);
}

/**
 * Inserts rows into a table emptied of their keys, the bulk way of each warehouse: PostgreSQL takes them by
 * multi-row statements (`upsert`); DuckDB's `upsert` deletes each chunk's keys with one OR per row first,
 * which made 20,000 activities take 25 s, so they go through an engine table and one INSERT … SELECT (0.5 s).
 */
async function insertRows(warehouse: Warehouse, ds: Dataset, rows: readonly SqlParam[][]): Promise<void> {
  if (rows.length === 0) return;
  if (warehouse.kind !== 'duckdb') {
    for (let i = 0; i < rows.length; i += 5000) await warehouse.upsert(ds, rows.slice(i, i + 5000));
    return;
  }
  const stage = quoteIdent(`rewards_stage_${ds.name}`);
  const { engine, release } = await warehouse.openEngine();
  try {
    await engine.run(`CREATE OR REPLACE TEMP TABLE ${stage} (${ds.columns.map(([c, t]) => `${quoteIdent(c)} ${t}`).join(', ')})`);
    await bulkInsert(engine, `rewards_stage_${ds.name}`, ds.columns, rows);
    await warehouse.appendFromEngine(ds.name, columnNames(ds), engine, `SELECT * FROM ${stage}`);
    await engine.run(`DROP TABLE ${stage}`);
  } finally {
    await release();
  }
}

export function employeeOf(r: Record<string, unknown>): RewardEmployee {
  return {
    employee_id: Number(r.employee_id),
    first_name: String(r.first_name),
    last_name: String(r.last_name),
    business_unit: str(r.business_unit),
    commute_mode: String(r.commute_mode),
    gross_salary: Number(r.gross_salary),
    home_address: str(r.home_address),
  };
}

export function approvalOf(r: Record<string, unknown>): ApprovalMatch {
  return { commute_mode: str(r.commute_mode), home_address: str(r.home_address), approved_by: String(r.approved_by), approved_at: toDate(r.approved_at) };
}

/** The rewards of these employees for these years. */
export function computeRewards(args: {
  employees: readonly RewardEmployee[];
  /** Start instants (ms) of each employee's activities. */
  activityTimes: ReadonlyMap<number, readonly number[]>;
  distances: ReadonlyMap<number, Distance>;
  approvals: ReadonlyMap<number, ApprovalMatch>;
  years: readonly number[];
  rules: RewardsRules;
  now: Date;
}): RewardRow[] {
  const rows: RewardRow[] = [];
  for (const year of args.years) {
    const window = activityWindow(year, args.now);
    for (const employee of args.employees) {
      rows.push(
        computeReward(
          {
            year,
            employee,
            distance: args.distances.get(employee.employee_id) ?? { km: null, source: null, reason: 'no distance known' },
            activities12m: countInWindow(args.activityTimes.get(employee.employee_id) ?? [], window),
            approval: args.approvals.get(employee.employee_id) ?? null,
            computedAt: args.now,
          },
          args.rules,
        ),
      );
    }
  }
  return rows;
}

export interface RefreshSummary {
  employees: number;
  activities: number;
  /** `rewards` rows written (employees × years). */
  rewards: number;
  /** Of them, inconsistent ones (bonus withheld). */
  inconsistencies: number;
  years: number[];
}

/**
 * Copies the company's employees and activities into the warehouse (replacing the copies), resolves the
 * distances, and replaces the `rewards` rows of the current year and of every year having activities, in one
 * warehouse transaction: readers see the old rewards or the new ones, never a mix. One writer of the rewards
 * tables at a time (writeLock.ts): a refresh begun while another works waits for it.
 */
export function refreshRewards(args: RefreshArgs): Promise<RefreshSummary> {
  return withRewardsWriteLock(args.warehouse, () => refreshUnlocked(args), args);
}

interface RefreshArgs {
  warehouse: Warehouse;
  company: CompanyDb;
  settings: RewardsSettings;
  now: Date;
  log?: Logger;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** Called last inside the transaction that writes the refresh: a run records itself there, so both commit together. */
  inTransaction?: () => Promise<void>;
}

async function refreshUnlocked(args: RefreshArgs): Promise<RefreshSummary> {
  const { warehouse, company, settings, now, log, signal } = args;
  // Read first, committed: on the embedded company database these tables are in the warehouse, and the
  // transaction below must not be open while they are read.
  const employeeRows = await company.query(
    `SELECT employee_id, last_name, first_name, business_unit, hired_on, gross_salary, contract, home_address, commute_mode, declared_distance_km, declared_sport
     FROM employees ORDER BY employee_id`,
  );
  const activityRows = await company.query(
    `SELECT employee_id, started_at, ended_at, elapsed_s, sport, distance_m, comment, source, recorded_at FROM activities ORDER BY employee_id, started_at`,
  );
  signal?.throwIfAborted();
  await createRewardsTables(warehouse);

  const queries: DistanceQuery[] = employeeRows.map((r) => ({
    employee_id: Number(r.employee_id),
    home_address: str(r.home_address),
    declared_distance_km: num(r.declared_distance_km),
  }));
  // Geocoding happens here, before the transaction: no transaction stays open across HTTP calls.
  const distances = await distanceProvider(settings, warehouse, { fetch: args.fetch, signal, log }).distances(queries);
  signal?.throwIfAborted();

  const approvals = new Map((await warehouse.query(`SELECT * FROM rewards_approvals`)).map((r) => [Number(r.employee_id), approvalOf(r)]));
  const activityTimes = new Map<number, number[]>();
  const years = new Set([yearOf(now)]);
  for (const a of activityRows) {
    const t = toDate(a.started_at);
    const id = Number(a.employee_id);
    let list = activityTimes.get(id);
    if (!list) activityTimes.set(id, (list = []));
    list.push(t.getTime());
    years.add(yearOf(t));
  }
  const sortedYears = [...years].sort((a, b) => a - b);
  const rewards = computeRewards({
    employees: employeeRows.map(employeeOf),
    activityTimes,
    distances,
    approvals,
    years: sortedYears,
    rules: settings.rules,
    now,
  });

  const syncedAt = sqlInstant(now);
  const employeeParams = employeeRows.map((r) => [
    Number(r.employee_id),
    String(r.last_name),
    String(r.first_name),
    str(r.business_unit),
    str(r.hired_on)?.slice(0, 10) ?? null,
    Number(r.gross_salary),
    str(r.contract),
    str(r.home_address),
    String(r.commute_mode),
    num(r.declared_distance_km),
    str(r.declared_sport),
    syncedAt,
  ]);
  const activityParams = activityRows.map((a) => [
    Number(a.employee_id),
    instantParam(a.started_at),
    instantParam(a.ended_at),
    Number(a.elapsed_s),
    String(a.sport),
    num(a.distance_m),
    str(a.comment),
    String(a.source),
    instantParam(a.recorded_at),
  ]);
  const write = async () => {
    await warehouse.execute(`DELETE FROM rewards_employees`);
    await insertRows(warehouse, REWARDS_EMPLOYEES, employeeParams);
    await warehouse.execute(`DELETE FROM sport_activities`);
    await insertRows(warehouse, SPORT_ACTIVITIES, activityParams);
    await warehouse.execute(`DELETE FROM rewards WHERE year IN (${sortedYears.map((_, i) => `$${i + 1}`).join(', ')})`, sortedYears);
    await insertRows(warehouse, REWARDS, rewards.map(rewardParams));
    await args.inTransaction?.();
  };
  // The embedded company database shares the warehouse's connection: its transaction queue keeps this one
  // from interleaving with an activity being inserted through it.
  if (company.kind === 'embedded') await company.transaction(write);
  else await warehouse.transaction(write);
  const summary = {
    employees: employeeRows.length,
    activities: activityRows.length,
    rewards: rewards.length,
    inconsistencies: rewards.filter((r) => r.distance_status === 'inconsistent').length,
    years: sortedYears,
  };
  log?.info(summary, 'rewards refreshed');
  return summary;
}
