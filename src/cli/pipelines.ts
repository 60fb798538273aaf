import { effectiveSchedules } from '../orchestrator/scheduler.js';
import { PIPELINES } from '../pipelines/index.js';
import { pipelineEnv } from '../pipelines/kit/settings.js';
import { formatTable, printJson } from './format.js';
import { readConfig } from './platform.js';

interface ScheduleRow {
  cron: string;
  timezone: string;
  enabled: boolean;
  origin: 'pipeline' | 'config';
}

interface PipelineRow {
  name: string;
  description: string;
  schedule: ScheduleRow;
  /** One per feed for a pipeline fetching several datasets (absent from a server of before feeds). */
  schedules?: (ScheduleRow & { feed: string | null })[];
  env: { name: string; set: boolean }[];
}

function describeSchedule(s: ScheduleRow & { feed?: string | null }): string {
  const when = s.enabled ? `${s.cron} (${s.timezone})` : 'disabled';
  return s.feed ? `${s.feed}: ${when}` : when;
}

/** `ecluse pipelines`: what can run, and when (the schedules after configuration). Needs no warehouse. */
export async function pipelinesCommand(opts: { json?: boolean }): Promise<void> {
  const config = readConfig();
  const { localServer } = await import('./client.js');
  const server = await localServer(config);
  const items: PipelineRow[] = server
    ? (await server.get<{ items: PipelineRow[] }>('/pipelines')).items
    : [...PIPELINES.values()].map((p) => {
        const schedules = effectiveSchedules(p, config).map(({ feed, cron, timezone, enabled, origin }) => ({ feed, cron, timezone, enabled, origin }));
        const { cron, timezone, enabled, origin } = schedules[0]!;
        return { name: p.name, description: p.description, schedule: { cron, timezone, enabled, origin }, schedules, env: pipelineEnv(p, config) };
      });
  if (opts.json) {
    printJson({ items, total: items.length, limit: items.length, offset: 0 });
    return;
  }
  console.log(
    formatTable(
      items.map((p) => ({
        name: p.name,
        schedule: (p.schedules ?? [p.schedule]).map(describeSchedule).join('; '),
        from: [...new Set((p.schedules ?? [p.schedule]).map((s) => s.origin))].join(', '),
        // Names only: whether a secret is set may be shown, never its value.
        env: p.env.map((e) => (e.set ? `${e.name} (set)` : e.name)).join(', '),
        description: p.description,
      })),
    ),
  );
}
