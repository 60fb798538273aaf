/**
 * The `rewards` pipeline (docs/pipelines/rewards.md): Sport Data Solution's HR files imported into the
 * company database, new activities pulled from the activity source, then the warehouse's copies and the
 * rewards per employee and year recomputed. Its two stream pipelines (capture.ts, notifier.ts) carry each
 * activity's change to Slack.
 */
import { basename } from 'node:path';
import type { Reject } from '../../quality/rejects.js';
import { extractFiles, listInputFiles, ownFiles, registerPendingFiles, unsupportedWarnings, type PendingFile } from '../kit/rawInputs.js';
import type { Pipeline, RunContext, RunRequest } from '../kit/pipeline.js';
import { openCompanyDb, type CompanyDb } from './companyDb.js';
import { HrFileError, hrFileKind } from './hrFiles.js';
import { importHrFiles } from './importHr.js';
import { pullActivities } from './pull.js';
import { createRewardsTables, refreshRewards } from './refresh.js';
import { rewardsGenerator } from './samples.js';
import { REWARDS_DATASETS } from './schema.js';
import { rewardsConfig, type RewardsSettings } from './settings.js';

const NAME = 'rewards';
/** The HR and sport-declaration workbooks, as HR exports them. */
const REWARDS_EXTENSIONS = ['xlsx', 'csv'] as const;

interface Imported {
  pending: PendingFile[];
  skipped: number;
  rejectedWhole: Set<number>;
  rowsRead: number;
  rowsWritten: number;
  warnings: string[];
}

/** The files of `--input`: each stored in the raw zone, then those of a known kind imported together. */
async function importInputs(ctx: RunContext, company: CompanyDb, inputs: readonly string[], rejects: Reject[]): Promise<Imported> {
  const listing = await listInputFiles(inputs, REWARDS_EXTENSIONS, ownFiles(ctx.config));
  const { pending, skipped } = await extractFiles(
    ctx,
    NAME,
    listing.files.map((path) => ({ path, source: 'hr' })),
  );
  const rejectedWhole = new Set<number>();
  const readable: { path: string; name: string }[] = [];
  for (const [i, f] of pending.entries()) {
    try {
      await hrFileKind(f.path, f.raw.originalName);
      readable.push({ path: f.path, name: f.raw.originalName });
    } catch (err) {
      if (!(err instanceof HrFileError)) throw err;
      // A file that is neither workbook is rejected whole; the others still load.
      rejectedWhole.add(i);
      rejects.push({ file: f.raw.originalName, sheet: null, row: null, field: null, value: null, reason: err.message, whole_record: true });
    }
  }
  const result = await ctx.step('import', async () =>
    readable.length ? importHrFiles(company, readable, new Date()) : { inserted: 0, updated: 0, unchanged: 0, employees: 0, rejects: [] },
  );
  rejects.push(...result.rejects);
  ctx.log?.info(
    { inserted: result.inserted, updated: result.updated, unchanged: result.unchanged },
    `employees: ${result.inserted} new, ${result.updated} updated, ${result.unchanged} unchanged`,
  );
  return {
    pending,
    skipped,
    rejectedWhole,
    rowsRead: result.inserted + result.updated + result.unchanged + result.rejects.filter((r) => r.whole_record).length,
    rowsWritten: result.inserted + result.updated,
    warnings: unsupportedWarnings(listing.unsupported, REWARDS_EXTENSIONS),
  };
}

/** A run without files: the activity source's new activities, when one is configured. */
async function pullInputs(ctx: RunContext, company: CompanyDb, settings: RewardsSettings, rejects: Reject[]): Promise<{ read: number; written: number }> {
  if (!settings.activitiesUrl) {
    ctx.log?.info('no activity source configured (ECLUSE_REWARDS_ACTIVITIES_URL): rewards recomputed from the activities already known');
    return { read: 0, written: 0 };
  }
  const url = settings.activitiesUrl;
  const pulled = await ctx.step('pull', () =>
    pullActivities({
      company,
      url,
      signal: ctx.signal,
      log: ctx.log,
      progress: (done, total) => ctx.progress({ step: 'pull', done, total }),
    }),
  );
  rejects.push(...pulled.rejects);
  ctx.log?.info(pulled, `activities: ${pulled.fetched} fetched for ${pulled.employees} employees, ${pulled.inserted} new`);
  return { read: pulled.fetched, written: pulled.inserted };
}

async function runRewards(ctx: RunContext, request: RunRequest): Promise<void> {
  const settings = rewardsConfig.settings(ctx.config);
  await createRewardsTables(ctx.warehouse);
  const company = await openCompanyDb(settings.database, ctx.warehouse);
  try {
    const rejects: Reject[] = [];
    const imported = request.inputs?.length ? await importInputs(ctx, company, request.inputs, rejects) : null;
    const pulled = imported ? null : await pullInputs(ctx, company, settings, rejects);
    await ctx.step('refresh', () =>
      refreshRewards({
        warehouse: ctx.warehouse,
        company,
        settings,
        now: new Date(),
        log: ctx.log,
        signal: ctx.signal,
        inTransaction: async () => {
          if (imported) await registerPendingFiles(ctx, NAME, imported.pending, imported.rejectedWhole);
          await ctx.warehouse.insertRejects(ctx.runId, NAME, rejects);
          const warnings = imported?.warnings ?? [];
          if (imported && imported.rejectedWhole.size > 0) {
            const names = [...imported.rejectedWhole].map((i) => imported.pending[i]?.raw.originalName ?? basename(String(i)));
            warnings.push(
              `${names.length} file(s) neither the HR file nor the sport file, not loaded: ${names.join(', ')} (see: ecluse rejects --run ${ctx.runId})`,
            );
          }
          for (const w of warnings) ctx.log?.warn(w);
          await ctx.commitRun({
            files: imported?.pending.length ?? 0,
            files_skipped: imported?.skipped ?? 0,
            rows_read: imported?.rowsRead ?? pulled?.read ?? 0,
            rows_written: imported?.rowsWritten ?? pulled?.written ?? 0,
            rows_rejected: rejects.filter((r) => r.whole_record).length,
            values_rejected: rejects.filter((r) => !r.whole_record).length,
            warnings,
          });
        },
      }),
    );
  } finally {
    await company.close();
  }
}

export const rewardsPipeline: Pipeline = {
  name: NAME,
  description:
    'Sport Data Solution: HR files and activities (company database) into rewards per employee and year — 5 % bonus for active commuters, well-being days — with Slack congratulations',
  // Every 15 minutes: new activities are pulled, and the 12-month window moves with the clock.
  schedule: { cron: '*/15 * * * *', timezone: 'Europe/Paris' },
  scheduledSource: (config) => {
    const s = rewardsConfig.settings(config);
    return s.activitiesUrl || s.database
      ? null
      : 'no activity source nor company database configured: set ECLUSE_REWARDS_ACTIVITIES_URL (or ECLUSE_REWARDS_DB); imports and approvals recompute the rewards anyway';
  },
  run: runRewards,
  datasets: REWARDS_DATASETS.map((ds) => ({ table: ds.name, key: ds.primaryKey, lake: [] })),
  createTables: createRewardsTables,
  uploads: REWARDS_EXTENSIONS,
  generator: rewardsGenerator,
  config: rewardsConfig,
  routes: async () => (await import('./routes.js')).rewardsRoutes,
};
