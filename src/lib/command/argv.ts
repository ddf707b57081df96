import { parseArgs } from 'node:util';
import { errorMessage, InputError } from './errors.js';
import type { Command } from './types.js';

const BOOLEAN_WORDS = ['true', 'True', 'TRUE', 'false', 'False', 'FALSE'];

export interface ParsedArgv {
  /** Raw input values by input name; a repeated multiline flag joined with newlines. */
  values: Map<string, string>;
  help: boolean;
}

type Tokens = NonNullable<ReturnType<typeof parseArgs>['tokens']>;

/**
 * `--name value`, `--name=value`; a boolean input alone means true, or takes a
 * boolean word (`--flag false`, `--flag=false`); a multiline input repeats; `--`
 * ends the flags, and no command takes anything after it.
 */
export function parseArgv(command: Command<unknown>, argv: readonly string[]): ParsedArgv {
  const { args, inlineBooleans } = splitInlineBooleans(command, argv);
  const tokens = tokenize(command, args);
  const values = new Map<string, string>();
  let help = false;
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t] as Tokens[number];
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      throw new InputError(
        `Unexpected argument "${token.value}" for vm-tools ${command.name}: every value goes after a --flag (see --help).`,
      );
    }
    if (token.name === 'help') {
      help = true;
      continue;
    }
    const def = command.inputs[token.name];
    // parseArgs (strict) has already refused names outside the options built from inputs.
    if (!def) throw new InputError(`Unknown flag "${token.rawName}" for vm-tools ${command.name}.`);
    let value = token.value ?? '';
    if (def.boolean) {
      const next = tokens[t + 1];
      const inline = inlineBooleans.get(token.index);
      if (inline !== undefined) value = inline;
      else if (next?.kind === 'positional' && BOOLEAN_WORDS.includes(next.value)) {
        value = next.value;
        t++;
      } else value = 'true';
    }
    const previous = values.get(token.name);
    if (previous !== undefined && !def.multiline) {
      throw new InputError(`Flag "--${token.name}" is given more than once; it takes one value.`);
    }
    values.set(token.name, previous === undefined ? value : `${previous}\n${value}`);
  }
  return { values, help };
}

/**
 * parseArgs refuses `--flag=value` for a boolean option, but the CLI has always
 * taken `--flag=false` (and lets the input reader reject `--flag=maybe` with its
 * own sentence): such an argument becomes a bare `--flag`, its value kept by
 * argument index.
 */
function splitInlineBooleans(
  command: Command<unknown>,
  argv: readonly string[],
): { args: string[]; inlineBooleans: Map<number, string> } {
  const inlineBooleans = new Map<number, string>();
  const terminator = argv.indexOf('--');
  const args = argv.map((arg, index) => {
    if (terminator !== -1 && index > terminator) return arg;
    const match = /^--([^=]+)=(.*)$/s.exec(arg);
    if (!match || !command.inputs[match[1] as string]?.boolean) return arg;
    inlineBooleans.set(index, match[2] as string);
    return `--${match[1]}`;
  });
  return { args, inlineBooleans };
}

function tokenize(command: Command<unknown>, args: string[]): Tokens {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, def] of Object.entries(command.inputs)) {
    options[name] = { type: def.boolean ? 'boolean' : 'string' };
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true, tokens: true }).tokens;
  } catch (error) {
    throw explainParseError(command, error);
  }
}

/** parseArgs' errors, as the CLI's one-sentence input errors (exit 2). */
function explainParseError(command: Command<unknown>, error: unknown): InputError {
  const code = (error as { code?: string }).code;
  const message = errorMessage(error);
  // parseArgs quotes the offending flag first: "Unknown option '--nmae'. …", "Option '--name <value>' …".
  const flag = /'(-[^' ,]*)/.exec(message)?.[1];
  if (flag && code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return new InputError(`Unknown flag "${flag}" for vm-tools ${command.name} (see --help).`);
  }
  if (flag && code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (message.includes('ambiguous')) {
      return new InputError(
        `Flag "${flag}" needs a value; a value that starts with "-" goes as ${flag}=VALUE (see --help).`,
      );
    }
    if (message.includes('missing')) {
      return new InputError(`Flag "${flag}" needs a value (see --help).`);
    }
  }
  return new InputError(`${message} (vm-tools ${command.name}; see --help).`);
}
