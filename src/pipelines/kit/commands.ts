/**
 * Command-line commands a pipeline adds to `ecluse` (`ecluse rewards import …`), declared as data: the CLI
 * mounts them, so pipelines never import the CLI. The declaration is read at every start-up (`--help` lists
 * the commands), so it must stay light: the work is in `action`, loaded only when the command runs.
 */
import type { Config } from '../../config/config.js';
import type { Platform } from './pipeline.js';

/**
 * A positional argument, in commander syntax: `<employee>` (required), `[file]` (optional), `<files...>`.
 * @public Pipeline authors type their commands' parts with it, though no module of ours names it.
 */
export interface CommandArgument {
  name: string;
  description: string;
}

/**
 * An option in commander syntax: `--by <name>`, `--json` (a flag: true when given).
 * @public Pipeline authors type their commands' parts with it, though no module of ours names it.
 */
export interface CommandOption {
  flags: string;
  description: string;
  defaultValue?: string;
  /** Missing → a usage error (exit 2) before the action loads. */
  required?: boolean;
}

/**
 * The running server's API, as a command may call it instead of opening the platform the server holds.
 * @public Pipeline authors type their actions' parts with it, though no module of ours names it.
 */
export interface ServerApi {
  readonly url: string;
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

/** What the CLI lends a pipeline's command: its own facilities, reached without importing it. */
export interface CommandServices {
  /** This home's configuration (`ecluse.config.json`, the environment). */
  config(): Config;
  /**
   * Runs `pipeline` on these files exactly as `ecluse run <pipeline> --input …` does (through the running
   * server when there is one, else here), printing its summary (JSON with `json`) and setting the exit code.
   */
  runPipeline(pipeline: string, inputs: readonly string[], opts?: { json?: boolean }): Promise<void>;
  /** Through the running `ecluse up` of this home when there is one (it holds the embedded warehouse), else here. */
  throughServerOr<T>(what: string, viaServer: (server: ServerApi) => Promise<T>, here: (p: Platform) => Promise<T>): Promise<T>;
  /** The platform opened for `fn` and closed after, whatever happens. */
  withPlatform<T>(what: string, fn: (p: Platform) => Promise<T>): Promise<T>;
  /** A value printed as the CLI prints JSON. */
  printJson(value: unknown): void;
}

/**
 * The work of a command. `args` are the positional arguments in declaration order, `opts` the options by
 * their camel-cased long name (`--dry-run` → `dryRun`). Throw `UsageError` (kit/pipeline.ts) for a bad
 * argument (exit 2); any other error exits 1 with its message.
 */
export type CommandAction = (args: readonly string[], opts: Readonly<Record<string, unknown>>, services: CommandServices) => Promise<void>;

export interface PipelineCommand {
  /** The words that name it: `['rewards', 'import']` is `ecluse rewards import`. */
  path: readonly [string, ...string[]];
  description: string;
  arguments?: readonly CommandArgument[];
  options?: readonly CommandOption[];
  /** The action's module, imported when the command runs. */
  action: () => Promise<CommandAction>;
}

/** A word under which commands are grouped (`rewards`, `simulate`), with its help line. */
export interface CommandGroup {
  path: readonly [string, ...string[]];
  description: string;
}
