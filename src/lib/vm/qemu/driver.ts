/**
 * The qemu backend: direct kernel boot of a kernel + initramfs, user-mode
 * networking with `restrict=on` and one guestfwd per allowed endpoint, and an
 * exec channel to the guest agent over a virtserialport. qemu daemonizes, so a
 * VM outlives the process that started it; everything it owns lives in one
 * work directory recorded in the handle.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Accel,
  type ExecOptions,
  type ExecResult,
  type GuestNetwork,
  type PreflightReport,
  type VmDescription,
  type VmDriver,
  VmError,
  type VmHandle,
  type VmSpec,
} from '../driver.js';
import { validateName } from '../spec.js';
import { AgentChannel } from './agent-channel.js';
import { auditQemuArgv, type Forward, planForwards, qemuArgv, workPaths } from './plan.js';
import { findQemu, killQemu } from './process.js';
import { RELAY_SCRIPT } from './relay.js';

export interface QemuState {
  workDir: string;
  accel: Accel;
  pid?: number;
  forwards: Forward[];
  /** The READY line's payload (agent, protocol, guest uptime in s when it announced itself). */
  agent?: string;
  /** Host clock (ms since the epoch) when readiness was detected; the benchmark's measure. */
  readyAtMs?: number;
  /** Why accel differs from what preflight chose, when it does. */
  accelNote?: string;
  /** Host clock when the agent announced itself (from its uptime stamps). */
  agentUpAtMs?: number;
  /** Host clock when qemu was launched. */
  launchedAtMs?: number;
}

export interface QemuDriverOptions {
  /** The qemu binary (default `qemu-system-x86_64`). */
  qemu?: string;
  /** Runs the guestfwd relay (default: this Node). */
  node?: string;
  kvmDevice?: string;
  /** Where work directories go (default: the OS temp dir; unix socket paths must stay short). */
  tempDir?: string;
  /** Benchmark baseline only: poll for the agent every N ms instead of waiting for its line. */
  readyPollMs?: number;
}

export const KVM_HELP =
  'give the runner user read+write access to /dev/kvm: add it to the kvm group, or on GitHub-hosted runners install the udev rule ' +
  `(echo 'KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"' | sudo tee /etc/udev/rules.d/99-kvm4all.rules; sudo udevadm control --reload-rules; sudo udevadm trigger --name-match=kvm)`;

const LOG_TAIL_LINES = 30;
/** The emulator the default guest (x86_64) runs on. */
export const QEMU_BINARY = 'qemu-system-x86_64';
/** Where a leaky test guest's host resolver answers (VmSpec.qemuUnsafe.dnsViaHost). */
export const UNSAFE_DNS_ADDRESS = '10.0.2.53';

async function tail(path: string, lines = LOG_TAIL_LINES): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function stateOf(handle: VmHandle): QemuState {
  const state = handle.state as unknown as QemuState;
  if (handle.backend !== 'qemu' || typeof state.workDir !== 'string')
    throw new VmError(
      'invalid',
      `VM "${handle.name}" is not a qemu VM (backend ${handle.backend})`,
    );
  return state;
}

export class QemuDriver implements VmDriver {
  readonly backend = 'qemu' as const;
  private readonly qemu: string;
  private readonly node: string;
  private readonly kvmDevice: string;
  private readonly tempDir: string;
  private readonly pollMs: number;

  constructor(options: QemuDriverOptions = {}) {
    this.qemu = options.qemu ?? QEMU_BINARY;
    this.node = options.node ?? process.execPath;
    this.kvmDevice = options.kvmDevice ?? '/dev/kvm';
    this.tempDir = options.tempDir ?? tmpdir();
    this.pollMs = options.readyPollMs ?? 0;
  }

  /** Why KVM cannot be used, or undefined when it can (opening it is the only honest test). */
  private async kvmProblem(): Promise<string | undefined> {
    try {
      await stat(this.kvmDevice);
    } catch {
      return `${this.kvmDevice} does not exist (load kvm-intel or kvm-amd and enable virtualization in firmware)`;
    }
    try {
      await access(this.kvmDevice, constants.R_OK | constants.W_OK);
      await (await open(this.kvmDevice, 'r+')).close();
      return undefined;
    } catch (error) {
      return `${this.kvmDevice} is not readable and writable by this user (${(error as NodeJS.ErrnoException).code}): ${KVM_HELP}`;
    }
  }

