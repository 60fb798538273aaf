import { effectiveSchedule } from '../orchestrator/scheduler.js';
import { PIPELINES } from '../pipelines/index.js';
import { pipelineEnv } from '../pipelines/kit/settings.js';
import { formatTable, printJson } from './format.js';
import { readConfig } from './platform.js';

interface PipelineRow {
  name: string;
  description: string;
  schedule: { cron: string; timezone: string; enabled: boolean; origin: 'pipeline' | 'config' };
  env: { name: string; set: boolean }[];
}

/** `ecluse pipelines`: what can run, and when (the schedules after configuration). Needs no warehouse. */
export async function pipelinesCommand(opts: { json?: boolean }): Promise<void> {
  const config = readConfig();
  const { localServer } = await import('./client.js');
  const server = await localServer(config);
  const items: PipelineRow[] = server
    ? (await server.get<{ items: PipelineRow[] }>('/pipelines')).items
    : [...PIPELINES.values()].map((p) => {
        const { cron, timezone, enabled, origin } = effectiveSchedule(p, config);
        return { name: p.name, description: p.description, schedule: { cron, timezone, enabled, origin }, env: pipelineEnv(p, config) };
      });
  if (opts.json) {
    printJson({ items, total: items.length, limit: items.length, offset: 0 });
    return;
  }
  console.log(
    formatTable(
      items.map((p) => ({
        name: p.name,
        schedule: p.schedule.enabled ? `${p.schedule.cron} (${p.schedule.timezone})` : 'disabled',
        from: p.schedule.origin,
        // Names only: whether a secret is set may be shown, never its value.
        env: p.env.map((e) => (e.set ? `${e.name} (set)` : e.name)).join(', '),
        description: p.description,
      })),
    ),
  );
}
