import type { CommandGroup, PipelineCommand } from './kit/commands.js';
import { rewardsCommandGroups, rewardsCommands } from './rewards/commands.js';

/**
 * The commands pipelines add to `ecluse`, and the words grouping them. Read at every start-up: the modules
 * listed here declare their commands as data and load their work on demand.
 */
export const PIPELINE_COMMAND_GROUPS: readonly CommandGroup[] = [...rewardsCommandGroups];

export const PIPELINE_COMMANDS: readonly PipelineCommand[] = [...rewardsCommands];
