import { parseArgv } from './argv.js';
import { errorMessage, InputError } from './errors.js';
import { gateText } from './output-gate.js';
import { makeReader } from './reader.js';
import type { Command, Context, Summary } from './types.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function usage(command: Command<unknown>): string {
  const rows = Object.entries(command.inputs).map(([name, def]) => {
    const flag = def.boolean ? `--${name}` : `--${name} <value>`;
    const notes = [
      def.required ? 'required' : '',
      def.default !== undefined ? `default: ${def.default.replaceAll('\n', ', ')}` : '',
      def.env?.length ? `env: ${def.env.join(', ')}` : '',
      def.multiline ? 'repeatable' : '',
    ].filter(Boolean);
    return { flag, text: def.description + (notes.length ? ` (${notes.join('; ')})` : '') };
  });
  const width = Math.max(...rows.map((r) => r.flag.length));
  const outputs = Object.entries(command.outputs).map(
    ([name, text]) => `  ${name.padEnd(width)}  ${text}`,
  );
  return [
    `Usage: vm-tools ${command.name} [flags]`,
    '',
    command.description,
    '',
    'Flags:',
    ...rows.map((r) => `  ${r.flag.padEnd(width)}  ${r.text}`),
    `  ${'--help'.padEnd(width)}  Show this help.`,
    '',
    'Prints each output as name=value on stdout:',
    ...outputs,
    '',
  ].join('\n');
}

export function formatSummary(summary: Summary): string {
  const out = [`== ${summary.heading}`, ...(summary.lines ?? [])];
  if (summary.table) {
    const all = [summary.table.header, ...summary.table.rows];
    const widths = summary.table.header.map((_, c) =>
      Math.max(...all.map((r) => (r[c] ?? '').length)),
    );
    for (const row of all)
      out.push(
        row
          .map((cell, c) => cell.padEnd(widths[c] ?? 0))
          .join('  ')
          .trimEnd(),
      );
  }
  return `${out.join('\n')}\n`;
}

function cliContext(io: CliIo): Context {
  const state = new Map<string, string>();
  return {
    log: {
      info: (m) => io.stderr(`${m}\n`),
      warning: (m) => io.stderr(`warning: ${m}\n`),
      debug: (m) => {
        if (io.env.VM_TOOLS_DEBUG) io.stderr(`debug: ${m}\n`);
      },
      group: async (title, fn) => {
        io.stderr(`-- ${title}\n`);
        return fn();
      },
    },
    env: io.env,
    cwd: io.cwd,
    maskSecret: () => {},
    saveState: (name, value) => state.set(name, value),
    getState: (name) => state.get(name) ?? '',
  };
}

/** Runs a command from argv; returns the exit code (0 ok, 1 failed, 2 bad input). */
export async function runCli(
  cmd: Command<unknown>,
  argv: readonly string[],
  rawIo: CliIo,
): Promise<number> {
  // Run from a workflow step, both streams are parsed by the runner: one gate for all.
  const io: CliIo = {
    ...rawIo,
    stdout: (text) => rawIo.stdout(gateText(text)),
    stderr: (text) => rawIo.stderr(gateText(text)),
  };
  try {
    const { values, help } = parseArgv(cmd, argv);
    if (help) {
      io.stdout(usage(cmd));
      return 0;
    }
    const inputs = cmd.parse(makeReader(cmd, (name) => values.get(name), io.env));
    const result = await cmd.run(inputs, cliContext(io));
    if (result.summary) io.stderr(formatSummary(result.summary));
    for (const [name, value] of Object.entries(result.outputs)) io.stdout(`${name}=${value}\n`);
    if (result.failure) {
      io.stderr(`error: ${result.failure}\n`);
      return 1;
    }
    return 0;
  } catch (error) {
    io.stderr(`error: ${errorMessage(error)}\n`);
    return error instanceof InputError ? 2 : 1;
  }
}
