#!/usr/bin/env node
import { Command, Option } from 'commander';
import { mountPipelineCommands } from './pipelineCommands.js';

// Each action loads its module on demand: `ecluse --help` and light commands start without DuckDB or exceljs.
const program = new Command().name('ecluse').description('A data platform that lifts data level by level: raw -> staging -> curated.').showHelpAfterError();

program
  .command('run')
  .description('run a pipeline once and print its summary')
  .argument('<pipeline>', 'pipeline name (stations, synop, eco2mix, rewards)')
  .option('-i, --input <paths...>', 'files or folders to ingest')
  .option('--from <day>', 'first day (YYYY-MM-DD) to fetch from the source: a backfill of daily partitions')
  .option('--to <day>', 'last day (YYYY-MM-DD, inclusive) to fetch')
  .option('--staging <url>', 'synop: also write the staging rows to this mysql:// database (ECLUSE_SYNOP_MYSQL)')
  .option('--dataset <name>', 'eco2mix: the dataset fetched, tr (real time, the default) or cons-def (consolidated and definitive, by month)')
  .option('--json', 'print the run summary as JSON')
  .action(async (pipeline: string, opts: import('./run.js').RunOptions) => {
    const { runCommand } = await import('./run.js');
    await runCommand(pipeline, opts);
  });

program
  .command('rebuild')
  .description('drop staging and curated data of a pipeline and rebuild them from the raw zone alone')
  .argument('<pipeline>', 'pipeline name')
  .option('--json', 'print the run summary as JSON')
  .action(async (pipeline: string, opts: { json?: boolean }) => {
    const { rebuildCommand } = await import('./rebuild.js');
    await rebuildCommand(pipeline, opts);
  });

program
  .command('sql')
  .description('run one read-only SELECT on the warehouse (limits: ECLUSE_SQL_TIMEOUT_S, ECLUSE_SQL_MAX_ROWS, ECLUSE_SQL_MAX_MB)')
  .argument('<query>', 'SQL text')
  .option('--json', 'print an array of row objects')
  .option('--write', 'admin path: run any SQL, writes included, without limits (through a running server: POST /admin/sql)')
  .action(async (query: string, opts: import('./sql.js').SqlOptions) => {
    const { sqlCommand } = await import('./sql.js');
    await sqlCommand(query, opts);
  });

program
  .command('runs')
  .description('list runs, newest first')
  .option('-p, --pipeline <name>', 'only this pipeline')
  .addOption(new Option('-s, --status <status>', 'only this status').choices(['queued', 'running', 'succeeded', 'failed', 'cancelled']))
  .option('--from <day>', 'only partitions from this day (YYYY-MM-DD)')
  .option('--to <day>', 'only partitions up to this day, inclusive')
  .option('-n, --limit <n>', 'how many', '20')
  .option('--logs <run>', "print this run's log lines instead")
  .option('--json', 'print JSON')
  .action(
    async (opts: {
      pipeline?: string;
      status?: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
      from?: string;
      to?: string;
      limit: string;
      json?: boolean;
      logs?: string;
    }) => {
      const { runsCommand } = await import('./runs.js');
      await runsCommand(opts);
    },
  );

program
  .command('pipelines')
  .description('list the pipelines and their schedules (after configuration)')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const { pipelinesCommand } = await import('./pipelines.js');
    await pipelinesCommand(opts);
  });

program
  .command('trigger')
  .description('run one partition of a pipeline (a day), with retries, and print its summary')
  .argument('<pipeline>', 'pipeline name')
  .option('--partition <day>', 'the day, YYYY-MM-DD (default: yesterday, Europe/Paris: the day a daily tick collects); eco2mix: also cons-def:YYYY-MM')
  .option('--json', 'print the run summary as JSON')
  .action(async (pipeline: string, opts: { partition?: string; json?: boolean }) => {
    const { triggerCommand } = await import('./trigger.js');
    await triggerCommand(pipeline, opts);
  });

