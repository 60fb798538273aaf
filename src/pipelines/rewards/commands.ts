/**
 * The rewards pipeline's own commands: `ecluse rewards import`, `ecluse rewards approve`, `ecluse simulate
 * activities`. Read at every start-up (for `--help`): nothing heavy is imported here, the actions load
 * their modules when they run.
 */
import { existsSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { CommandAction, CommandGroup, CommandServices, PipelineCommand } from '../kit/commands.js';
import { UsageError } from '../kit/pipeline.js';

/** A file named by an option: it must exist (a usage error otherwise, before any work). */
function existingFile(flag: string, path: unknown): string {
  if (typeof path !== 'string' || path === '') throw new UsageError(`${flag} FILE is required`);
  const full = resolve(path);
  if (!existsSync(full)) throw new UsageError(`${flag} ${path}: no such file`);
  if (!statSync(full).isFile()) throw new UsageError(`${flag} ${path}: not a file`);
  return full;
}

/** `rewards import`: both files checked for what they are, then a run of the pipeline on them, as `ecluse run rewards --input …`. */
const importAction: CommandAction = async (_args, opts, services) => {
  const hr = existingFile('--hr', opts.hr);
  const sports = existingFile('--sports', opts.sports);
  const { hrFileKind, HrFileError } = await import('./hrFiles.js');
  for (const [flag, path, expected] of [
    ['--hr', hr, 'hr'],
    ['--sports', sports, 'sport'],
  ] as const) {
    let kind;
    try {
      kind = await hrFileKind(path, String(flag === '--hr' ? opts.hr : opts.sports));
    } catch (err) {
      if (err instanceof HrFileError) throw new UsageError(`${flag}: ${err.message}`);
      throw err;
    }
    if (kind !== expected) {
      const other = kind === 'hr' ? 'the HR file (Données RH)' : 'the sport file (Données Sportive)';
      throw new UsageError(`${flag} ${String(flag === '--hr' ? opts.hr : opts.sports)} is ${other}, by its headers: swap --hr and --sports?`);
    }
  }
  await services.runPipeline('rewards', [hr, sports], { json: opts.json === true });
};

function employeeId(v: unknown): number {
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || !Number.isSafeInteger(n) || n <= 0)
    throw new UsageError(`EMPLOYEE must be an employee id (a positive integer), got "${String(v)}"`);
  return n;
}

function yearOption(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d{4}$/.test(v)) throw new UsageError(`--year must be a year YYYY, got "${String(v)}"`);
  return n;
}

/**
 * `rewards approve`: through the running server when there is one (it holds the embedded warehouse), else
 * here; prints the approval and the employee's reward as it now stands.
 */
const approveAction: CommandAction = async (args, opts, services) => {
  const id = employeeId(args[0]);
  const year = yearOption(opts.year);
  if (opts.by !== undefined && String(opts.by).trim() === '') throw new UsageError('--by must name who approves');
  const by = typeof opts.by === 'string' ? opts.by : userInfo().username;
  const note = typeof opts.note === 'string' ? opts.note : undefined;
  interface Approved {
    approval: { approved_by: string; approved_at: string | Date };
    reward: { year: number; first_name: string; last_name: string; bonus_eur: number; bonus_reason: string };
  }
  const result = await services.throughServerOr<Approved>(
    'rewards approve',
    (server) => server.post<Approved>(`/rewards/employees/${id}/approval`, { by, ...(note ? { note } : {}) }),
    async (p) => {
      const [{ approveEmployee, ApprovalError }, { rewardsConfig }] = await Promise.all([import('./approve.js'), import('./settings.js')]);
      try {
        return await approveEmployee({ warehouse: p.warehouse, employeeId: id, by, note, now: new Date(), rules: rewardsConfig.settings(p.config).rules });
      } catch (err) {
        if (err instanceof ApprovalError) throw new UsageError(err.message);
        throw err;
      }
    },
  );
  if (opts.json === true) return services.printJson(result);
  const r = result.reward;
  const at = result.approval.approved_at instanceof Date ? result.approval.approved_at.toISOString() : result.approval.approved_at;
  process.stdout.write(
    `approved by ${result.approval.approved_by} at ${at}: ${r.first_name} ${r.last_name}, ${r.year}: ${r.bonus_eur.toFixed(2)} € (${r.bonus_reason})\n`,
  );
  if (year !== undefined && year !== r.year) process.stdout.write(`(the approval applies to every year whose declaration was inconsistent)\n`);
};

