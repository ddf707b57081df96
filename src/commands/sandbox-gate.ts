import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { which } from '@actions/io';
import {
  LEFTOVERS_STATE,
  parseLeftovers,
  processCleanups,
  removeLeftovers,
  type Tracked,
} from '../lib/cleanup.js';
import { errorMessage, InputError } from '../lib/command/errors.js';
import { integer, list, oneOf, optional } from '../lib/command/inputs.js';
import { invoke } from '../lib/command/invoke.js';
import { type Context, defineCommand } from '../lib/command/types.js';
import { TOKEN_PATTERN } from '../lib/gate/canaries.js';
import { type GateRun, runGate } from '../lib/gate/gate.js';
import { deleteVm } from '../lib/vm/delete.js';
import type { Endpoint, VmHandle } from '../lib/vm/driver.js';
import { driverFor } from '../lib/vm/drivers.js';
import { QEMU_BINARY } from '../lib/vm/qemu/driver.js';
import { parseAllow, validateName } from '../lib/vm/spec.js';
import { loadHandle } from '../lib/vm/state.js';
import bootVm, { ACCELS } from './boot-vm.js';
import { GUEST_DIR_INPUT } from './build-guest.js';
import {
  asInput,
  asInputAsync,
  resolveStateDir,
  STATE_DIR_INPUT,
  stateDirInput,
} from './shared/vm-inputs.js';

/** The qemu default guest needs little for the probes (boot-vm's qemu default is 512). */
const BOOT_MEMORY_MIB = 256;

function parse(read: (name: string) => string | undefined) {
  const allow = asInput(() => parseAllow(list(read, 'allow')));
  if (allow.length === 0)
    throw new InputError(
      'Input "allow" is required: the endpoints the guest must reach (the positive controls), HOST:PORT one per line.',
    );
  const name = optional(read, 'name');
  return {
    /** Undefined: the gate boots the default qemu guest itself and deletes it afterwards. */
    name: name === undefined ? undefined : asInput(() => validateName(name)),
    allow,
    controlLog: optional(read, 'control-log'),
    report: optional(read, 'report'),
    runtime: optional(read, 'runtime'),
    waitS: integer(read, 'wait', { min: 1, max: 60, fallback: 3 }),
    stateDir: stateDirInput(read),
    accel: oneOf(read, 'accel', ACCELS, 'auto'),
    guestDir: optional(read, 'guest-dir'),
    memoryMiB: integer(read, 'memory', { min: 64, max: 1_048_576, fallback: BOOT_MEMORY_MIB }),
    timeoutS: integer(read, 'timeout', { min: 1, max: 86_400, fallback: 300 }),
  };
}

type Inputs = ReturnType<typeof parse>;

function summaryRows(run: GateRun): string[][] {
  return run.rows.map((r) => [
    r.probe,
    `${r.kind} ${r.address} (${r.target})`,
    r.expected,
    r.guest,
    r.evidence,
    r.verdict,
  ]);
}

/** A VM the gate booted itself: deleted when the gate is done, whatever happened. */
interface OwnVm {
  name: string;
  accel: string;
  bootMs: string;
  /** Deletes the VM (idempotent); stays tracked for the signal handlers and post until it worked. */
  remove(): Promise<void>;
}

/**
 * Boots the default qemu guest through boot-vm (the same command as the action, kept:
 * this step deletes it), allowed exactly the gate's endpoints. From the moment the
 * name is chosen the VM is tracked, so SIGINT/SIGTERM delete it too (and, when the
 * action is killed outright, its post step). A qemu that cannot run is bad input:
 * there is no VM to gate and none can be booted.
 */
