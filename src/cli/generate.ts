import { Command } from 'commander';
import { PIPELINES } from '../pipelines/index.js';
import { UsageError, type SampleGenerator } from '../pipelines/kit/pipeline.js';
import { CliError } from './platform.js';

/** Pipelines with a sample generator, by name. */
function generators(): Map<string, SampleGenerator> {
  return new Map([...PIPELINES].flatMap(([name, p]) => (p.generator ? [[name, p.generator] as const] : [])));
}

/** `ecluse generate <pipeline> …`: the options are the pipeline's own (its manifest), read here rather than at start-up. */
function commandFor(name: string, generator: SampleGenerator): Command {
  const command = new Command(`ecluse generate ${name}`)
    .description(`write sample ${name} input files in the real formats`)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const o of generator.options) command.option(o.flags, o.description, o.defaultValue);
  return command.requiredOption('-o, --out <path>', 'where to write (a folder or a file, as the pipeline reads it)');
}

export async function generateCommand(pipeline: string, args: readonly string[]): Promise<void> {
  const all = generators();
  const generator = all.get(pipeline);
  if (!generator) throw new CliError(`generate: no generator for "${pipeline}" (known: ${[...all.keys()].join(', ')})`, 2);
  const command = commandFor(pipeline, generator);
  try {
    command.parse(args, { from: 'user' });
  } catch (err) {
    // Help asked for: commander printed it. A usage error: printed too, exit 2 like every other usage error.
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.help') return;
    process.exitCode = 2;
    return;
  }
  const opts = command.opts<Record<string, string | undefined> & { out: string }>();
  try {
    console.log(await generator.generate(opts, opts.out));
  } catch (err) {
    if (err instanceof UsageError) throw new CliError(err.message, 2);
    throw err;
  }
}
