/** Input readers every VM verb shares (name, state dir), mapping VmError('invalid') to InputError (exit 2). */
import { InputError } from '../../lib/command/errors.js';
import { optional, required } from '../../lib/command/inputs.js';
import type { InputDef, InputReader } from '../../lib/command/types.js';
import { VmError } from '../../lib/vm/driver.js';
import { validateName } from '../../lib/vm/spec.js';
import { defaultStateDir } from '../../lib/vm/state.js';

export const NAME_INPUT: InputDef = {
  description: 'The VM name: letters, digits, "-", "_", "." (starting with a letter or digit).',
  required: true,
};

export const STATE_DIR_INPUT: InputDef = {
  description:
    'Where VM state files live (default: $RUNNER_TEMP/vm-tools/vms, else $XDG_STATE_HOME/vm-tools/vms, else ~/.local/state/vm-tools/vms).',
  env: ['VM_TOOLS_STATE_DIR'],
};

/** Runs `fn`, turning a VmError('invalid') into the InputError the adapters report as bad input. */
export function asInput<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof VmError && error.kind === 'invalid') throw new InputError(error.message);
    throw error;
  }
}

export async function asInputAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof VmError && error.kind === 'invalid') throw new InputError(error.message);
    throw error;
  }
}

export function nameInput(read: InputReader): string {
  const name = required(read, 'name', 'a VM name');
  return asInput(() => validateName(name));
}

export function stateDirInput(read: InputReader): string | undefined {
  return optional(read, 'state-dir');
}

export function resolveStateDir(given: string | undefined, env: NodeJS.ProcessEnv): string {
  return given ?? defaultStateDir(env);
}