async function bootOwnVm(inputs: Inputs, stateDir: string, ctx: Context): Promise<OwnVm> {
  // Checked before anything is built or started: without qemu there is nothing to gate.
  if (!(await which(QEMU_BINARY, false)))
    throw new InputError(
      `no VM given (name) and none can be booted: ${QEMU_BINARY} is not installed (apt-get install qemu-system-x86)`,
    );
  const name = `gate-${process.pid}-${randomBytes(3).toString('hex')}`;
  let tracked: Tracked | undefined;
  // One deletion at a time (a signal's cleanup and the gate's own can overlap); a failed one may be retried.
  let removing: Promise<void> | undefined;
  const remove = () =>
    (removing ??= (async () => {
      if (await deleteVm(stateDir, name)) ctx.log.info(`deleted VM ${name} (booted by the gate)`);
      tracked?.release();
    })().catch((error) => {
      removing = undefined;
      throw error;
    }));
  tracked = processCleanups.track({ kind: 'vm', name, stateDir }, remove);
  try {
    const { outputs } = await invoke(
      bootVm,
      {
        name,
        backend: 'qemu',
        allow: inputs.allow.map((e: Endpoint) => `${e.host}:${e.port}`).join('\n'),
        accel: inputs.accel,
        'guest-dir': inputs.guestDir,
        memory: String(inputs.memoryMiB),
        timeout: String(inputs.timeoutS),
        'state-dir': stateDir,
        keep: 'true',
      },
      // boot-vm's main→post hand-over is not this step's: this step deletes the VM.
      { ...ctx, saveState: () => {} },
    );
    return { name, accel: outputs.accel ?? '', bootMs: outputs['boot-ms'] ?? '', remove };
  } catch (error) {
    await remove().catch((e) => ctx.log.warning(`deleting VM ${name}: ${errorMessage(e)}`));
    throw error;
  }
}