  async preflight(spec: VmSpec): Promise<PreflightReport> {
    validateName(spec.name);
    planForwards(spec.allow);
    for (const input of ['kernel', 'initrd'] as const) {
      const path = spec[input];
      if (!path)
        throw new VmError(
          'invalid',
          `Input "${input}" is required for the qemu backend: a path to the guest's ${input}.`,
        );
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile())
        throw new VmError('invalid', `Input "${input}": no such file "${path}".`);
    }
    const version = await new Promise<string>((resolve, reject) => {
      const child = spawn(this.qemu, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('error', () =>
        reject(
          new VmError(
            'unavailable',
            `${this.qemu} is not installed (apt-get install qemu-system-x86)`,
          ),
        ),
      );
      child.on('close', () => resolve(out.split('\n')[0] ?? ''));
    });
    const notes = [version];
    const problem = await this.kvmProblem();
    if (spec.accel === 'kvm' && problem)
      throw new VmError('unavailable', `accel: kvm was requested but ${problem}`);
    if (spec.accel === 'tcg')
      return { accel: 'tcg', notes: [...notes, 'software emulation (TCG) as requested'] };
    if (problem) notes.push(`software emulation (TCG): ${problem}`);
    return { accel: problem ? 'tcg' : 'kvm', notes };
  }

  async start(
    spec: VmSpec,
    signal?: AbortSignal,
    onHandle?: (handle: VmHandle) => Promise<void>,
  ): Promise<VmHandle> {
    const report = await this.preflight(spec);
    const workDir = await mkdtemp(join(this.tempDir, 'vm-tools-qemu-'));
    const paths = workPaths(workDir);
    const state: QemuState = {
      workDir,
      accel: report.accel,
      forwards: planForwards([...spec.allow, ...(spec.qemuUnsafe?.extraForwards ?? [])]),
    };
    const handle: VmHandle = {
      name: spec.name,
      backend: 'qemu',
      state: state as unknown as Record<string, unknown>,
    };
    try {
      await writeFile(paths.relayScript, RELAY_SCRIPT);
      // Recorded before qemu exists: a caller killed from here on can still tear it down.
      await onHandle?.(handle);
      state.launchedAtMs = Date.now();
      let launch = await this.launch(spec, state);
      if (launch.code !== 0 && spec.accel === 'auto' && state.accel === 'kvm') {
        // /dev/kvm opened but KVM did not work (nested virtualization off, …): emulate instead.
        state.accel = 'tcg';
        state.accelNote = `KVM did not start (${launch.stderr.trim().split('\n').at(-1)}); using software emulation`;
        launch = await this.launch(spec, state);
      }
      if (launch.code !== 0)
        throw new VmError(
          'start_failed',
          `qemu failed to start (exit ${launch.code}): ${launch.stderr.trim()}`,
        );
      signal?.throwIfAborted();
      state.pid = await findQemu(paths.pidFile);
      if (!state.pid)
        throw new VmError(
          'start_failed',
          `qemu exited right after starting; serial console:\n${await tail(paths.serialLog)}`,
        );
      await onHandle?.(handle);
      return handle;
    } catch (error) {
      await this.delete(handle);
      throw error;
    }
  }

