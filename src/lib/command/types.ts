/**
 * A command is one capability with one set of inputs, run either as a GitHub
 * Action step (`runAction`) or as `vm-tools <name>` (`runCli`). Both adapters
 * read inputs by the same kebab-case names, so an action input and the CLI flag
 * of the same name can never drift apart.
 */

export interface InputDef {
  description: string;
  required?: boolean;
  /** Applied by the runner (from action.yml) and by the CLI. */
  default?: string;
  /** A switch: `--name` alone means true on the CLI. */
  boolean?: boolean;
  /** One value per line; the CLI takes the flag repeatedly. */
  multiline?: boolean;
  /** Environment variables read, in order, when the input is empty. */
  env?: readonly string[];
  /** Masked in the runner log before anything can print it. */
  secret?: boolean;
}

/** Reads one raw input by name: the given value, else an env fallback, else the default. */
export type InputReader = (name: string) => string | undefined;

export interface Log {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  group<T>(title: string, fn: () => Promise<T>): Promise<T>;
}

export interface SummaryTable {
  header: string[];
  rows: string[][];
}

export interface Summary {
  heading: string;
  lines?: string[];
  table?: SummaryTable;
}

export interface Context {
  log: Log;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Masks a secret so no later log line can print it. */
  maskSecret(value: string): void;
  /** Main→post hand-over (GITHUB_STATE on a runner; unused on the CLI). */
  saveState(name: string, value: string): void;
  getState(name: string): string;
}

export interface CommandResult {
  outputs: Record<string, string>;
  summary?: Summary;
  /** The step fails with this message after its outputs and summary are written (a check's verdict). */
  failure?: string;
}

export interface Command<I = unknown> {
  name: string;
  description: string;
  inputs: Record<string, InputDef>;
  outputs: Record<string, string>;
  /** Pure: turns raw inputs into typed ones or throws an InputError. No side effects. */
  parse(read: InputReader): I;
  run(inputs: I, ctx: Context): Promise<CommandResult>;
  /**
   * Cleanup for the action's `post` step: removes what `run` saved in state and
   * could not remove itself (it was killed). `inputs` is undefined when they do
   * not parse (then `run` never got past `parse`).
   */
  post?(ctx: Context, inputs: I | undefined): Promise<void>;
}

export function defineCommand<I>(command: Command<I>): Command<I> {
  return command;
}