async function gate(inputs: Inputs, handle: VmHandle, ctx: Context): Promise<GateRun> {
  const driver = await driverFor(handle.backend);
  const controlLog = inputs.controlLog && resolve(ctx.cwd, inputs.controlLog);
  const scratch = await mkdtemp(join(tmpdir(), 'vm-tools-gate-'));
  const tracked = processCleanups.track({ kind: 'file', path: scratch }, () =>
    rm(scratch, { recursive: true, force: true }),
  );
  try {
    return await runGate({
      driver,
      handle,
      allow: inputs.allow,
      tempDir: scratch,
      waitS: inputs.waitS,
      // bench/gate.mjs's baseline (never an input): the same probes one after another.
      sequential: ctx.env.VM_TOOLS_BENCH_GATE_SEQUENTIAL === '1',
      ...(inputs.runtime ? { runtime: resolve(ctx.cwd, inputs.runtime) } : {}),
      ...(controlLog
        ? {
            controlTokens: async () =>
              [...(await readFile(controlLog, 'latin1')).matchAll(TOKEN_PATTERN)].map((m) => m[0]),
          }
        : {}),
      log: (line) => ctx.log.info(line),
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
    tracked.release();
  }
}

export default defineCommand({
  name: 'sandbox-gate',
  description:
    'Probes a VM from inside for ways out (host loopback, other ports, UDP/DNS, metadata, forwards not allowed); the host judges from its own canaries. Gates the VM boot-vm started (name), or boots the default qemu guest itself and always deletes it. Fails on fail and broken.',
  inputs: {
    name: {
      description:
        'The VM started by boot-vm (letters, digits, "-", "_", "."). Empty: the gate boots the default qemu guest itself, allowed exactly the allow endpoints, and always deletes it afterwards.',
    },
    allow: {
      description:
        'The endpoints the guest must reach (positive controls), HOST:PORT one per line, as given to boot-vm.',
      multiline: true,
      required: true,
    },
    'control-log': {
      description:
        "A file the allowed endpoint logs its requests to: each control's token must appear there (without it only the guest vouches for the controls).",
    },
    report: {
      description:
        'Where the JSON report goes (default $RUNNER_TEMP/vm-tools-gate-NAME.json, else the temp dir).',
    },
    runtime: {
      description:
        "Host path of a static busybox for the guest's arch, copied in to run the probes (default /bin/busybox, from busybox-static).",
    },
    wait: { description: 'Seconds each probe waits for an answer.', default: '3' },
    'state-dir': STATE_DIR_INPUT,
    accel: {
      description:
        'Without name: auto (KVM when /dev/kvm is usable, else software emulation), kvm (fail fast without it) or tcg.',
      default: 'auto',
    },
    'guest-dir': GUEST_DIR_INPUT,
    memory: {
      description: 'Without name: memory of the booted guest in MiB.',
      default: String(BOOT_MEMORY_MIB),
    },
    timeout: {
      description: 'Without name: seconds to wait for the booted guest to be ready.',
      default: '300',
    },
  },
  outputs: {
    verdict: 'pass, fail (something escaped) or broken (the gate could not judge).',
    escapes: 'JSON array of the escapes: probe, target, address, evidence (canary, token, peer).',
    report: 'Path of the JSON report (every probe, the canaries, the guest output).',
    'boot-ms':
      'Milliseconds the gate took to boot its own VM, start to ready (empty when name was given).',
  },
  parse,
  async run(inputs: Inputs, ctx) {
    const stateDir = resolveStateDir(inputs.stateDir, ctx.env);
    const own = inputs.name === undefined ? await bootOwnVm(inputs, stateDir, ctx) : undefined;
    const name = own?.name ?? (inputs.name as string);
    let run: GateRun;
    let handle: VmHandle;
    let deleteFailure: string | undefined;
    try {
      handle = await asInputAsync(() => loadHandle(stateDir, name));
      run = await gate(inputs, handle, ctx);
    } finally {
      if (own)
        await own.remove().catch((e) => {
          // Still tracked: the post step (action) tries again.
          deleteFailure = `could not delete VM ${name}, which the gate booted: ${errorMessage(e)}`;
          ctx.log.warning(deleteFailure);
        });
    }
    const reportPath = resolve(
      ctx.cwd,
      inputs.report ?? join(ctx.env.RUNNER_TEMP ?? tmpdir(), `vm-tools-gate-${name}.json`),
    );
    await mkdir(dirname(reportPath), { recursive: true });
    await writeFile(
      reportPath,
      `${JSON.stringify(
        {
          vm: name,
          backend: handle.backend,
          booted: own !== undefined,
          ...(own ? { bootMs: Number(own.bootMs), accel: own.accel } : {}),
          ...run,
        },
        null,
        2,
      )}\n`,
    );
    for (const p of run.problems) ctx.log.warning(p);
    for (const n of run.notes) ctx.log.info(n);
    for (const e of run.escapes)
      ctx.log.warning(`escape: ${e.probe} ${e.address} (${e.target}): ${e.evidence}`);
    const outcome =
      run.verdict === 'fail'
        ? `sandbox gate: fail, ${run.escapes.length} escape(s): ${run.escapes.map((e) => `${e.address} (${e.target}): ${e.evidence}`).join('; ')}`
        : run.verdict === 'broken'
          ? `sandbox gate: broken, the gate could not judge: ${run.problems.join('; ')}`
          : undefined;
    const failure = [outcome, deleteFailure].filter(Boolean).join('; ');
    return {
      outputs: {
        verdict: run.verdict,
        escapes: JSON.stringify(run.escapes),
        report: reportPath,
        'boot-ms': own?.bootMs ?? '',
      },
      summary: {
        heading: `Sandbox gate: ${run.verdict}`,
        lines: [
          own
            ? `VM ${name}: booted by the gate (default qemu guest, ${own.accel}, ready in ${own.bootMs} ms), ${deleteFailure ? 'NOT deleted' : 'deleted afterwards'}`
            : `VM ${name}: given (started by boot-vm), left running`,
          `${run.probes.length} probes in ${Math.round(run.probeMs)} ms (gate ${Math.round(run.durationMs)} ms); report ${reportPath}`,
          ...run.problems.map((p) => `problem: ${p}`),
          ...run.notes,
        ],
        table: {
          header: ['Probe', 'Target', 'Expected', 'Guest result', 'Host evidence', 'Verdict'],
          rows: summaryRows(run),
        },
      },
      ...(failure ? { failure } : {}),
    };
  },
  /** Action only: deletes the VM the gate booted (and its scratch dir) when main was killed first. */
  async post(ctx) {
    const leftovers = parseLeftovers(ctx.getState(LEFTOVERS_STATE));
    await removeLeftovers(
      leftovers,
      {
        vm: (l) => deleteVm(l.stateDir, l.name),
        file: async (l) => {
          const there = await lstat(l.path).then(
            () => true,
            () => false,
          );
          await rm(l.path, { recursive: true, force: true });
          return there;
        },
      },
      (m) => ctx.log.info(m),
    );
  },
});
