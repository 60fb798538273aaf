/**
 * The hand-made HR fixture of the rules (issue 18): each commute mode, both distance limits just under and
 * just over (through the HR file's distance column), a missing address, 14 vs 15 activities, and the
 * 12-month window's edge. `NOW` is a Monday of September 2025, noon in Paris.
 */
import type { Activity, CompanyDb, Employee } from '../../../src/pipelines/rewards/companyDb.js';
import { EMPLOYEE_COLUMNS } from '../../../src/pipelines/rewards/companyDb.js';
import type { RewardsRules, RewardsSettings } from '../../../src/pipelines/rewards/settings.js';

export const NOW = new Date('2025-09-15T10:00:00Z');
/** NOW − 12 months on Paris's wall clock (both CEST): the window's excluded start. */
export const EDGE = new Date('2024-09-15T10:00:00Z');

const base = {
  birth_date: '1990-07-06',
  business_unit: 'Marketing',
  hired_on: '2020-12-14',
  contract: 'CDI',
  paid_leave_days: 25,
  declared_sport: null,
} as const;

function employee(id: number, last: string, first: string, salary: number, mode: string, address: string | null, km: number | null): Employee {
  return {
    ...base,
    employee_id: id,
    last_name: last,
    first_name: first,
    gross_salary: salary,
    commute_mode: mode,
    home_address: address,
    declared_distance_km: km,
  };
}

export const WALK = 'Marche/running';
export const BIKE = 'Vélo/Trottinette/Autres';

export const EMPLOYEES: Employee[] = [
  employee(101, 'Colin', 'Audrey', 30940, WALK, '128 Rue du Port, 34000 Frontignan', 14.9),
  employee(102, 'Mendes', 'Juliette', 30940, WALK, '3 Rue de la Loge, 34000 Montpellier', 15.1),
  employee(103, 'Petit', 'Louis', 41234.57, BIKE, '5 Avenue de Toulouse, 34070 Montpellier', 24.9),
  employee(104, 'Roux', 'Emma', 52000, BIKE, '10 Quai de Bosc, 34200 Sète', 25.1),
  employee(105, 'Blanc', 'Hugo', 45000, 'Transports en commun', '2 Place de la Comédie, 34000 Montpellier', 3),
  employee(106, 'Garnier', 'Léa', 38000, 'véhicule thermique/électrique', '1 Rue Nationale, 34110 Vic-la-Gardiole', 40),
  employee(107, 'Faure', 'Nina', 28000, WALK, null, null),
  employee(108, 'Morel', 'Paul', 33333.33, BIKE, '8 Rue des Lilas, 34970 Lattes', 25),
];

/** Expected for NOW's year (2025). */
export const EXPECTED_2025: Record<number, { status: string; bonus: number; withheld: number; activities: number; days: number }> = {
  101: { status: 'checked', bonus: 1547, withheld: 0, activities: 14, days: 0 },
  102: { status: 'inconsistent', bonus: 0, withheld: 1547, activities: 0, days: 0 },
  // 5 % of 41 234.57 = 2 061.7285 → 2 061.73; 14 activities + one a second after the edge.
  103: { status: 'checked', bonus: 2061.73, withheld: 0, activities: 15, days: 5 },
  104: { status: 'inconsistent', bonus: 0, withheld: 2600, activities: 0, days: 0 },
  105: { status: 'not-applicable', bonus: 0, withheld: 0, activities: 15, days: 5 },
  // 14 activities + one exactly at the edge (excluded).
  106: { status: 'not-applicable', bonus: 0, withheld: 0, activities: 14, days: 0 },
  107: { status: 'unchecked', bonus: 1400, withheld: 0, activities: 0, days: 0 },
  // Exactly at the limit: not over it. 5 % of 33 333.33 = 1 666.6665 → 1 666.67.
  108: { status: 'checked', bonus: 1666.67, withheld: 0, activities: 0, days: 0 },
};

function run(employeeId: number, started: Date): Activity {
  return {
    employee_id: employeeId,
    started_at: started,
    ended_at: new Date(started.getTime() + 3600_000),
    elapsed_s: 3600,
    sport: 'Runing',
    distance_m: 10_000,
    comment: null,
    source: 'strava',
  };
}

/** `n` activities a week apart, the last one week before NOW: all well inside the window. */
function weekly(employeeId: number, n: number): Activity[] {
  return Array.from({ length: n }, (_, k) => run(employeeId, new Date(NOW.getTime() - (k + 1) * 7 * 86_400_000)));
}

export const ACTIVITIES: Activity[] = [
  ...weekly(101, 14),
  ...weekly(103, 14),
  run(103, new Date(EDGE.getTime() + 1000)),
  ...weekly(105, 15),
  ...weekly(106, 14),
  run(106, EDGE),
];

/** Writes the fixture's employees into the company database (what the HR import does). */
export async function insertEmployees(company: CompanyDb, employees: readonly Employee[] = EMPLOYEES): Promise<void> {
  const cols = [...EMPLOYEE_COLUMNS, 'updated_at'];
  await company.transaction(async (tx) => {
    for (const e of employees) {
      await tx.execute(`DELETE FROM employees WHERE employee_id = $1`, [e.employee_id]);
      await tx.execute(`INSERT INTO employees (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, [
        ...EMPLOYEE_COLUMNS.map((c) => e[c]),
        company.instant(NOW),
      ]);
    }
  });
}

/** The rules' defaults (FORMATS.md §4), as `pipelines.rewards.rules` gives them when not set. */
export const RULES: RewardsRules = {
  bonusPercent: 5,
  walkingLimitKm: 15,
  cyclingLimitKm: 25,
  wellbeingActivities: 15,
  wellbeingDays: 5,
  office: '1362 Av. des Platanes, 34970 Lattes',
  roadFactor: 1.25,
};

export function settingsWith(over: Partial<RewardsSettings> = {}): RewardsSettings {
  return {
    database: undefined,
    activitiesUrl: undefined,
    geocoderUrl: undefined,
    slackWebhook: undefined,
    rules: RULES,
    slack: { messagesPerSecond: 1, burst: 3, maxAttempts: 5, backoffMs: 1000, timeoutMs: 10_000, maxActivityAgeDays: 7 },
    ...over,
  };
}
