import { resolve } from 'node:path';
import { processCleanups } from '../lib/cleanup.js';
import { InputError } from '../lib/command/errors.js';
import { boolean, integer, list, oneOf, optional } from '../lib/command/inputs.js';
import type { Context } from '../lib/command/types.js';
import { defineCommand } from '../lib/command/types.js';
import { deleteVm } from '../lib/vm/delete.js';
import { type AccelRequest, BACKENDS, type VmHandle, type VmSpec } from '../lib/vm/driver.js';
import { driverFor } from '../lib/vm/drivers.js';
import { buildGuest, defaultGuestCacheDir } from '../lib/vm/guest/build.js';
import { parseAllow } from '../lib/vm/spec.js';
import { loadHandleFile, removeHandle, saveHandle, stateFile } from '../lib/vm/state.js';
import { GUEST_DIR_INPUT } from './build-guest.js';
import {
  asInput,
  asInputAsync,
  NAME_INPUT,
  nameInput,
  resolveStateDir,
  STATE_DIR_INPUT,
  stateDirInput,
} from './shared/vm-inputs.js';

export const ACCELS: readonly AccelRequest[] = ['auto', 'kvm', 'tcg'];
/** A sandbox guest needs little; Lima/smolvm guests run podman and need more. */
const DEFAULT_SIZE = {
  qemu: { cpus: 1, memoryMiB: 512 },
  lima: { cpus: 2, memoryMiB: 2048 },
  smolvm: { cpus: 2, memoryMiB: 2048 },
};

/** Main → post hand-over: the post step finds the VM through these. */
const STATE = { name: 'vm-name', stateDir: 'vm-state-dir', keep: 'vm-keep' } as const;

function parse(read: (name: string) => string | undefined) {
  const backend = oneOf(read, 'backend', BACKENDS, 'qemu');
  const kernel = optional(read, 'kernel');
  const initrd = optional(read, 'initrd');
  if ((kernel === undefined) !== (initrd === undefined))
    throw new InputError(
      `Inputs "kernel" and "initrd" go together: give both, or neither for the default guest.`,
    );
  const size = DEFAULT_SIZE[backend];
  return {
    backend,
    name: nameInput(read),
    accel: oneOf(read, 'accel', ACCELS, 'auto'),
    kernel,
    initrd,
    guestDir: optional(read, 'guest-dir'),
    template: optional(read, 'template'),
    image: optional(read, 'image'),
    cpus: integer(read, 'cpus', { min: 1, max: 64, fallback: size.cpus }),
    memoryMiB: integer(read, 'memory', { min: 64, max: 1_048_576, fallback: size.memoryMiB }),
    allow: asInput(() => parseAllow(list(read, 'allow'))),
    timeoutMs: integer(read, 'timeout', { min: 1, max: 86_400, fallback: 300 }) * 1000,
    keep: boolean(read, 'keep'),
    stateDir: stateDirInput(read),
  };
}

type Inputs = ReturnType<typeof parse>;

