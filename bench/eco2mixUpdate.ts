/**
 * eco2mix's incremental real-time update: one new 15-minute timestamp for the 12 regions published by a
 * local HTTP stand-in of ODRE, fetched and carried to curated rows committed by a scheduled run (what a
 * tick does every 15 minutes), timed from the run's request to its commit, over a platform that already
 * holds what the caller loaded (the full history, in `npm run bench -- eco2mix`).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeEco2mix } from '../src/connectors/generators/eco2mix.js';
import { executeRun } from '../src/orchestrator/runner.js';
import { eco2mixPipeline } from '../src/pipelines/eco2mix/pipeline.js';
import type { Platform } from '../src/pipelines/kit/pipeline.js';
import { eco2mixConfig } from '../src/pipelines/eco2mix/settings.js';
import { startOdsServer, type OdsFixtureRecord } from '../test/helpers/odsServer.js';

export interface UpdateFigures {
  /** The day updated (Europe/Paris). */
  day: string;
  updates: number;
  p50_ms: number;
  p90_ms: number;
  min_ms: number;
  max_ms: number;
  /** Rows each update wrote to staging (12: one per region). */
  rows_per_update: number;
  /** The run's steps of the median update, ms. */
  steps: Record<string, number> | null;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] as number;

/**
 * Serves `day`'s real-time slots up to its afternoon, loads them with one run (not timed), then publishes
 * one slot at a time and times `updates` scheduled runs (the stand-in's URL set for these runs only).
 */
export async function measureIncrementalUpdate(platform: Platform, day: string, updates = 20): Promise<UpdateFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'ecluse-bench-eco2mix-update-'));
  try {
    const path = join(dir, 'tr.jsonl');
    // The day complete (no slot published empty): each update publishes one slot with values.
    await writeEco2mix(path, 'jsonl', { regions: 'all', from: day, to: day, dataset: 'tr', futureSlots: 0 });
    const all = (await readFile(path, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as OdsFixtureRecord);
    const slots = [...new Set(all.map((r) => Date.parse(String(r.date_heure))))].sort((a, b) => a - b);
    if (slots.length < updates + 1) throw new Error(`eco2mix update bench: ${day} has ${slots.length} slots, fewer than ${updates + 1}`);
    const first = slots.length - updates;
    const served = all.filter((r) => Date.parse(String(r.date_heure)) < (slots[first] as number));
    const ods = await startOdsServer({ 'eco2mix-regional-tr': { records: served, dateField: 'date_heure' } });
    try {
      const at = { ...platform, config: eco2mixConfig.override(platform.config, { url: ods.url }) };
      const warm = await executeRun(at, eco2mixPipeline, { partition: day, trigger: 'schedule' });
      if (warm.status !== 'succeeded') throw new Error(`eco2mix update bench: the day's first run failed: ${warm.error}`);
      const times: { ms: number; runId: number; rows: number }[] = [];
      for (let i = 0; i < updates; i++) {
        served.push(...all.filter((r) => Date.parse(String(r.date_heure)) === slots[first + i]));
        const t0 = performance.now();
        const s = await executeRun(at, eco2mixPipeline, { partition: day, trigger: 'schedule' });
        const ms = performance.now() - t0;
        if (s.status !== 'succeeded') throw new Error(`eco2mix update bench: update ${i + 1} failed: ${s.error}`);
        times.push({ ms, runId: s.run_id, rows: s.rows_written });
      }
      const sorted = times.map((t) => t.ms).sort((a, b) => a - b);
      const median = [...times].sort((a, b) => a.ms - b.ms)[Math.floor((times.length - 1) / 2)];
      const run = median ? await platform.warehouse.getRun(median.runId) : null;
      return {
        day,
        updates,
        p50_ms: Math.round(percentile(sorted, 0.5)),
        p90_ms: Math.round(percentile(sorted, 0.9)),
        min_ms: Math.round(sorted[0] as number),
        max_ms: Math.round(sorted[sorted.length - 1] as number),
        rows_per_update: Math.round(times.reduce((n, t) => n + t.rows, 0) / times.length),
        steps: run?.steps ?? null,
      };
    } finally {
      await ods.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
