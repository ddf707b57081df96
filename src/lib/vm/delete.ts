import { driverFor } from './drivers.js';
import { loadHandleFile, removeHandle, stateFile } from './state.js';

/**
 * Deletes the VM a state file names, through its backend, and then the state
 * file: what `vm-delete`, boot-vm's post step and the main job's VM step share.
 * Resolves false when no state file names such a VM (nothing to do).
 */
export async function deleteVm(stateDir: string, name: string): Promise<boolean> {
  const handle = await loadHandleFile(stateFile(stateDir, name));
  if (!handle) return false;
  await (await driverFor(handle.backend)).delete(handle);
  await removeHandle(stateDir, name);
  return true;
}
