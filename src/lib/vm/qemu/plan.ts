/**
 * Pure planning for the qemu backend: the guest-side address of every allowed
 * endpoint and the qemu command line. Nothing here touches the host.
 */
import type { Accel, Endpoint } from '../driver.js';
import { VmError } from '../driver.js';
import { AGENT_PORT_NAME } from '../guest/scripts.js';

/** The first guest address a forwarded endpoint takes: 10.0.2.100, .101, … in `allow` order. */
const FIRST_FORWARD_HOST = 100;
const LAST_FORWARD_HOST = 254;
export const MAX_FORWARDS = LAST_FORWARD_HOST - FIRST_FORWARD_HOST + 1;

export interface Forward {
  /** What the guest connects to. */
  guestAddress: string;
  guestPort: number;
  /** Where the host relays it. */
  target: Endpoint;
}

/** One guest address per endpoint, same port: the guest can tell the endpoints apart by address alone. */
export function planForwards(allow: readonly Endpoint[]): Forward[] {
  if (allow.length > MAX_FORWARDS)
    throw new VmError(
      'invalid',
      `Input "allow" has ${allow.length} entries; qemu forwards at most ${MAX_FORWARDS}.`,
    );
  return allow.map((target, i) => ({
    guestAddress: `10.0.2.${FIRST_FORWARD_HOST + i}`,
    guestPort: target.port,
    target,
  }));
}

export interface QemuPlan {
  name: string;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  workDir: string;
  forwards: readonly Forward[];
  /** argv prefix that relays one guest connection (stdin/stdout) to HOST PORT. */
  relay: readonly string[];
  /** false only for the gate's leaky test guests (VmSpec.qemuUnsafe); default on. */
  restrict?: boolean;
  /** The gate's leaky test guests only: guestfwds the VM's state does not list, a host directory shared over 9p. */
  unlisted?: readonly Forward[];
  share?: string;
}

export const KERNEL_ARGS = [
  'console=ttyS0',
  'quiet',
  // The guest's PID 1 dying must end qemu, not hang it.
  'panic=-1',
  // No keyboard/mouse controller probing: a few hundred ms under emulation.
  'i8042.noaux',
  'i8042.nokbd',
  'i8042.nopnp',
  'no_timer_check',
  'tsc=reliable',
].join(' ');

export function workPaths(workDir: string) {
  return {
    agentSocket: `${workDir}/agent.sock`,
    pidFile: `${workDir}/qemu.pid`,
    serialLog: `${workDir}/serial.log`,
    relayScript: `${workDir}/relay.cjs`,
  };
}

/** qemu splits options on ","; libslirp splits the guestfwd command on spaces and does no quoting. */
function checkOptionSafe(what: string, value: string, spaces = false): void {
  if (value.includes(',') || (!spaces && /\s/.test(value)))
    throw new VmError(
      'invalid',
      `${what} "${value}" must not contain commas${spaces ? '' : ' or spaces'} (qemu option syntax).`,
    );
}

export function qemuArgv(plan: QemuPlan): string[] {
  const paths = workPaths(plan.workDir);
  checkOptionSafe('the qemu work directory', plan.workDir);
  checkOptionSafe('Input "kernel"', plan.kernel, true);
  checkOptionSafe('Input "initrd"', plan.initrd, true);
  for (const part of plan.relay) checkOptionSafe('the relay command', part);
  if (plan.share) checkOptionSafe('the shared directory', plan.share);
  const netdev = ['user', 'id=net0', ...(plan.restrict === false ? [] : ['restrict=on'])];
  for (const f of [...plan.forwards, ...(plan.unlisted ?? [])]) {
    netdev.push(
      `guestfwd=tcp:${f.guestAddress}:${f.guestPort}-cmd:${[...plan.relay, f.target.host, String(f.target.port)].join(' ')}`,
    );
  }
  return [
    '-name',
    `vm-tools-${plan.name}`,
    // pc came up faster than q35 here; the default NIC and VGA ROMs are not needed.
    '-M',
    'pc',
    '-accel',
    plan.accel === 'kvm' ? 'kvm' : 'tcg',
    ...(plan.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-smp',
    String(plan.cpus),
    '-m',
    String(plan.memoryMiB),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-vga',
    'none',
    '-no-reboot',
    '-kernel',
    plan.kernel,
    '-initrd',
    plan.initrd,
    '-append',
    KERNEL_ARGS,
    '-serial',
    `file:${paths.serialLog}`,
    '-device',
    'virtio-serial-pci,romfile=',
    '-chardev',
    `socket,id=agent,path=${paths.agentSocket},server=on,wait=off`,
    '-device',
    `virtserialport,chardev=agent,name=${AGENT_PORT_NAME}`,
    '-netdev',
    netdev.join(','),
    '-device',
    'virtio-net-pci,netdev=net0,romfile=',
    ...(plan.share
      ? ['-virtfs', `local,path=${plan.share},mount_tag=hostshare,security_model=none,readonly=on`]
      : []),
    '-daemonize',
    '-pidfile',
    paths.pidFile,
  ];
}

/** Something in a running qemu's own command line that opens a way out of the sandbox. */
export interface QemuFinding {
  what: string;
  /** The argument that says so. */
  arg: string;
}

/**
 * Reads a qemu command line the way the host sees it (`/proc/PID/cmdline`), so the
 * sandbox gate has host-side evidence the guest cannot hide: user networking
 * without `restrict=on`, a guestfwd the VM's state does not list, a host
 * directory shared over 9p or virtiofs.
 */
export function auditQemuArgv(
  argv: readonly string[],
  forwards: readonly Forward[],
): QemuFinding[] {
  const findings: QemuFinding[] = [];
  const listed = new Set(forwards.map((f) => `${f.guestAddress}:${f.guestPort}`));
  argv.forEach((arg, i) => {
    const prev = argv[i - 1];
    if (prev === '-netdev' && /^user(,|$)/.test(arg)) {
      const options = arg.split(',');
      if (!options.includes('restrict=on') && !options.includes('restrict=yes'))
        findings.push({
          what: "user networking without restrict=on: the guest reaches the host's loopback and beyond",
          arg,
        });
      for (const option of options) {
        const fwd = /^guestfwd=tcp:([^:]+):(\d+)-/.exec(option);
        if (fwd && !listed.has(`${fwd[1]}:${fwd[2]}`))
          findings.push({
            what: `a forward the VM's state does not list: ${fwd[1]}:${fwd[2]}`,
            arg: option,
          });
      }
    }
    if (prev === '-virtfs' || prev === '-fsdev')
      findings.push({ what: 'a host directory shared into the guest (9p)', arg: `${prev} ${arg}` });
    if (prev === '-device' && /^(virtio-9p|vhost-user-fs)/.test(arg))
      findings.push({ what: 'a host directory shared into the guest', arg: `${prev} ${arg}` });
  });
  return findings;
}