program
  .command('backfill')
  .description('run every day of a range as a partition; rerunning resumes (succeeded days are skipped)')
  .argument('<pipeline>', 'pipeline name')
  .requiredOption('--from <day>', 'first day, YYYY-MM-DD')
  .requiredOption('--to <day>', 'last day, inclusive')
  .option('--parallel <n>', 'partitions at a time (PostgreSQL; the embedded warehouse runs one at a time)', '1')
  .option('--force', 'run days that already succeeded too')
  .option('--dataset <name>', 'eco2mix: tr (real time: a partition a day, the default) or cons-def (consolidated and definitive: a partition a month)')
  .option('--json', 'print the backfill summary as JSON')
  .action(async (pipeline: string, opts: import('./backfill.js').BackfillOptions) => {
    const { backfillCommand } = await import('./backfill.js');
    await backfillCommand(pipeline, opts);
  });

program
  .command('cancel')
  .description('cancel a running run (it stops at its next step and is not retried)')
  .argument('<run>', 'run id')
  .option('--json', 'print JSON')
  .action(async (run: string, opts: { json?: boolean }) => {
    const { cancelCommand } = await import('./cancel.js');
    await cancelCommand(run, opts);
  });

program
  .command('rejects')
  .description('list rejected records and values with their reasons')
  .option('-r, --run <id>', 'only this run')
  .option('-p, --pipeline <name>', 'only this pipeline')
  .option('-n, --limit <n>', 'how many', '50')
  .option('--offset <n>', 'skip this many', '0')
  .option('--json', 'print JSON')
  .action(async (opts: { run?: string; pipeline?: string; limit: string; offset: string; json?: boolean }) => {
    const { rejectsCommand } = await import('./rejects.js');
    await rejectsCommand(opts);
  });

program
  .command('generate')
  .description('write sample input files in the real formats (ecluse generate <pipeline> --help: its options)')
  .argument('<pipeline>', 'pipeline name (stations, synop, eco2mix, rewards)')
  .argument('[options...]', "the pipeline generator's options, and -o, --out <path>")
  // The options are each pipeline's (its manifest): read when the command runs, so start-up loads no pipeline.
  .allowUnknownOption()
  .helpOption(false)
  .action(async (pipeline: string, args: string[]) => {
    const { generateCommand } = await import('./generate.js');
    await generateCommand(pipeline, args);
  });

program
  .command('worker')
  .description('take partition runs from the PostgreSQL job queue (ECLUSE_WAREHOUSE=postgres://…) until stopped')
  .option('-c, --concurrency <n>', 'runs at a time', (v) => Number(v), 1)
  .action(async (opts: { concurrency: number }) => {
    const { workerCommand } = await import('./worker.js');
    await workerCommand(opts);
  });

program
  .command('up')
  .description('serve the HTTP API (PORT, default 8080; OpenAPI at /docs); CLI commands then go through it')
  .action(async () => {
    const { upCommand } = await import('./up.js');
    await upCommand();
  });

const tokens = program.command('tokens').description("the API's tokens: named, scoped (read, write, admin), stored hashed");
tokens
  .command('create')
  .description('create a token and print its secret (shown once)')
  .argument('<name>', 'a name for it (letters, digits, _ . -)')
  .addOption(new Option('--scope <scope>', 'what it may do').choices(['read', 'write', 'admin']).default('read'))
  .option('--json', 'print JSON')
  .action(async (name: string, opts: { scope: string; json?: boolean }) => {
    const { createTokenCommand } = await import('./tokens.js');
    await createTokenCommand(name, opts);
  });
tokens
  .command('list')
  .description('list the tokens (names, scopes, creation times; never the secrets)')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const { listTokensCommand } = await import('./tokens.js');
    await listTokensCommand(opts);
  });
tokens
  .command('revoke')
  .description('revoke a token: it is refused from then on')
  .argument('<name>', 'its name')
  .option('--json', 'print JSON')
  .action(async (name: string, opts: { json?: boolean }) => {
    const { revokeTokenCommand } = await import('./tokens.js');
    await revokeTokenCommand(name, opts);
  });

program
  .command('start')
  .description('on an empty home, generate a sample and run the pipeline once; then serve the API like `up`')
  .action(async () => {
    const { startCommand } = await import('./start.js');
    await startCommand();
  });

// The pipelines' own commands (ecluse rewards import…): declared as data, their work loaded when they run.
mountPipelineCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const { CliError } = await import('./platform.js');
  const e = err as Error;
  process.stderr.write(`ecluse: ${e.message}\n`);
  process.exitCode = err instanceof CliError ? err.exitCode : 1;
}