  private launch(spec: VmSpec, state: QemuState): Promise<{ code: number; stderr: string }> {
    const argv = qemuArgv({
      name: spec.name,
      accel: state.accel,
      cpus: spec.cpus,
      memoryMiB: spec.memoryMiB,
      kernel: spec.kernel as string,
      initrd: spec.initrd as string,
      workDir: state.workDir,
      forwards: state.forwards,
      relay: [this.node, workPaths(state.workDir).relayScript],
      ...(spec.qemuUnsafe?.restrict === false ? { restrict: false } : {}),
      ...(spec.qemuUnsafe?.dnsViaHost
        ? {
            unlisted: [
              {
                guestAddress: UNSAFE_DNS_ADDRESS,
                guestPort: 53,
                target: spec.qemuUnsafe.dnsViaHost,
              },
            ],
          }
        : {}),
      ...(spec.qemuUnsafe?.share ? { share: spec.qemuUnsafe.share } : {}),
    });
    // With -daemonize the first process exits once devices and sockets are set up.
    return new Promise((resolve) => {
      const child = spawn(this.qemu, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', (error) => resolve({ code: 127, stderr: error.message }));
      child.on('close', (code) => resolve({ code: code ?? 128, stderr }));
    });
  }

  async ready(handle: VmHandle, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const state = stateOf(handle);
    const paths = workPaths(state.workDir);
    try {
      const channel =
        this.pollMs > 0
          ? await this.pollForAgent(paths.agentSocket, timeoutMs, signal)
          : await AgentChannel.connect(paths.agentSocket, { timeoutMs, signal });
      state.readyAtMs = Date.now();
      state.agent = channel.hello;
      // One extra round trip so the benchmark can place the agent's READY on the host clock.
      const announcedS = Number(channel.hello.split(' ')[2]);
      if (announcedS > 0) {
        const clock = await channel.clock();
        state.agentUpAtMs = Math.round(clock.hostMs - (clock.guestUptimeMs - announcedS * 1000));
      }
      channel.close();
    } catch (error) {
      const running = (await findQemu(paths.pidFile, state.pid)) !== undefined;
      throw new VmError(
        (error as VmError).kind === 'timeout' ? 'timeout' : 'start_failed',
        `${(error as Error).message}; qemu is ${running ? 'still running' : 'no longer running'}; last lines of the serial console (${paths.serialLog}):\n${await tail(paths.serialLog)}`,
        { cause: error },
      );
    }
  }

  /**
   * The baseline the benchmark compares against (never the default): look every
   * `pollMs`, each look a short connect-and-handshake, as a socket-polling loop would.
   */
  private async pollForAgent(
    socket: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<AgentChannel> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await AgentChannel.connect(socket, { timeoutMs: 200, signal });
      } catch (error) {
        if (Date.now() + this.pollMs > deadline || signal?.aborted) throw error;
      }
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  private async withChannel<T>(
    handle: VmHandle,
    fn: (channel: AgentChannel) => Promise<T>,
  ): Promise<T> {
    const paths = workPaths(stateOf(handle).workDir);
    const channel = await AgentChannel.connect(paths.agentSocket, { timeoutMs: 30_000 }).catch(
      (error: VmError) => {
        throw new VmError('exec_failed', `VM "${handle.name}": ${error.message}`, { cause: error });
      },
    );
    try {
      return await fn(channel);
    } finally {
      channel.close();
    }
  }

  exec(handle: VmHandle, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) throw new VmError('invalid', 'exec needs a command');
    return this.withChannel(handle, (channel) => channel.exec(argv, options));
  }

  async copyIn(handle: VmHandle, hostPath: string, guestPath: string): Promise<void> {
    const data = await readFile(hostPath).catch((error: NodeJS.ErrnoException) => {
      throw new VmError('invalid', `cannot read ${hostPath}: ${error.code}`);
    });
    if (!guestPath.startsWith('/'))
      throw new VmError('invalid', `the guest path must be absolute; got "${guestPath}"`);
    await this.withChannel(handle, (channel) => channel.copyIn(data, guestPath));
  }

  async stop(handle: VmHandle): Promise<void> {
    const state = stateOf(handle);
    const pid = await findQemu(workPaths(state.workDir).pidFile, state.pid);
    if (pid) await killQemu(pid);
  }

  async delete(handle: VmHandle): Promise<void> {
    await this.stop(handle);
    await rm(stateOf(handle).workDir, { recursive: true, force: true });
  }

  /** libslirp: 10.0.2.2 (IPv6 fec0::2) is the host, 10.0.2.3 its DNS forwarder; each forward its own 10.0.2.100+i. */
  guestNetwork(handle: VmHandle): GuestNetwork {
    return {
      gateway: '10.0.2.2',
      gateway6: 'fec0::2',
      dns: '10.0.2.3',
      forwards: stateOf(handle).forwards ?? [],
    };
  }

  /** The running qemu's own command line, read from /proc: what it really was started with. */
  async hostAudit(handle: VmHandle): Promise<{ what: string; evidence: string }[]> {
    const state = stateOf(handle);
    const pid = await findQemu(workPaths(state.workDir).pidFile, state.pid);
    if (!pid) throw new VmError('exec_failed', `VM ${handle.name} has no running qemu`);
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    return auditQemuArgv(argv, state.forwards ?? []).map((f) => ({
      what: f.what,
      evidence: `qemu (pid ${pid}) runs with ${f.arg}`,
    }));
  }

  async describe(handle: VmHandle): Promise<VmDescription> {
    const state = stateOf(handle);
    const paths = workPaths(state.workDir);
    const pid = await findQemu(paths.pidFile, state.pid);
    return {
      name: handle.name,
      backend: 'qemu',
      accel: state.accel,
      status: pid ? 'running' : 'missing',
      details: {
        pid: pid ? String(pid) : '',
        'work-dir': state.workDir,
        'accel-note': state.accelNote ?? '',
        'serial-log': paths.serialLog,
        'agent-socket': paths.agentSocket,
        forwards: state.forwards
          .map((f) => `${f.guestAddress}:${f.guestPort} -> ${f.target.host}:${f.target.port}`)
          .join(', '),
      },
    };
  }
}
