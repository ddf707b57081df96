import { open, readdir, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { isAbsolute, join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  type Accel,
  type Endpoint,
  type ExecOptions,
  type ExecResult,
  type GuestNetwork,
  type PreflightReport,
  type VmDescription,
  type VmDriver,
  VmError,
  type VmHandle,
  type VmSpec,
} from './driver.js';
import { KVM_DENIED_FIX, KVM_MISSING_FIX, kvmAccess } from './kvm-access.js';
import { lastWords, runTool, type SpawnTool, type ToolRun } from './tool-process.js';

/**
 * Lima through `limactl` (2.x). Every command line is built by the pure
 * functions in `limaArgv`; the driver owns what the exit codes and JSON mean.
 */

/** Lima's own identifier rule (pkg/identifiers): alphanumerics joined by single `.`, `_` or `-`. */
const LIMA_NAME = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
const LIMA_NAME_MAX = 76;

export function checkLimaName(name: string): void {
  if (!LIMA_NAME.test(name) || name.length > LIMA_NAME_MAX) {
    throw new VmError(
      'invalid',
      `name "${name}" is not a valid Lima instance name: use letters and digits joined by single ".", "_" or "-" (at most ${LIMA_NAME_MAX} characters)`,
    );
  }
}

/** Go's duration syntax, which `--timeout` parses; whole seconds, at least one. */
export function goDuration(ms: number): string {
  return `${Math.max(1, Math.ceil(ms / 1000))}s`;
}

/**
 * `--tty=false` goes right after the subcommand on every call: limactl must never
 * prompt (a runner has no terminal to answer on). It is Lima's global flag; `-y`
 * means the same for `start` and giving both is an error, so we never pass `-y`.
 */
export const limaArgv = {
  version: (): string[] => ['--version'],
  start: (o: { name: string; template: string; timeoutMs: number; mountNone?: boolean }) => [
    'start',
    `--name=${o.name}`,
    '--tty=false',
    `--timeout=${goDuration(o.timeoutMs)}`,
    ...(o.mountNone ? ['--mount-none'] : []),
    o.template,
  ],
  list: (name: string): string[] => ['list', '--tty=false', name, '--json'],
  shell: (name: string, argv: readonly string[], workdir?: string): string[] => [
    'shell',
    '--tty=false',
    ...(workdir ? [`--workdir=${workdir}`] : []),
    name,
    '--',
    ...argv,
  ],
  copy: (hostPath: string, name: string, guestPath: string): string[] => [
    'copy',
    '--tty=false',
    hostPath,
    `${name}:${guestPath}`,
  ],
  stop: (name: string, force: boolean): string[] => [
    'stop',
    '--tty=false',
    ...(force ? ['--force'] : []),
    name,
  ],
  delete: (name: string): string[] => ['delete', '--tty=false', '--force', name],
};

export type LimaStatus = '' | 'Uninitialized' | 'Installing' | 'Broken' | 'Stopped' | 'Running';

export interface LimaInstance {
  name: string;
  status: LimaStatus;
  dir: string;
  vmType?: string;
  arch?: string;
  cpus?: number;
  memory?: number;
  message?: string;
  errors?: string[];
  /** The effective (merged) configuration, when this limactl reports it. */
  config?: { mounts?: unknown[] | null };
}

/** `limactl list --json` prints one JSON object per line when stdout is not a terminal. */
export function parseLimaList(stdout: string): LimaInstance[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LimaInstance);
}

export interface TemplateCheck {
  /** Host mounts the template itself declares (each one is a hole in the sandbox). */
  mounts: unknown[];
  /** `base:` templates whose lists are appended to ours (so `mounts: []` cannot remove theirs). */
  bases: string[];
}

/** What in a Lima template could expose the host: its own mounts and any base it extends. */
export function checkTemplate(text: string): TemplateCheck {
  const doc = (parseYaml(text) ?? {}) as { mounts?: unknown; base?: unknown };
  const mounts = Array.isArray(doc.mounts) ? doc.mounts : [];
  const base = doc.base;
  const bases = base === undefined || base === null ? [] : Array.isArray(base) ? base : [base];
  return { mounts, bases: bases.map((b) => (typeof b === 'string' ? b : JSON.stringify(b))) };
}

const isLocalTemplate = (locator: string) =>
  !/^[a-z][a-z0-9+.-]*:/i.test(locator) && locator !== '-';

