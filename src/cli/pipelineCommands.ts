import { Command, type CommanderError } from 'commander';
import type { CommandGroup, CommandServices, PipelineCommand } from '../pipelines/kit/commands.js';
import { PIPELINE_COMMAND_GROUPS, PIPELINE_COMMANDS } from '../pipelines/commands.js';

/** The CLI's facilities as a pipeline's command reaches them; loaded with the action, never at start-up. */
async function cliServices(): Promise<CommandServices> {
  const [{ readConfig, withPlatform }, { printJson }] = await Promise.all([import('./platform.js'), import('./format.js')]);
  return {
    config: () => readConfig(),
    async runPipeline(pipeline, inputs, opts = {}) {
      const { runCommand } = await import('./run.js');
      await runCommand(pipeline, { input: [...inputs], json: opts.json });
    },
    async throughServerOr(what, viaServer, here) {
      const { throughServerOr } = await import('./client.js');
      return throughServerOr(what, viaServer, here);
    },
    withPlatform,
    printJson,
  };
}

/** The subcommand named `name` of `parent`, created (with `description`) when missing. */
function child(parent: Command, name: string, description: string | undefined): Command {
  const found = parent.commands.find((c) => c.name() === name);
  if (found) return found;
  const made = parent.command(name);
  if (description) made.description(description);
  return made;
}

function groupDescription(groups: readonly CommandGroup[], path: readonly string[]): string | undefined {
  return groups.find((g) => g.path.length === path.length && g.path.every((w, i) => w === path[i]))?.description;
}

/**
 * Adds the pipelines' commands to `program`. A command whose full name is already taken (a built-in one, or
 * another pipeline's) is a programming error, thrown at start-up where a test sees it.
 */
export function mountPipelineCommands(
  program: Command,
  commands: readonly PipelineCommand[] = PIPELINE_COMMANDS,
  groups: readonly CommandGroup[] = PIPELINE_COMMAND_GROUPS,
): void {
  for (const spec of commands) {
    let parent = program;
    const words = spec.path;
    for (let i = 0; i < words.length - 1; i++) {
      const existing = parent.commands.find((c) => c.name() === words[i]);
      if (existing && existing.commands.length === 0)
        throw new Error(`pipeline command "${words.join(' ')}": "${words.slice(0, i + 1).join(' ')}" is already a command`);
      parent = child(parent, words[i]!, groupDescription(groups, words.slice(0, i + 1)));
    }
    const name = words[words.length - 1]!;
    if (parent.commands.some((c) => c.name() === name))
      throw new Error(`pipeline command "${words.join(' ')}" is declared twice (or clashes with a built-in one)`);
    const command = parent.command(name).description(spec.description);
    for (const a of spec.arguments ?? []) command.argument(a.name, a.description);
    for (const o of spec.options ?? []) {
      if (o.required) command.requiredOption(o.flags, o.description, o.defaultValue);
      else command.option(o.flags, o.description, o.defaultValue);
    }
    // A usage error of these commands (a missing option, an unknown one) exits 2 like every usage error of ecluse's.
    command.exitOverride((err: CommanderError) => process.exit(err.exitCode === 0 ? 0 : 2));
    command.action(async (...received: unknown[]) => {
      // commander passes the arguments, then the options, then the command itself.
      const args = received.slice(0, spec.arguments?.length ?? 0).map((a) => (a === undefined ? '' : String(a)));
      const opts = command.opts();
      const [action, lent] = await Promise.all([spec.action(), cliServices()]);
      try {
        await action(args, opts, lent);
      } catch (err) {
        const [{ UsageError }, { CliError }] = await Promise.all([import('../pipelines/kit/pipeline.js'), import('./platform.js')]);
        if (err instanceof UsageError) throw new CliError(err.message, 2);
        throw err;
      }
    });
  }
}
