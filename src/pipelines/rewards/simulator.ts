/**
 * The activity source standing in for Strava, over HTTP: the old system's contract, `GET /employee/{id}` →
 * that employee's activities (`?after=ISO`: only those started after), from the seeded history of
 * activityHistory.ts, plus, when asked, activities that happen "now" as time goes by (demos, the end-to-end
 * path from a pull to a Slack message). `ecluse simulate activities` runs it.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { Rng } from '../../connectors/generators/random.js';
import { isInstant } from '../../time/instants.js';
import type { Activity } from './companyDb.js';
import { DEFAULT_SEED, generateActivityHistory, liveActivity, toSourceActivity, type SourceActivity, type SourceEmployee } from './activityHistory.js';

export interface ActivitySimulatorOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1: the simulator is for this machine unless told otherwise. */
  host?: string;
  employees: readonly SourceEmployee[];
  seed?: number;
  /** The clock the history and live activities follow (tests fix it). */
  now?: () => Date;
  /** Every this many ms, one employee who practises a sport finishes an activity (off when unset or ≤ 0). */
  liveEveryMs?: number;
}

export interface ActivitySimulator {
  /** `http://host:port`, what `ECLUSE_REWARDS_ACTIVITIES_URL` takes. */
  readonly url: string;
  close(): Promise<void>;
  /** Adds an activity to the source (it is served from then on); false when one with its key is already there. */
  addActivity(activity: Activity): boolean;
  /** A new activity that ends now, for a practising employee drawn by the seed (or `employeeId`); what the live timer does. */
  tick(employeeId?: number): Activity | null;
  /** Serves `record` as it is among the employee's activities: a broken source, for tests of the pull's checks. */
  addRecord(employeeId: number, record: unknown): void;
}

/** Sorted by start: the order the source answers in. */
function byStart(a: Activity, b: Activity): number {
  return a.started_at.getTime() - b.started_at.getTime();
}

export async function startActivitySimulator(options: ActivitySimulatorOptions): Promise<ActivitySimulator> {
  const seed = options.seed ?? DEFAULT_SEED;
  const now = options.now ?? (() => new Date());
  const employees = new Map(options.employees.map((e) => [e.employee_id, e]));
  const practising = options.employees.filter((e) => e.declared_sport !== null && e.declared_sport.trim() !== '');
  /** Added after start (live or by `addActivity`), by employee. */
  const added = new Map<number, Map<number, Activity>>();
  const raw = new Map<number, unknown[]>();
  const liveRng = new Rng(seed, 'rewards-live');

  const historyOf = (id: number, at: Date): Activity[] => {
    const e = employees.get(id);
    if (!e) return [];
    // The history is a pure function of the seed and the clock: computed per request, it grows as time passes.
    const history = generateActivityHistory([e], at, { seed });
    const keys = new Set(history.map((a) => a.started_at.getTime()));
    const extra = [...(added.get(id)?.values() ?? [])].filter((a) => !keys.has(a.started_at.getTime()) && a.ended_at <= at);
    return [...history, ...extra].sort(byStart);
  };

  const addActivity = (a: Activity): boolean => {
    let mine = added.get(a.employee_id);
    if (!mine) added.set(a.employee_id, (mine = new Map()));
    const key = a.started_at.getTime();
    if (mine.has(key)) return false;
    mine.set(key, a);
    return true;
  };

  const tick = (employeeId?: number): Activity | null => {
    const e = employeeId === undefined ? (practising.length > 0 ? liveRng.pick(practising) : undefined) : employees.get(employeeId);
    if (!e) return null;
    const a = liveActivity(liveRng, e, now());
    return addActivity(a) ? a : null;
  };

  const app: FastifyInstance = Fastify({ logger: false });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }));
  app.get('/health', async () => ({ status: 'ok', employees: employees.size, practising: practising.length }));
  app.get<{ Params: { id: string }; Querystring: { after?: string } }>('/employee/:id', async (req, reply) => {
    const { id } = req.params;
    if (!/^\d+$/.test(id)) return reply.code(400).send({ error: 'bad_request', message: `not an employee id: ${id}` });
    const employeeId = Number(id);
    if (!employees.has(employeeId)) return reply.code(404).send({ error: 'not_found', message: `unknown employee ${employeeId}` });
    const after = req.query.after;
    if (after !== undefined && !isInstant(after)) {
      return reply.code(400).send({ error: 'bad_request', message: `after: not an ISO 8601 instant with an offset: ${after}` });
    }
    const from = after === undefined ? null : Date.parse(after);
    const items: unknown[] = historyOf(employeeId, now())
      .filter((a) => from === null || a.started_at.getTime() > from)
      .map((a): SourceActivity => toSourceActivity(a));
    items.push(...(raw.get(employeeId) ?? []));
    return items;
  });

  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host ?? '127.0.0.1';
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  let timer: NodeJS.Timeout | undefined;
  if (options.liveEveryMs !== undefined && options.liveEveryMs > 0) {
    timer = setInterval(() => tick(), options.liveEveryMs);
    timer.unref();
  }

  return {
    url: `http://${shownHost}:${port}`,
    async close() {
      clearInterval(timer);
      await app.close();
    },
    addActivity,
    tick,
    addRecord(employeeId, record) {
      let list = raw.get(employeeId);
      if (!list) raw.set(employeeId, (list = []));
      list.push(record);
    },
  };
}

/** `30`, `30s`, `500ms`, `2m` → milliseconds; a bare number is seconds. */
export function parseEvery(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(text);
  if (!m) throw new Error(`--live: not a duration (e.g. 30s, 500ms, 2m): ${text}`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (!(ms > 0)) throw new Error(`--live: must be more than 0: ${text}`);
  return ms;
}

function parseInteger(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max)
    throw new Error(`--${name}: expected an integer from ${min} to ${max}, got ${text}`);
  return Number(text);
}

/**
 * `ecluse simulate activities [--port P] [--seed N] [--live 30s]`: starts the source for `employees` (the
 * company database's) and says how to point ecluse at it. It runs until the process is stopped; the caller
 * closes the returned simulator on a signal.
 */
export async function simulateActivitiesCommand(
  opts: { port?: string; seed?: string; live?: string; host?: string },
  employees: readonly SourceEmployee[],
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<ActivitySimulator> {
  const port = parseInteger('port', opts.port, 0, 65535) ?? 8787;
  const seed = parseInteger('seed', opts.seed, 0, 2 ** 32 - 1);
  const liveEveryMs = opts.live === undefined ? undefined : parseEvery(opts.live);
  const sim = await startActivitySimulator({ port, host: opts.host, employees, seed, liveEveryMs });
  const practising = employees.filter((e) => e.declared_sport !== null && e.declared_sport.trim() !== '').length;
  print(`Activity source (Strava stand-in) listening on ${sim.url}`);
  print(
    `  ${employees.length} employees, ${practising} practising a sport; seed ${seed ?? DEFAULT_SEED}${liveEveryMs ? `; a new activity every ${liveEveryMs / 1000} s` : ''}`,
  );
  print(`  GET ${sim.url}/employee/{id}?after=ISO   GET ${sim.url}/health`);
  print(`Point ecluse at it:  export ECLUSE_REWARDS_ACTIVITIES_URL=${sim.url}`);
  if (employees.length === 0) print('No employee yet: run `ecluse rewards import --hr FILE --sports FILE` first, then restart the simulator.');
  return sim;
}
