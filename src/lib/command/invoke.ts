import { makeReader } from './reader.js';
import type { Command, CommandResult, Context } from './types.js';

/**
 * Runs a command in-process with inputs given by name, exactly as its action
 * or CLI form would (same parsing, defaults and validation): how a pipeline of
 * commands reuses them without a second code path.
 */
export async function invoke(
  command: Command<unknown>,
  inputs: Record<string, string | undefined>,
  ctx: Context,
): Promise<CommandResult> {
  const parsed = command.parse(makeReader(command, (name) => inputs[name], ctx.env));
  return command.run(parsed, ctx);
}
