/**
 * One small JSON file per VM, so a VM started by one process (the action's main
 * step, `vm-tools boot-vm`) can be found by name from another (the post step,
 * `vm-tools vm-exec`, `vm-delete`).
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BACKENDS, VmError, type VmHandle } from './driver.js';
import { validateName } from './spec.js';

/** `$VM_TOOLS_STATE_DIR`, `$RUNNER_TEMP/vm-tools/vms`, `$XDG_STATE_HOME/vm-tools/vms`, `~/.local/state/vm-tools/vms`. */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.VM_TOOLS_STATE_DIR) return env.VM_TOOLS_STATE_DIR;
  if (env.RUNNER_TEMP) return join(env.RUNNER_TEMP, 'vm-tools', 'vms');
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'vm-tools', 'vms');
}

export function stateFile(dir: string, name: string): string {
  return join(dir, `${validateName(name)}.json`);
}

export async function saveHandle(dir: string, handle: VmHandle): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = stateFile(dir, handle.name);
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, `${JSON.stringify(handle, null, 2)}\n`);
  await rename(partial, file);
  return file;
}

export async function loadHandleFile(file: string): Promise<VmHandle | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const handle = JSON.parse(text) as VmHandle;
  if (
    typeof handle?.name !== 'string' ||
    !BACKENDS.includes(handle.backend) ||
    typeof handle.state !== 'object'
  )
    throw new VmError('invalid', `${file} is not a vm-tools VM state file`);
  return handle;
}

export async function loadHandle(dir: string, name: string): Promise<VmHandle> {
  const handle = await loadHandleFile(stateFile(dir, name));
  if (!handle)
    throw new VmError(
      'invalid',
      `Input "name": no VM named "${name}" in ${dir} (was it started with another state dir?).`,
    );
  return handle;
}

export async function removeHandle(dir: string, name: string): Promise<void> {
  await rm(stateFile(dir, name), { force: true });
}