/** Asks the forwarded libpod socket for `_ping`; true only for a 200 `OK`. */
export function pingPodmanSocket(socketPath: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/libpod/_ping', method: 'GET', timeout: timeoutMs });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 64) body += d;
      });
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export interface LimaDriverOptions {
  /** The limactl binary (default `limactl` on PATH). */
  limactl?: string;
  env?: NodeJS.ProcessEnv;
  spawn?: SpawnTool;
  /** The effective uid (default `process.getuid`); Lima refuses root. */
  uid?: () => number | undefined;
  platform?: NodeJS.Platform;
  kvmPath?: string;
  /** The template used when the spec names none. */
  defaultTemplate?: string;
  /** Pause between readiness pings (default 25 ms). */
  pollMs?: number;
  ping?: (socketPath: string, timeoutMs: number) => Promise<boolean>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

interface LimaState {
  dir: string;
  accel: Accel;
}

const LOG_TAIL_BYTES = 4096;
/** How long limactl itself may overrun its own `--timeout` before we kill it. */
const START_GRACE_MS = 30_000;

/** Where a Lima guest reaches the host's loopback (host.lima.internal). */
export const LIMA_HOST_ADDRESS = '192.168.5.2';

const isLoopbackHost = (host: string) =>
  host === 'localhost' || host.startsWith('127.') || host === '::1';

export class LimaDriver implements VmDriver {
  readonly backend = 'lima' as const;
  private readonly limactl: string;
  private readonly pollMs: number;
  private readonly ping: (socketPath: string, timeoutMs: number) => Promise<boolean>;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: LimaDriverOptions = {}) {
    this.limactl = options.limactl ?? 'limactl';
    this.pollMs = options.pollMs ?? 25;
    this.ping = options.ping ?? pingPodmanSocket;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = options.now ?? Date.now;
  }

  private run(
    args: string[],
    extra: { timeoutMs?: number; stdin?: Uint8Array | string; signal?: AbortSignal } = {},
  ): Promise<ToolRun> {
    return runTool(this.limactl, args, {
      env: this.options.env,
      spawn: this.options.spawn,
      ...extra,
    });
  }

  private template(spec: VmSpec): string {
    const template = spec.template ?? this.options.defaultTemplate;
    if (!template)
      throw new VmError('invalid', 'lima needs a template (a file, URL or template:NAME)');
    return template;
  }

  private async accel(spec: VmSpec): Promise<{ accel: Accel; notes: string[] }> {
    const platform = this.options.platform ?? process.platform;
    if (platform === 'darwin') return { accel: 'hvf', notes: [] };
    const kvm = await kvmAccess(this.options.kvmPath);
    if (kvm === 'usable') {
      const notes =
        spec.accel === 'tcg'
          ? ['accel=tcg: Lima picks KVM itself when /dev/kvm is usable; it will use KVM']
          : [];
      return { accel: 'kvm', notes };
    }
    const fix = kvm === 'missing' ? KVM_MISSING_FIX : KVM_DENIED_FIX;
    const why =
      kvm === 'missing' ? '/dev/kvm is missing' : '/dev/kvm is not read-writable by this user';
    if (spec.accel === 'kvm') {
      throw new VmError('unavailable', `accel=kvm but ${why}: ${fix}`);
    }
    return {
      accel: 'tcg',
      notes: [
        `${why}: Lima's qemu will fall back to slow software emulation (tcg); to use KVM, ${fix}`,
      ],
    };
  }

  async preflight(spec: VmSpec): Promise<PreflightReport> {
    checkLimaName(spec.name);
    const template = this.template(spec);
    const uid = (this.options.uid ?? process.getuid)?.();
    if (uid === 0) {
      // A set-up the user must change before anything can start: reported as bad input.
      throw new VmError(
        'invalid',
        'Lima refuses to run as root ("limactl: must not run as the root user"): run this job as a regular user',
      );
    }
    const notes: string[] = [];
    if (spec.allow.length > 0) {
      notes.push(
        'allow is not enforced by Lima: its user-mode network reaches whatever the host can (use smolvm or qemu for an egress allowlist)',
      );
    }
    if (isLocalTemplate(template)) {
      let text: string;
      try {
        text = await readFile(template, 'utf8');
      } catch (error) {
        throw new VmError(
          'invalid',
          `template ${template} cannot be read: ${(error as Error).message}`,
        );
      }
      const check = checkTemplate(text);
      if (check.mounts.length > 0) {
        throw new VmError(
          'invalid',
          `template ${template} mounts host paths (${JSON.stringify(check.mounts)}): the sandbox VM must have no mounts`,
        );
      }
      if (check.bases.length > 0) {
        notes.push(
          `template extends ${check.bases.join(', ')}: starting with --mount-none so no base mount survives`,
        );
      }
    } else {
      notes.push(
        `template ${template} cannot be inspected before start: starting with --mount-none and checking the effective mounts after`,
      );
    }
    const version = await this.run(limactlVersion(), { timeoutMs: 30_000 });
    if (version.exitCode !== 0) {
      throw new VmError('unavailable', `${this.limactl} --version failed: ${lastWords(version)}`);
    }
    notes.unshift(version.stdout.toString('utf8').trim());
    const accel = await this.accel(spec);
    return { accel: accel.accel, notes: [...notes, ...accel.notes] };
  }

  async start(spec: VmSpec, signal?: AbortSignal): Promise<VmHandle> {
    checkLimaName(spec.name);
    const template = this.template(spec);
    const { accel } = await this.accel(spec);
    // Our own self-contained template needs nothing more; one we cannot read, or one
    // whose bases may add mounts, starts with --mount-none (and is checked after start).
    const mountNone =
      !isLocalTemplate(template) ||
      checkTemplate(await readFile(template, 'utf8')).bases.length > 0;
    // A failed start is torn down; that must never hit an instance this run did not create.
    const existing = await this.instance(spec.name);
    if (existing) {
      throw new VmError(
        'invalid',
        `a Lima instance named ${spec.name} already exists (${existing.status || 'no status'}): delete it (limactl delete --force ${spec.name}) or choose another name`,
      );
    }
    const started = await this.run(
      limaArgv.start({ name: spec.name, template, timeoutMs: spec.timeoutMs, mountNone }),
      { timeoutMs: spec.timeoutMs + START_GRACE_MS, signal },
    );
    if (started.exitCode !== 0 || started.timedOut || signal?.aborted) {
      const why = signal?.aborted
        ? 'cancelled'
        : started.timedOut
          ? `limactl start did not return within ${spec.timeoutMs + START_GRACE_MS} ms`
          : lastWords(started);
      throw await this.failStart(spec.name, `limactl start failed: ${why}`);
    }
    const instance = await this.instance(spec.name);
    if (!instance)
      throw await this.failStart(
        spec.name,
        'limactl start succeeded but the instance is not listed',
      );
    const mounts = instance.config?.mounts ?? [];
    if (mounts.length > 0) {
      throw await this.failStart(
        spec.name,
        `the started instance mounts host paths (${JSON.stringify(mounts)}): refusing to use it`,
      );
    }
    const state: LimaState = { dir: instance.dir, accel };
    return { name: spec.name, backend: 'lima', state: { ...state } };
  }

  /** Collects the evidence, tears the instance down (a DEGRADED start leaves it running) and builds the error. */
  private async failStart(name: string, why: string): Promise<VmError> {
    const report = await this.failureReport(name).catch((e: unknown) => `(no logs: ${String(e)})`);
    const teardown = await this.delete({ name, backend: 'lima', state: {} }).then(
      () => 'torn down',
      (e: unknown) => `teardown failed: ${(e as Error).message}`,
    );
    return new VmError('start_failed', `${why} (${teardown})${report}`);
  }

  /** Tails of the host-side logs and the guest's cloud-init log, for a failed start or readiness. */
  async failureReport(name: string): Promise<string> {
    const instance = await this.instance(name).catch(() => undefined);
    if (!instance) return '';
    const parts: string[] = [
      `\ninstance status: ${instance.status || '(empty)'}${instance.message ? ` (${instance.message})` : ''}`,
    ];
    const files = await readdir(instance.dir).catch(() => [] as string[]);
    const logs = ['ha.stderr.log', ...files.filter((f) => /^serial.*\.log$/.test(f)).sort()];
    for (const log of logs) {
      const tail = await tailOfFile(join(instance.dir, log), LOG_TAIL_BYTES);
      if (tail !== undefined) parts.push(`--- ${log} (last ${LOG_TAIL_BYTES} bytes) ---\n${tail}`);
    }
    if (instance.status === 'Running') {
      const cloudInit = await this.run(
        limaArgv.shell(name, [
          'tail',
          '-c',
          String(LOG_TAIL_BYTES),
          '/var/log/cloud-init-output.log',
        ]),
        { timeoutMs: 20_000 },
      ).catch(() => undefined);
      if (cloudInit?.exitCode === 0) {
        parts.push(
          `--- guest /var/log/cloud-init-output.log ---\n${cloudInit.stdout.toString('utf8')}`,
        );
      }
    }
    return parts.join('\n');
  }

  /** The instance as `limactl list` sees it, or undefined when there is none of that name. */
  async instance(name: string): Promise<LimaInstance | undefined> {
    const listed = await this.run(limaArgv.list(name), { timeoutMs: 30_000 });
    if (listed.exitCode !== 0) {
      // An unknown name exits 1 ("unmatched instances"): that is an answer, not a failure.
      if (/unmatched|not exist|no instance/i.test(listed.stderr.toString('utf8'))) return undefined;
      throw new VmError('unavailable', `limactl list ${name} failed: ${lastWords(listed)}`);
    }
    return parseLimaList(listed.stdout.toString('utf8')).find((i) => i.name === name);
  }

  async ready(handle: VmHandle, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const { dir } = stateOf(handle);
    const socket = podmanSocketOf(dir);
    const deadline = this.now() + timeoutMs;
    let nextStatusCheck = this.now() + 1000;
    for (;;) {
      if (signal?.aborted) throw new VmError('timeout', `waiting for ${handle.name} was cancelled`);
      const left = deadline - this.now();
      if (await this.ping(socket, Math.max(1, Math.min(1000, left)))) return;
      // A broken or stopped instance will never answer: say so now rather than at the deadline.
      if (this.now() >= nextStatusCheck) {
        nextStatusCheck = this.now() + 1000;
        const instance = await this.instance(handle.name);
        if (instance?.status !== 'Running') {
          throw new VmError(
            'start_failed',
            `${handle.name} is ${instance ? instance.status || 'not running' : 'gone'} while waiting for ${socket}${await this.failureReport(handle.name)}`,
          );
        }
      }
      if (this.now() >= deadline) {
        throw new VmError(
          'timeout',
          `the podman socket ${socket} did not answer GET /libpod/_ping within ${timeoutMs} ms${await this.failureReport(handle.name)}`,
        );
      }
      await this.sleep(Math.min(this.pollMs, Math.max(0, deadline - this.now())));
    }
  }

  async exec(
    handle: VmHandle,
    argv: readonly string[],
    options: ExecOptions = {},
  ): Promise<ExecResult> {
    if (argv.length === 0) throw new VmError('invalid', 'exec needs a command');
    const ran = await this.run(limaArgv.shell(handle.name, argv), {
      timeoutMs: options.timeoutMs,
      stdin: options.stdin,
    });
    // limactl's own errors ("instance … is stopped") also exit 1, and ssh failing exits 255:
    // only a running instance makes those the guest command's exit code.
    if (!ran.timedOut && (ran.exitCode === 1 || ran.exitCode === 255)) {
      const instance = await this.instance(handle.name);
      if (instance?.status !== 'Running') {
        throw new VmError(
          'exec_failed',
          `cannot run commands in ${handle.name}: it is ${instance ? instance.status || 'not running' : 'gone'} (${lastWords(ran)})`,
        );
      }
    }
    return {
      exitCode: ran.exitCode,
      stdout: ran.stdout,
      stderr: ran.stderr,
      timedOut: ran.timedOut,
    };
  }

  async copyIn(handle: VmHandle, hostPath: string, guestPath: string): Promise<void> {
    // limactl copy splits each argument at ':' to find "instance:path"; a second colon is an error.
    if (hostPath.includes(':') || guestPath.includes(':')) {
      throw new VmError(
        'invalid',
        `limactl copy cannot handle paths with ":" (${hostPath} → ${guestPath})`,
      );
    }
    if (!isAbsolute(hostPath) || !posix.isAbsolute(guestPath)) {
      throw new VmError('invalid', `copyIn needs absolute paths (${hostPath} → ${guestPath})`);
    }
    // scp does not create parent directories.
    const mkdir = await this.exec(handle, ['mkdir', '-p', posix.dirname(guestPath)], {
      timeoutMs: 60_000,
    });
    if (mkdir.exitCode !== 0) {
      throw new VmError(
        'exec_failed',
        `mkdir -p ${posix.dirname(guestPath)} in ${handle.name} failed: ${lastWords(mkdir)}`,
      );
    }
    const copied = await this.run(limaArgv.copy(hostPath, handle.name, guestPath), {
      timeoutMs: 10 * 60_000,
    });
    if (copied.exitCode !== 0 || copied.timedOut) {
      throw new VmError(
        'exec_failed',
        `limactl copy ${hostPath} → ${handle.name}:${guestPath} failed: ${copied.timedOut ? 'timed out' : lastWords(copied)}`,
      );
    }
  }

  async stop(handle: VmHandle): Promise<void> {
    const stopped = await this.run(limaArgv.stop(handle.name, false), { timeoutMs: 5 * 60_000 });
    if (stopped.exitCode === 0) return;
    const instance = await this.instance(handle.name);
    if (instance === undefined || instance.status === 'Stopped') return;
    throw new VmError('exec_failed', `limactl stop ${handle.name} failed: ${lastWords(stopped)}`);
  }

  async delete(handle: VmHandle): Promise<void> {
    // Force-stop first: delete refuses a running instance, and a DEGRADED start leaves one running.
    await this.run(limaArgv.stop(handle.name, true), { timeoutMs: 5 * 60_000 });
    const deleted = await this.run(limaArgv.delete(handle.name), { timeoutMs: 5 * 60_000 });
    if (deleted.exitCode === 0) return;
    if ((await this.instance(handle.name)) === undefined) return;
    throw new VmError(
      'exec_failed',
      `limactl delete --force ${handle.name} failed: ${lastWords(deleted)}`,
    );
  }

  /**
   * Lima's user-mode network: the host's loopback answers at 192.168.5.2
   * (host.lima.internal), its DNS at 192.168.5.3. Lima enforces no allowlist, so an
   * allowed loopback endpoint is reached through the host address like any other
   * host port — which is what the gate then finds.
   */
  guestNetwork(_handle: VmHandle, allow: readonly Endpoint[]): GuestNetwork {
    return {
      gateway: LIMA_HOST_ADDRESS,
      dns: '192.168.5.3',
      forwards: allow.map((target) => ({
        guestAddress: isLoopbackHost(target.host) ? LIMA_HOST_ADDRESS : target.host,
        guestPort: target.port,
        target,
      })),
    };
  }

  async describe(handle: VmHandle): Promise<VmDescription> {
    const instance = await this.instance(handle.name);
    const accel = (handle.state.accel as Accel | undefined) ?? 'tcg';
    if (!instance)
      return { name: handle.name, backend: 'lima', accel, status: 'missing', details: {} };
    const details: Record<string, string> = { dir: instance.dir, status: instance.status };
    for (const key of ['vmType', 'arch', 'cpus', 'memory'] as const) {
      if (instance[key] !== undefined) details[key] = String(instance[key]);
    }
    return {
      name: handle.name,
      backend: 'lima',
      accel,
      status: describeStatus(instance.status),
      podmanSocket: podmanSocketOf(instance.dir),
      details,
    };
  }
}

const limactlVersion = limaArgv.version;

function describeStatus(status: LimaStatus): VmDescription['status'] {
  if (status === 'Running') return 'running';
  if (status === 'Broken') return 'broken';
  return 'stopped';
}

/** Where Lima forwards the guest's podman socket (our template's `hostSocket`). */
export const podmanSocketOf = (dir: string): string => join(dir, 'sock', 'podman.sock');

function stateOf(handle: VmHandle): LimaState {
  const { dir, accel } = handle.state as Partial<LimaState>;
  if (typeof dir !== 'string')
    throw new VmError('invalid', `handle for ${handle.name} has no instance directory`);
  return { dir, accel: accel ?? 'tcg' };
}

async function tailOfFile(path: string, bytes: number): Promise<string | undefined> {
  let file: Awaited<ReturnType<typeof open>> | undefined;
  try {
    file = await open(path, 'r');
    const { size } = await file.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await file.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } catch {
    return undefined;
  } finally {
    await file?.close();
  }
}
