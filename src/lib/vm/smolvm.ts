import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
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
import { KVM_DENIED_FIX, KVM_MISSING_FIX, type KvmAccess, kvmAccess } from './kvm-access.js';
import { allocateLoopback, type LoopbackOptions, releaseLoopback } from './loopback.js';
import { canonicalCidrs, confirmAllowlist, smolvmDbPath } from './sqlite-allowlist.js';
import { lastWords, runTool, type SpawnTool, type ToolRun } from './tool-process.js';

/**
 * smolvm (libkrun micro-VMs) through its CLI, 1.9.x. The name is always the
 * `--name` flag, never positional; the egress allowlist is confirmed in
 * smolvm's state DB before the machine may start.
 */

/**
 * Before 1.9.0 smolvm ignored the allowlist on some paths: TSI ignored it
 * (fixed 1.1.3), `--from` dropped it (1.8.0), `--oci-cache` runs ignored it (1.9.0).
 */
export const MIN_SMOLVM_VERSION = '1.9.0';

const SMOLVM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function checkSmolvmName(name: string): void {
  if (!SMOLVM_NAME.test(name)) {
    throw new VmError(
      'invalid',
      `name "${name}" is not a valid smolvm machine name: 1–63 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
}

export function parseVersion(text: string): [number, number, number] | undefined {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function versionAtLeast(have: readonly number[], want: readonly number[]): boolean {
  for (let i = 0; i < 3; i++) {
    const a = have[i] ?? 0;
    const b = want[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** Grace on smolvm's own `--timeout`: ours fires first (so we can say timedOut), smolvm's is the backstop. */
const EXEC_TIMEOUT_GRACE_S = 5;
const DEFAULT_EXEC_TIMEOUT_MS = 10 * 60_000;

export const smolvmArgv = {
  version: (): string[] => ['--version'],
  create: (o: { name: string; image?: string; cidrs: readonly string[] }): string[] => [
    'machine',
    'create',
    '--name',
    o.name,
    ...(o.image ? ['-I', o.image] : []),
    // No allowed endpoint means no network at all: `--net` without an allowlist would open everything.
    ...(o.cidrs.length > 0 ? ['--net', ...o.cidrs.flatMap((c) => ['--allow-cidr', c])] : []),
  ],
  start: (name: string): string[] => ['machine', 'start', '--name', name],
  exec: (name: string, timeoutMs: number, argv: readonly string[], stdin: boolean): string[] => [
    'machine',
    'exec',
    '--name',
    name,
    '--timeout',
    `${Math.ceil(timeoutMs / 1000) + EXEC_TIMEOUT_GRACE_S}s`,
    ...(stdin ? ['-i'] : []),
    '--',
    ...argv,
  ],
  stop: (name: string): string[] => ['machine', 'stop', '--name', name],
  /** `-f` always: without it smolvm prompts, and at EOF prints "Cancelled" and exits 0 having deleted nothing. */
  delete: (name: string): string[] => ['machine', 'delete', '--name', name, '-f'],
  list: (): string[] => ['machine', 'ls', '--json'],
  egressEvents: (name: string): string[] => ['machine', 'egress-events', '--name', name, '--json'],
};

export type SmolvmState = 'created' | 'running' | 'stopped' | 'failed' | 'unreachable' | 'frozen';

export interface SmolvmMachine {
  name: string;
  state: SmolvmState;
  [key: string]: unknown;
}

/** `machine ls --json` is one pretty-printed JSON array. */
export function parseMachineList(stdout: string): SmolvmMachine[] {
  const doc = JSON.parse(stdout || '[]') as unknown;
  if (!Array.isArray(doc)) throw new Error('machine ls --json did not print an array');
  return doc as SmolvmMachine[];
}

/** The CIDR smolvm stores for one address. */
export const hostCidr = (address: string): string =>
  isIP(address) === 6 ? `${address}/128` : `${address}/32`;

export type Resolve = (host: string) => Promise<string[]>;

const resolveAll: Resolve = async (host) =>
  (await lookup(host, { all: true })).map((a) => a.address);

/**
 * The CIDRs a machine may reach: each endpoint's address, plus its own loopback.
 * Host names are resolved here, once, rather than with `--allow-host`, so the
 * list we confirm in the DB is exactly the list we asked for.
 */
export async function allowlistOf(
  allow: readonly Endpoint[],
  loopback: string,
  resolve: Resolve = resolveAll,
): Promise<string[]> {
  const cidrs: string[] = [hostCidr(loopback)];
  for (const endpoint of allow) {
    if (isIP(endpoint.host)) {
      cidrs.push(hostCidr(endpoint.host));
      continue;
    }
    let addresses: string[];
    try {
      addresses = await resolve(endpoint.host);
    } catch (error) {
      throw new VmError(
        'invalid',
        `allow: cannot resolve ${endpoint.host}: ${(error as Error).message}`,
      );
    }
    cidrs.push(...addresses.map(hostCidr));
  }
  return canonicalCidrs(cidrs);
}

export function kvmProblem(access: KvmAccess, path: string): string | undefined {
  if (access === 'missing') return `${path} is missing: ${KVM_MISSING_FIX}`;
  if (access === 'denied')
    return `${path} is not readable and writable by this user: ${KVM_DENIED_FIX}`;
  return undefined;
}

export interface SmolvmDriverOptions {
  /** The smolvm binary (default `smolvm` on PATH). */
  smolvm?: string;
  env?: NodeJS.ProcessEnv;
  spawn?: SpawnTool;
  platform?: NodeJS.Platform;
  kvmPath?: string;
  /** smolvm's state DB (default: where smolvm keeps it for this user and platform). */
  dbPath?: string;
  /** Loopback allocation records and lock (default: `<tmpdir>/vm-tools-loopback`). */
  loopback?: Partial<LoopbackOptions>;
  minVersion?: string;
  resolve?: Resolve;
  /** Pause between readiness attempts (default 25 ms). */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

interface SmolvmHandleState {
  accel: Accel;
  loopback: string;
  allowedCidrs: string[];
  dbPath: string;
}

export class SmolvmDriver implements VmDriver {
  readonly backend = 'smolvm' as const;
  private readonly smolvm: string;
  private readonly platform: NodeJS.Platform;
  private readonly kvmPath: string;
  private readonly loopback: LoopbackOptions;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: SmolvmDriverOptions = {}) {
    this.smolvm = options.smolvm ?? 'smolvm';
    this.platform = options.platform ?? process.platform;
    this.kvmPath = options.kvmPath ?? '/dev/kvm';
    this.loopback = { dir: join(tmpdir(), 'vm-tools-loopback'), ...options.loopback };
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.now = options.now ?? Date.now;
  }

  private run(
    args: string[],
    extra: {
      timeoutMs?: number;
      stdin?: Uint8Array | string;
      signal?: AbortSignal;
      tailBytes?: number;
    } = {},
  ): Promise<ToolRun> {
    return runTool(this.smolvm, args, {
      env: this.options.env,
      spawn: this.options.spawn,
      ...extra,
    });
  }

  private get dbPath(): string {
    return this.options.dbPath ?? smolvmDbPath(this.options.env ?? process.env, this.platform);
  }

  private async accel(): Promise<Accel> {
    if (this.platform === 'darwin') return 'hvf';
    const problem = kvmProblem(await kvmAccess(this.kvmPath), this.kvmPath);
    if (problem) throw new VmError('unavailable', `smolvm needs KVM: ${problem}`);
    return 'kvm';
  }

  async preflight(spec: VmSpec): Promise<PreflightReport> {
    checkSmolvmName(spec.name);
    if (spec.accel === 'tcg') {
      throw new VmError(
        'invalid',
        'accel=tcg: smolvm has no software emulation (it needs KVM or Hypervisor.framework); use backend qemu for tcg',
      );
    }
    const min = this.options.minVersion ?? MIN_SMOLVM_VERSION;
    const version = await this.run(smolvmArgv.version(), { timeoutMs: 30_000 }).catch(
      (error: unknown) => {
        if (error instanceof VmError && error.kind === 'unavailable') {
          throw new VmError(
            'unavailable',
            `${error.message}: install smolvm ${min} or newer (https://smolmachines.com/install.sh)`,
          );
        }
        throw error;
      },
    );
    const text = version.stdout.toString('utf8').trim();
    const have = parseVersion(text);
    const want = parseVersion(min) ?? [0, 0, 0];
    if (version.exitCode !== 0 || !have) {
      throw new VmError('unavailable', `${this.smolvm} --version failed: ${lastWords(version)}`);
    }
    if (!versionAtLeast(have, want)) {
      throw new VmError(
        'unavailable',
        `smolvm ${have.join('.')} is older than ${min}, whose egress allowlist is not enforced on every path: upgrade smolvm to ${min} or newer`,
      );
    }
    const accel = await this.accel();
    return { accel, notes: [text, `state DB: ${this.dbPath}`] };
  }

  async start(spec: VmSpec, signal?: AbortSignal): Promise<VmHandle> {
    checkSmolvmName(spec.name);
    const accel = await this.accel();
    // A failed start is deleted; that must never hit a machine this run did not create.
    const existing = await this.machine(spec.name);
    if (existing) {
      throw new VmError(
        'invalid',
        `a smolvm machine named ${spec.name} already exists (${existing.state}): delete it (smolvm machine delete --name ${spec.name} -f) or choose another name`,
      );
    }
    const loopback = await allocateLoopback(spec.name, this.loopback);
    const undo = async () => {
      await this.run(smolvmArgv.delete(spec.name), { timeoutMs: 120_000 }).catch(() => {});
      await releaseLoopback(spec.name, this.loopback).catch(() => {});
    };
    let created = false;
    try {
      const cidrs = await allowlistOf(spec.allow, loopback, this.options.resolve);
      const create = await this.run(
        smolvmArgv.create({ name: spec.name, image: spec.image, cidrs }),
        { timeoutMs: spec.timeoutMs, signal },
      );
      // Killed mid-way, create may have left a machine behind: clean up as if it had succeeded.
      created = create.exitCode === 0 || create.timedOut || signal?.aborted === true;
      if (create.exitCode !== 0 || create.timedOut) {
        throw new VmError(
          'start_failed',
          `smolvm machine create --name ${spec.name} failed: ${create.timedOut ? 'timed out' : lastWords(create)}`,
        );
      }
      // Fail closed: the machine does not start unless the stored allowlist is exactly ours.
      confirmAllowlist(this.dbPath, spec.name, cidrs);
      const start = await this.run(smolvmArgv.start(spec.name), {
        timeoutMs: spec.timeoutMs,
        signal,
      });
      if (start.exitCode !== 0 || start.timedOut) {
        throw new VmError(
          'start_failed',
          `smolvm machine start --name ${spec.name} failed: ${start.timedOut ? 'timed out' : lastWords(start)}`,
        );
      }
      const state: SmolvmHandleState = {
        accel,
        loopback,
        allowedCidrs: cidrs,
        dbPath: this.dbPath,
      };
      return { name: spec.name, backend: 'smolvm', state: { ...state } };
    } catch (error) {
      if (created) await undo();
      else await releaseLoopback(spec.name, this.loopback).catch(() => {});
      throw error;
    }
  }

  async ready(handle: VmHandle, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = this.now() + timeoutMs;
    let last = '';
    for (;;) {
      if (signal?.aborted) throw new VmError('timeout', `waiting for ${handle.name} was cancelled`);
      const machine = await this.machine(handle.name);
      if (!machine)
        throw new VmError('start_failed', `${handle.name} is gone while waiting for it`);
      if (machine.state === 'failed')
        throw new VmError('start_failed', `${handle.name} failed to boot`);
      if (machine.state === 'running') {
        const left = Math.max(1000, deadline - this.now());
        const probe = await this.exec(handle, ['true'], { timeoutMs: Math.min(left, 30_000) });
        if (probe.exitCode === 0) return;
        last = `: last probe exited ${probe.exitCode}${probe.timedOut ? ' (timed out)' : ''}: ${lastWords(probe)}`;
      } else {
        last = `: state ${machine.state}`;
      }
      if (this.now() >= deadline) {
        throw new VmError(
          'timeout',
          `${handle.name} could not run commands within ${timeoutMs} ms${last}`,
        );
      }
      await this.sleep(Math.min(this.options.pollMs ?? 25, Math.max(0, deadline - this.now())));
    }
  }

  async exec(
    handle: VmHandle,
    argv: readonly string[],
    options: ExecOptions = {},
  ): Promise<ExecResult> {
    if (argv.length === 0) throw new VmError('invalid', 'exec needs a command');
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const ran = await this.run(
      smolvmArgv.exec(handle.name, timeoutMs, argv, options.stdin !== undefined),
      {
        timeoutMs,
        stdin: options.stdin,
      },
    );
    return {
      exitCode: ran.exitCode,
      stdout: ran.stdout,
      stderr: ran.stderr,
      timedOut: ran.timedOut,
    };
  }

  async copyIn(handle: VmHandle, hostPath: string, guestPath: string): Promise<void> {
    if (!posix.isAbsolute(guestPath))
      throw new VmError('invalid', `copyIn needs an absolute guest path (${guestPath})`);
    // smolvm has no copy command: the file goes through exec's stdin (buffered; meant for small files).
    const bytes = await readFile(hostPath);
    const ran = await this.exec(
      handle,
      ['sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1"', 'sh', guestPath],
      { stdin: bytes, timeoutMs: 10 * 60_000 },
    );
    if (ran.exitCode !== 0 || ran.timedOut) {
      throw new VmError(
        'exec_failed',
        `copying ${hostPath} to ${handle.name}:${guestPath} failed: ${ran.timedOut ? 'timed out' : lastWords(ran)}`,
      );
    }
  }

  async stop(handle: VmHandle): Promise<void> {
    const stopped = await this.run(smolvmArgv.stop(handle.name), { timeoutMs: 120_000 });
    if (stopped.exitCode === 0) return;
    const machine = await this.machine(handle.name);
    if (!machine || machine.state === 'stopped' || machine.state === 'created') return;
    throw new VmError(
      'exec_failed',
      `smolvm machine stop --name ${handle.name} failed: ${lastWords(stopped)}`,
    );
  }

  async delete(handle: VmHandle): Promise<void> {
    try {
      const deleted = await this.run(smolvmArgv.delete(handle.name), { timeoutMs: 120_000 });
      // An exit 0 is not proof (a prompt that read EOF also exits 0): the list is.
      const still = await this.machine(handle.name);
      if (still) {
        throw new VmError(
          'exec_failed',
          `smolvm machine delete --name ${handle.name} -f left the machine in place (${still.state}): ${lastWords(deleted)}`,
        );
      }
    } finally {
      await releaseLoopback(handle.name, this.loopback);
    }
  }

  async machine(name: string): Promise<SmolvmMachine | undefined> {
    const listed = await this.run(smolvmArgv.list(), {
      timeoutMs: 60_000,
      tailBytes: 16 * 1024 * 1024,
    });
    if (listed.exitCode !== 0) {
      throw new VmError('unavailable', `smolvm machine ls --json failed: ${lastWords(listed)}`);
    }
    return parseMachineList(listed.stdout.toString('utf8')).find((m) => m.name === name);
  }

  /**
   * libkrun's TSI carries the guest's sockets to the host's: an allowed endpoint is
   * reached at its own address, and the host's loopback at 127.0.0.1 (refused unless
   * allowed). No DNS address of its own: the guest's resolv.conf says where DNS goes.
   */
  guestNetwork(_handle: VmHandle, allow: readonly Endpoint[]): GuestNetwork {
    return {
      gateway: '127.0.0.1',
      gateway6: '::1',
      forwards: allow.map((target) => ({
        guestAddress: target.host,
        guestPort: target.port,
        target,
      })),
    };
  }

  /** `machine egress-events --json`: smolvm's log of the connections its allowlist refused. */
  async egressEvents(handle: VmHandle): Promise<unknown[]> {
    const ran = await this.run(smolvmArgv.egressEvents(handle.name), { timeoutMs: 30_000 });
    if (ran.exitCode !== 0 || ran.timedOut)
      throw new VmError(
        'exec_failed',
        `smolvm machine egress-events --name ${handle.name} failed: ${ran.timedOut ? 'timed out' : lastWords(ran)}`,
      );
    const text = ran.stdout.toString('utf8').trim();
    if (text === '') return [];
    // A JSON array, or one JSON object per line.
    if (text.startsWith('[')) return JSON.parse(text) as unknown[];
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown);
  }

  async describe(handle: VmHandle): Promise<VmDescription> {
    const state = handle.state as Partial<SmolvmHandleState>;
    const accel = state.accel ?? (this.platform === 'darwin' ? 'hvf' : 'kvm');
    const machine = await this.machine(handle.name);
    const details: Record<string, string> = {};
    if (state.loopback) details.loopback = state.loopback;
    if (state.allowedCidrs) details.allowedCidrs = state.allowedCidrs.join(' ');
    if (!machine)
      return { name: handle.name, backend: 'smolvm', accel, status: 'missing', details };
    details.state = machine.state;
    return {
      name: handle.name,
      backend: 'smolvm',
      accel,
      status: describeState(machine.state),
      details,
    };
  }
}

function describeState(state: SmolvmState): VmDescription['status'] {
  if (state === 'running') return 'running';
  if (state === 'failed' || state === 'unreachable') return 'broken';
  return 'stopped';
}
