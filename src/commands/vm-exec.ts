import { InputError } from '../lib/command/errors.js';
import { integer, list } from '../lib/command/inputs.js';
import { defineCommand } from '../lib/command/types.js';
import { driverFor } from '../lib/vm/drivers.js';
import { loadHandle } from '../lib/vm/state.js';
import {
  asInputAsync,
  NAME_INPUT,
  nameInput,
  resolveStateDir,
  STATE_DIR_INPUT,
  stateDirInput,
} from './shared/vm-inputs.js';

/** One argument per line; a single line is split on whitespace. */
function argvOf(lines: string[]): string[] {
  return lines.length === 1 ? (lines[0] as string).split(/\s+/).filter(Boolean) : lines;
}

export default defineCommand({
  name: 'vm-exec',
  description:
    "Runs a command in a VM started by boot-vm; its stdout/stderr pass through, a non-zero exit fails (the guest's code in the error).",
  inputs: {
    name: NAME_INPUT,
    command: {
      description:
        'The command, one argument per line (CLI: repeat --command); a single value is split on whitespace.',
      multiline: true,
      required: true,
    },
    timeout: { description: 'Seconds before the command is killed.', default: '600' },
    'state-dir': STATE_DIR_INPUT,
  },
  outputs: { 'exit-code': 'The command exit code.' },
  parse(read) {
    const argv = argvOf(list(read, 'command'));
    if (argv.length === 0)
      throw new InputError('Input "command" is required: the command to run in the VM.');
    return {
      name: nameInput(read),
      argv,
      timeoutMs: integer(read, 'timeout', { min: 1, max: 86_400, fallback: 600 }) * 1000,
      stateDir: stateDirInput(read),
    };
  },
  async run(inputs, ctx) {
    const handle = await asInputAsync(() =>
      loadHandle(resolveStateDir(inputs.stateDir, ctx.env), inputs.name),
    );
    const result = await (await driverFor(handle.backend)).exec(handle, inputs.argv, {
      timeoutMs: inputs.timeoutMs,
    });
    // The guest's output is the point of this verb: straight through, not as outputs.
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    if (result.timedOut)
      throw new Error(
        `${inputs.argv.join(' ')} timed out after ${inputs.timeoutMs / 1000} s in VM ${inputs.name}`,
      );
    if (result.exitCode !== 0)
      throw new Error(
        `${inputs.argv.join(' ')} exited with code ${result.exitCode} in VM ${inputs.name}`,
      );
    return { outputs: { 'exit-code': String(result.exitCode) } };
  },
});
