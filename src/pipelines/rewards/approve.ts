/**
 * `ecluse rewards approve EMPLOYEE`: HR looked at a declaration over the distance limit and accepts it. The
 * approval records who, when, and what was approved (mode, address, distance): it holds while they stay the
 * same, so a move or a new mode is checked again.
 */
import { sqlInstant } from '../kit/routeHelpers.js';
import type { Warehouse } from '../../warehouse/warehouse.js';
import { approvalOf, createRewardsTables, employeeOf, rewardParams, toDate } from './refresh.js';
import { computeReward, yearOf, type DistanceSource, type RewardRow } from './rules.js';
import { REWARDS, REWARDS_APPROVALS } from './schema.js';
import type { RewardsRules } from './settings.js';
import { withRewardsWriteLock } from './writeLock.js';

export class ApprovalError extends Error {
  override name = 'ApprovalError';
}

export interface Approval {
  employee_id: number;
  commute_mode: string;
  home_address: string | null;
  distance_km: number | null;
  approved_by: string;
  approved_at: Date;
  note: string | null;
}

/** A `rewards` row read back (plain values) as the rules' row. */
function rewardOf(r: Record<string, unknown>): RewardRow {
  return {
    year: Number(r.year),
    employee_id: Number(r.employee_id),
    first_name: String(r.first_name),
    last_name: String(r.last_name),
    business_unit: r.business_unit === null ? null : String(r.business_unit),
    commute_mode: String(r.commute_mode),
    gross_salary: Number(r.gross_salary),
    distance_km: r.distance_km === null ? null : Number(r.distance_km),
    distance_source: r.distance_source === null ? null : (String(r.distance_source) as DistanceSource),
    distance_status: String(r.distance_status) as RewardRow['distance_status'],
    bonus_eligible: r.bonus_eligible === true || r.bonus_eligible === 'true',
    bonus_reason: String(r.bonus_reason),
    bonus_eur: Number(r.bonus_eur),
    bonus_withheld_eur: Number(r.bonus_withheld_eur),
    activities_12m: Number(r.activities_12m),
    wellbeing_days: Number(r.wellbeing_days),
    computed_at: toDate(r.computed_at),
  };
}

/**
 * Records HR's approval of an employee's inconsistent declaration and recomputes their inconsistent rewards
 * rows, so the withheld bonus is paid. `reward` is the row of the year of `now` (or the latest one).
 * Throws ApprovalError when the employee is unknown to the warehouse or their declaration is not inconsistent.
 */
export function approveEmployee(args: ApprovalArgs): Promise<{ approval: Approval; reward: RewardRow }> {
  return withRewardsWriteLock(args.warehouse, () => approveUnlocked(args));
}

interface ApprovalArgs {
  warehouse: Warehouse;
  employeeId: number;
  by: string;
  note?: string;
  now: Date;
  rules: RewardsRules;
}

async function approveUnlocked(args: ApprovalArgs): Promise<{ approval: Approval; reward: RewardRow }> {
  const { warehouse, employeeId, now } = args;
  const by = args.by.trim();
  if (!by) throw new ApprovalError('an approval needs the name of who gives it');
  await createRewardsTables(warehouse);
  const [employeeRow] = await warehouse.query(`SELECT * FROM rewards_employees WHERE employee_id = $1`, [employeeId]);
  if (!employeeRow) throw new ApprovalError(`employee ${employeeId} is unknown (not in the HR data, or the rewards were never refreshed)`);
  const rows = (await warehouse.query(`SELECT * FROM rewards WHERE employee_id = $1 ORDER BY year DESC`, [employeeId])).map(rewardOf);
  const current = rows.find((r) => r.year === yearOf(now)) ?? rows[0];
  if (!current) throw new ApprovalError(`employee ${employeeId} has no rewards computed yet: refresh the rewards first`);
  if (current.distance_status !== 'inconsistent') {
    throw new ApprovalError(
      `employee ${employeeId} (${current.first_name} ${current.last_name}) is not inconsistent for ${current.year} (distance ${current.distance_status}): nothing to approve`,
    );
  }
  const employee = employeeOf(employeeRow);
  const approval: Approval = {
    employee_id: employeeId,
    commute_mode: employee.commute_mode,
    home_address: employee.home_address,
    distance_km: current.distance_km,
    approved_by: by,
    approved_at: now,
    note: args.note?.trim() || null,
  };
  const match = approvalOf({ ...approval, approved_at: now.toISOString() });
  // Only the inconsistent rows change: the approval moves them to approved, paid; the rest stay as computed.
  const recomputed = rows
    .filter((r) => r.distance_status === 'inconsistent')
    .map((r) =>
      computeReward(
        {
          year: r.year,
          employee: { ...employee, first_name: r.first_name, last_name: r.last_name, business_unit: r.business_unit, gross_salary: r.gross_salary },
          distance: { km: r.distance_km, source: r.distance_source, reason: null },
          activities12m: r.activities_12m,
          approval: match,
          computedAt: now,
        },
        args.rules,
      ),
    );
  await warehouse.transaction(async () => {
    await warehouse.execute(`DELETE FROM rewards_approvals WHERE employee_id = $1`, [employeeId]);
    await warehouse.upsert(REWARDS_APPROVALS, [
      [approval.employee_id, approval.commute_mode, approval.home_address, approval.distance_km, approval.approved_by, sqlInstant(now), approval.note],
    ]);
    for (const r of recomputed) {
      await warehouse.execute(`DELETE FROM rewards WHERE employee_id = $1 AND year = $2`, [employeeId, r.year]);
    }
    if (recomputed.length) await warehouse.upsert(REWARDS, recomputed.map(rewardParams));
  });
  const reward = recomputed.find((r) => r.year === current.year) ?? current;
  return { approval, reward };
}
