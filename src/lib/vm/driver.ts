/**
 * One driver interface for every VM backend (qemu, Lima, smolvm). The boot-vm
 * command, the CLI verbs and the sandbox gate use only this interface, so a
 * backend is one file that owns its tool's command lines and output parsing.
 */

export type Backend = 'qemu' | 'lima' | 'smolvm';
export const BACKENDS: readonly Backend[] = ['qemu', 'lima', 'smolvm'];

/** What accelerates the guest: KVM (Linux), Hypervisor.framework (macOS) or software emulation. */
export type Accel = 'kvm' | 'hvf' | 'tcg';
export type AccelRequest = 'auto' | 'kvm' | 'tcg';

/** An endpoint the guest may reach, e.g. `127.0.0.1:8080`; everything else is refused. */
export interface Endpoint {
  host: string;
  port: number;
}

export interface VmSpec {
  /** Instance name: letters, digits, `-`, `_`, `.`; not starting with `-`. */
  name: string;
  backend: Backend;
  accel: AccelRequest;
  cpus: number;
  memoryMiB: number;
  allow: readonly Endpoint[];
  /** Give up on boot-to-ready after this long. */
  timeoutMs: number;
  /** qemu: a kernel + initramfs booted directly. */
  kernel?: string;
  initrd?: string;
  /** lima: the template locator (file, URL, `template:NAME`). */
  template?: string;
  /** smolvm: the OCI image the machine runs (`-I`). */
  image?: string;
  /**
   * qemu, for the sandbox gate's own tests only (never an action input): make a
   * deliberately leaky guest, one leak at a time, to prove the gate catches it.
   * `restrict: false` drops libslirp's `restrict=on` (the host's loopback becomes
   * reachable through 10.0.2.2); `extraForwards` adds forwards not in `allow` (a
   * host of `/path` relays to that unix socket); `dnsViaHost` forwards TCP port 53
   * of 10.0.2.53 to a host DNS server without listing it in the VM's state (a
   * resolver the guest was handed); `share` exports a host directory over 9p.
   */
  qemuUnsafe?: {
    restrict?: boolean;
    extraForwards?: readonly Endpoint[];
    dnsViaHost?: Endpoint;
    share?: string;
  };
}

/** Enough to find and tear down a VM from another process (the post step, `vm-tools vm-delete`). */
export interface VmHandle {
  name: string;
  backend: Backend;
  /** Backend-owned state (pid, sockets, work directory …), JSON-serialisable. */
  state: Record<string, unknown>;
}

export interface VmDescription {
  name: string;
  backend: Backend;
  accel: Accel;
  /** Running, stopped, or gone. */
  status: 'running' | 'stopped' | 'missing' | 'broken';
  /** Host path of the guest's forwarded podman API socket, when the guest runs podman. */
  podmanSocket?: string;
  /** What the backend says about itself (version, dirs, log paths …) for summaries. */
  details: Record<string, string>;
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Bytes written to the command's stdin. */
  stdin?: Uint8Array | string;
}

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  /** The command was killed at `timeoutMs`. */
  timedOut: boolean;
}

export interface PreflightReport {
  accel: Accel;
  /** Lines worth telling the user (which tool version, why tcg …). */
  notes: string[];
}

export interface VmDriver {
  readonly backend: Backend;
  /** Checks tools, versions, permissions and inputs; starts nothing. Throws VmError('invalid'|'unavailable'). */
  preflight(spec: VmSpec): Promise<PreflightReport>;
  /**
   * Starts the VM and returns as soon as the backend has it running (not yet ready).
   * `onHandle`, when given, is called with the handle as soon as one exists (before
   * the backend's process is spawned, and again when it knows more), so a caller
   * killed mid-start has already persisted what teardown needs.
   */
  start(
    spec: VmSpec,
    signal?: AbortSignal,
    onHandle?: (handle: VmHandle) => Promise<void>,
  ): Promise<VmHandle>;
  /** Resolves when the guest can run commands; rejects with the backend's log tails on failure. */
  ready(handle: VmHandle, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  exec(handle: VmHandle, argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Copies a host file to `guestPath` (parent directories created). */
  copyIn(handle: VmHandle, hostPath: string, guestPath: string): Promise<void>;
  stop(handle: VmHandle): Promise<void>;
  /** Removes the VM and everything the driver made for it; a missing VM is not an error. */
  delete(handle: VmHandle): Promise<void>;
  describe(handle: VmHandle): Promise<VmDescription>;
  /**
   * How the guest sees the host: the address that reaches the host's loopback, the
   * DNS address the backend serves (if any), and the guest address and port of each
   * allowed endpoint. The sandbox gate aims its probes with it.
   */
  guestNetwork(handle: VmHandle, allow: readonly Endpoint[]): GuestNetwork;
  /**
   * What the host itself can see of the VM's way out (qemu: its command line):
   * evidence the guest cannot hide. Each finding is an escape for the gate.
   */
  hostAudit?(handle: VmHandle): Promise<{ what: string; evidence: string }[]>;
  /** The backend's own log of refused egress, when it keeps one (smolvm): extra evidence for the gate. */
  egressEvents?(handle: VmHandle): Promise<unknown[]>;
}

export interface GuestNetwork {
  /** The guest-side address of the host itself (its loopback services answer there). */
  gateway: string;
  /** The guest-side IPv6 address of the host's `::1`, when the guest has IPv6 to the host. */
  gateway6?: string;
  /** A DNS address the backend itself serves to the guest, if any. */
  dns?: string;
  /** Guest address and port of each reachable endpoint (allowed, and any extra the backend set up). */
  forwards: { guestAddress: string; guestPort: number; target: Endpoint }[];
}

export type VmErrorKind = 'invalid' | 'unavailable' | 'start_failed' | 'timeout' | 'exec_failed';

/** An error at the VM boundary; `invalid` is a bad input (exit 2, nothing started). */
export class VmError extends Error {
  override name = 'VmError';
  readonly kind: VmErrorKind;
  constructor(kind: VmErrorKind, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.kind = kind;
  }
}
