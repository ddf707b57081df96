import { constants } from 'node:fs';
import { access } from 'node:fs/promises';

export type KvmAccess = 'usable' | 'missing' | 'denied';

/** Whether this user can open `/dev/kvm` read-write (what every KVM hypervisor needs). */
export async function kvmAccess(path = '/dev/kvm'): Promise<KvmAccess> {
  try {
    await access(path, constants.F_OK);
  } catch {
    return 'missing';
  }
  try {
    await access(path, constants.R_OK | constants.W_OK);
    return 'usable';
  } catch {
    return 'denied';
  }
}

export const KVM_MISSING_FIX = 'load kvm-intel or kvm-amd and enable virtualization in firmware';
export const KVM_DENIED_FIX =
  'add your user to the kvm group, or on GitHub-hosted runners install the udev rule giving /dev/kvm mode 0666';