async function run(inputs: Inputs, ctx: Context) {
  const stateDir = resolveStateDir(inputs.stateDir, ctx.env);
  const existing = await loadHandleFile(stateFile(stateDir, inputs.name));
  if (existing) {
    const status = await (await driverFor(existing.backend)).describe(existing).then(
      (d) => d.status,
      () => 'missing',
    );
    if (status === 'running')
      throw new InputError(
        `Input "name": a VM named "${inputs.name}" is already running (vm-tools vm-delete --name ${inputs.name}).`,
      );
    await removeHandle(stateDir, inputs.name);
  }
  let { kernel, initrd } = inputs;
  if (inputs.backend === 'qemu' && kernel === undefined) {
    const guest = await ctx.log.group('default guest', () =>
      buildGuest({
        cacheDir: inputs.guestDir ?? defaultGuestCacheDir(ctx.env),
        log: (l) => ctx.log.info(l),
      }),
    );
    ctx.log.info(
      `default guest ${guest.key}${guest.cached ? ' (cached)' : ''}: ${guest.kernelPackage}`,
    );
    ({ kernel, initrd } = guest);
  }
  const spec: VmSpec = {
    name: inputs.name,
    backend: inputs.backend,
    accel: inputs.accel,
    cpus: inputs.cpus,
    memoryMiB: inputs.memoryMiB,
    allow: inputs.allow,
    timeoutMs: inputs.timeoutMs,
    kernel: kernel && resolve(ctx.cwd, kernel),
    initrd: initrd && resolve(ctx.cwd, initrd),
    template: inputs.template,
    image: inputs.image,
  };
  const driver = await driverFor(inputs.backend);
  const preflight = await asInputAsync(() => driver.preflight(spec));
  for (const note of preflight.notes) ctx.log.info(note);

  ctx.saveState(STATE.name, inputs.name);
  ctx.saveState(STATE.stateDir, stateDir);
  ctx.saveState(STATE.keep, String(inputs.keep));
  // SIGINT/SIGTERM while booting: the process's cleanup registry aborts the boot and
  // deletes what was started before the process exits (a VM that came up belongs to
  // the post step, so tracking ends there).
  const controller = new AbortController();
  const { signal } = controller;
  let handle: VmHandle | undefined;
  const tracked = processCleanups.track({ kind: 'vm', name: inputs.name, stateDir }, async () => {
    controller.abort(new Error('interrupted'));
    const h = handle ?? (await loadHandleFile(stateFile(stateDir, inputs.name)));
    if (h) await driver.delete(h);
    await removeHandle(stateDir, inputs.name);
  });
  const started = performance.now();
  try {
    await ctx.log.group(`boot ${inputs.backend} VM ${inputs.name}`, async () => {
      handle = await driver.start(spec, signal, async (h) => {
        handle = h;
        await saveHandle(stateDir, h);
      });
      await driver.ready(
        handle,
        Math.max(1, inputs.timeoutMs - (performance.now() - started)),
        signal,
      );
    });
  } catch (error) {
    if (handle)
      await driver
        .delete(handle)
        .catch((e) => ctx.log.warning(`teardown after the failed boot: ${e}`));
    await removeHandle(stateDir, inputs.name);
    if (signal.aborted)
      throw new Error(
        `boot of ${inputs.name} ${signal.reason?.message ?? 'interrupted'}; the VM was deleted`,
      );
    throw error;
  } finally {
    tracked.release();
  }
  const bootMs = String(Math.round(performance.now() - started));
  const vm = handle as VmHandle;
  await saveHandle(stateDir, vm);
  const description = await driver.describe(vm);
  if (description.details['accel-note']) ctx.log.warning(description.details['accel-note']);
  const outputs: Record<string, string> = {
    name: vm.name,
    backend: vm.backend,
    accel: description.accel,
    'boot-ms': bootMs,
    'state-file': stateFile(stateDir, vm.name),
  };
  if (description.podmanSocket) outputs['podman-socket'] = description.podmanSocket;
  return {
    outputs,
    summary: {
      heading: 'VM',
      table: {
        header: ['Name', 'Backend', 'Accel', 'Boot (ms)', 'Allowed endpoints', 'Kept'],
        rows: [
          [
            vm.name,
            vm.backend,
            description.accel,
            bootMs,
            inputs.allow.map((e) => `${e.host}:${e.port}`).join(', ') || '(none)',
            inputs.keep ? 'yes' : 'no (post step deletes it)',
          ],
        ],
      },
    },
  };
}

/** The post step: tears down what main started, unless `keep`. */
async function post(ctx: Context): Promise<void> {
  const name = ctx.getState(STATE.name);
  const stateDir = ctx.getState(STATE.stateDir);
  if (!name || !stateDir) {
    ctx.log.info('boot-vm started no VM; nothing to tear down.');
    return;
  }
  if (ctx.getState(STATE.keep) === 'true') {
    ctx.log.info(
      `keep: true, leaving VM ${name} running (vm-tools vm-delete --name ${name} --state-dir ${stateDir}).`,
    );
    return;
  }
  if (!(await deleteVm(stateDir, name))) {
    ctx.log.info(`VM ${name} has no state file left; nothing to tear down.`);
    return;
  }
  ctx.log.info(`deleted VM ${name}`);
}

export default defineCommand({
  name: 'boot-vm',
  description:
    'Boots a sandbox VM (qemu, Lima or smolvm) whose only ways out are the allowed endpoints, and waits until it can run commands.',
  inputs: {
    backend: { description: 'qemu, lima or smolvm.', default: 'qemu' },
    name: NAME_INPUT,
    accel: {
      description:
        'auto (KVM when /dev/kvm is usable, else software emulation), kvm (fail fast without it) or tcg.',
      default: 'auto',
    },
    kernel: { description: 'qemu: the guest kernel (empty: the default guest, built and cached).' },
    initrd: { description: 'qemu: the guest initramfs (with kernel).' },
    'guest-dir': GUEST_DIR_INPUT,
    template: { description: 'lima: the template (a file, an http(s) URL or template:NAME).' },
    image: { description: 'smolvm: the OCI image the machine runs.' },
    cpus: { description: 'Virtual CPUs (default: qemu 1, lima/smolvm 2).' },
    memory: { description: 'Memory in MiB (default: qemu 512, lima/smolvm 2048).' },
    allow: {
      description:
        'Endpoints the guest may reach, HOST:PORT, one per line; nothing else is reachable. qemu: the guest reaches entry i at 10.0.2.(100+i), same port.',
      multiline: true,
    },
    timeout: { description: 'Seconds to wait for the VM to be ready.', default: '300' },
    keep: {
      description: 'Leave the VM running after the job (skip the post-step teardown).',
      boolean: true,
      default: 'false',
    },
    'state-dir': STATE_DIR_INPUT,
  },
  outputs: {
    name: 'The VM name.',
    backend: 'The backend that runs it.',
    accel: 'kvm, hvf or tcg (software emulation).',
    'boot-ms': 'Milliseconds from start to ready.',
    'podman-socket': 'Host path of the guest podman API socket (when the guest runs podman).',
    'state-file': 'The VM state file other steps and vm-tools vm-* verbs find it by.',
  },
  parse,
  run,
  post,
});