function portOption(v: unknown): number {
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n > 65_535) throw new UsageError(`--port must be a TCP port (0 to 65535), got "${String(v)}"`);
  return n;
}

/**
 * `simulate activities`: the activity source stand-in, serving the employees of the sport file given, or
 * else of the company database, until Ctrl-C.
 */
const simulateAction: CommandAction = async (_args, opts, services) => {
  portOption(opts.port);
  const { simulateActivitiesCommand } = await import('./simulator.js');
  const employees =
    typeof opts.sports === 'string' ? await declaredSports(existingFile('--sports', opts.sports), opts.sports) : await companyEmployees(services);
  const sim = await simulateActivitiesCommand(
    { port: String(opts.port), seed: opts.seed as string | undefined, live: opts.live as string | undefined },
    employees,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await sim.close();
};

async function declaredSports(path: string, name: string): Promise<{ employee_id: number; declared_sport: string | null }[]> {
  const { readHrFile } = await import('./hrFiles.js');
  const read = await readHrFile(path, name);
  if (read.kind !== 'sport') throw new UsageError(`--sports ${name} is the HR file (Données RH), by its headers`);
  return read.declarations.map((d) => ({ employee_id: d.employee_id, declared_sport: d.sport }));
}

async function companyEmployees(services: CommandServices): Promise<{ employee_id: number; declared_sport: string | null }[]> {
  return services.withPlatform('simulate activities', async (p) => {
    const [{ openCompanyDb }, { rewardsConfig }] = await Promise.all([import('./companyDb.js'), import('./settings.js')]);
    const company = await openCompanyDb(rewardsConfig.settings(p.config).database, p.warehouse);
    try {
      const rows = await company.query('SELECT employee_id, declared_sport FROM employees ORDER BY employee_id');
      return rows.map((r) => ({ employee_id: Number(r.employee_id), declared_sport: r.declared_sport === null ? null : String(r.declared_sport) }));
    } finally {
      await company.close();
    }
  });
}

export const rewardsCommandGroups: readonly CommandGroup[] = [
  { path: ['rewards'], description: 'the rewards pipeline: import HR files, approve declarations (ecluse rewards --help)' },
  { path: ['simulate'], description: 'stand-ins for outside services, for demos and tests (ecluse simulate --help)' },
];

export const rewardsCommands: readonly PipelineCommand[] = [
  {
    path: ['rewards', 'import'],
    description: 'load the HR file and the sport file (XLSX or CSV, French headers) into the company database: a run of the rewards pipeline',
    options: [
      { flags: '--hr <file>', description: 'the HR file (Données RH)', required: true },
      { flags: '--sports <file>', description: 'the sport declarations (Données Sportive)', required: true },
      { flags: '--json', description: 'print the run summary as JSON' },
    ],
    action: () => Promise.resolve(importAction),
  },
  {
    path: ['rewards', 'approve'],
    description: "approve an employee's commute declaration found inconsistent (over the distance limit): the withheld bonus is paid",
    arguments: [{ name: '<employee>', description: 'the employee id (ID salarié)' }],
    options: [
      { flags: '--by <name>', description: 'who approves (default: this system user)' },
      { flags: '--note <text>', description: 'why, kept with the approval' },
      { flags: '--year <year>', description: 'the year of the rewards recomputed and shown (default: the current year, Europe/Paris)' },
      { flags: '--json', description: 'print JSON' },
    ],
    action: () => Promise.resolve(approveAction),
  },
  {
    path: ['simulate', 'activities'],
    description: 'serve a Strava-like activity source (GET /employee/{id}) with a seeded history of the employees’ declared sports',
    options: [
      { flags: '--port <port>', description: 'TCP port (0: any free port)', defaultValue: '8090' },
      { flags: '--sports <file>', description: 'the employees and their sports from this sport file (default: the company database)' },
      { flags: '--seed <n>', description: 'seed of the history (the same seed serves the same activities)' },
      { flags: '--live <every>', description: 'a new activity every so often (30s, 2m, 500ms)' },
    ],
    action: () => Promise.resolve(simulateAction),
  },
];
