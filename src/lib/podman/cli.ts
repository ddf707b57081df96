import { type ChildProcess, spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DEFAULT_PODMAN_LONG_OP_TIMEOUT_MS,
  formatLimitBytes,
  formatLimitMs,
  MAX_DOCUMENT_BYTES,
  OUTPUT_TAIL_BYTES,
  PODMAN_KILL_GRACE_MS,
  STDERR_TAIL_BYTES,
} from '../limits.js';
import { droppedField, OutputTail } from '../output-tail.js';
import * as argv from './argv.js';
import { kindOfCliFailure, PodmanError } from './errors.js';
import {
  containerInfoOf,
  imageInfoOf,
  listedContainerOf,
  type RawContainer,
  type RawImage,
  type RawListedContainer,
} from './inspect.js';
import type {
  ArchiveFormat,
  ContainerInfo,
  ContainerSpec,
  ExecResult,
  ImageInfo,
  Logs,
  Podman,
  SaveStream,
} from './transport.js';

export type Spawn = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

export interface CliOptions {
  /** The podman binary (default `podman`); ignored when `vm` is set. */
  podman?: string;
  /** Run podman inside this Lima VM through `limactl shell`. */
  vm?: string;
  spawn?: Spawn;
  env?: NodeJS.ProcessEnv;
  /** Limit on pull, build, load and import (default 60 min): a stuck registry or disk must not hold the job. */
  longOperationTimeoutMs?: number;
  /** After SIGTERM on a timeout, how long podman gets before SIGKILL (default 10 s). */
  killGraceMs?: number;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  /** Bytes of stdout that fell off the front of the kept tail. */
  stdoutDropped: number;
  stderrDropped: number;
}

interface RunOptions {
  stdin?: Readable;
  timeoutMs?: number;
  allowFailure?: boolean;
  /**
   * `tail` (default) keeps the last 1 MiB of stdout; `document` keeps up to
   * 16 MiB and fails past it, for output that is parsed whole (JSON).
   */
  stdout?: 'tail' | 'document';
  /** How much of stderr to keep (default 64 KiB; container output gets more). */
  stderrBytes?: number;
}

/** The end of a captured stream for an error message, saying how much came before it. */
function tailForMessage(text: string, droppedBytes: number): string {
  return droppedBytes > 0 ? `[${droppedBytes} earlier bytes not kept] ${text}` : text;
}

/** Podman through its command line, locally or inside a Lima VM. */
export class CliPodman implements Podman {
  readonly description: string;
  private readonly prefix: string[];
  private readonly spawnFn: Spawn;
  private readonly env: NodeJS.ProcessEnv | undefined;
  private readonly longOperationTimeoutMs: number;
  private readonly killGraceMs: number;

  constructor(options: CliOptions = {}) {
    this.prefix = options.vm ? argv.limaPrefix(options.vm) : [options.podman ?? 'podman'];
    this.description = this.prefix.join(' ');
    this.spawnFn = options.spawn ?? (nodeSpawn as Spawn);
    this.env = options.env;
    this.longOperationTimeoutMs =
      options.longOperationTimeoutMs ?? DEFAULT_PODMAN_LONG_OP_TIMEOUT_MS;
    this.killGraceMs = options.killGraceMs ?? PODMAN_KILL_GRACE_MS;
  }

  private start(args: string[], stdio: SpawnOptions['stdio']): ChildProcess {
    const [command, ...rest] = this.prefix as [string, ...string[]];
    return this.spawnFn(command, [...rest, ...args], { stdio, env: this.env ?? process.env });
  }

  private failure(args: string[], ran: Ran): PodmanError {
    const what = `${this.description} ${args[0]}`;
    const stdout = ran.stdout.slice(-STDERR_TAIL_BYTES);
    const detail =
      (ran.stderr.trim() && tailForMessage(ran.stderr.trim(), ran.stderrDropped)) ||
      (stdout.trim() &&
        tailForMessage(stdout.trim(), ran.stdoutDropped + ran.stdout.length - stdout.length)) ||
      `exit code ${ran.code}`;
    return new PodmanError(kindOfCliFailure(ran.stderr), `${what} failed: ${detail}`, {
      status: ran.code,
    });
  }

  private spawnError(error: NodeJS.ErrnoException): PodmanError {
    return new PodmanError(
      error.code === 'ENOENT' ? 'transport_unavailable' : 'command_failed',
      `cannot run ${this.prefix[0]}: ${error.code ?? error.message}`,
      { cause: error },
    );
  }

  /**
   * Stops a podman that overran its limit: SIGTERM so it can clean up, SIGKILL
   * after the grace period. Once it has exited its pipes are closed from our
   * side, so a helper it left behind holding them cannot keep us waiting.
   */
  private terminate(child: ChildProcess): void {
    const release = () => {
      clearTimeout(kill);
      child.stdin?.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
    };
    const kill = setTimeout(() => child.kill('SIGKILL'), this.killGraceMs);
    if (child.exitCode !== null || child.signalCode !== null) {
      release();
      return;
    }
    child.once('exit', release);
    child.kill('SIGTERM');
  }

  /** Runs podman to completion; a non-zero exit becomes a typed PodmanError. */
  private async run(args: string[], options: RunOptions = {}): Promise<Ran> {
    const child = this.start(args, [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe']);
    const document = options.stdout === 'document';
    const stdout = new OutputTail(document ? MAX_DOCUMENT_BYTES : OUTPUT_TAIL_BYTES);
    const stderr = new OutputTail(options.stderrBytes ?? STDERR_TAIL_BYTES);
    child.stdout?.on('data', (d: Buffer) => stdout.push(d));
    child.stderr?.on('data', (d: Buffer) => stderr.push(d));
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            this.terminate(child);
          }, options.timeoutMs);
    const feeding =
      options.stdin && child.stdin
        ? pipeline(options.stdin, child.stdin).catch((error: unknown) => error)
        : Promise.resolve(undefined);
    try {
      const code = await new Promise<number>((resolve, reject) => {
        child.on('error', (error) => reject(this.spawnError(error)));
        child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
      });
      const fed = await feeding;
      if (timedOut) {
        const last = stderr.text().trim().split('\n').slice(-3).join('\n');
        throw new PodmanError(
          'timeout',
          `${this.description} ${args[0]} did not finish within ${formatLimitMs(options.timeoutMs as number)}: stopped it${last ? `; its last output: ${last}` : ''}`,
        );
      }
      const ran: Ran = {
        code,
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdoutDropped: stdout.droppedBytes,
        stderrDropped: stderr.droppedBytes,
      };
      if (code !== 0 && !options.allowFailure) throw this.failure(args, ran);
      if (document && stdout.truncated) {
        throw new PodmanError(
          'command_failed',
          `${this.description} ${args[0]} printed more than ${formatLimitBytes(MAX_DOCUMENT_BYTES)}: refusing to parse part of it`,
        );
      }
      // podman exited 0 but could not read all of stdin: it never saw the whole archive.
      if (fed && code === 0) throw new PodmanError('command_failed', `${args[0]}: ${String(fed)}`);
      return ran;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async version(): Promise<string> {
    return (await this.run(argv.versionArgv())).stdout.trim();
  }

  async imageExists(ref: string): Promise<boolean> {
    const args = argv.imageExistsArgv(ref);
    const ran = await this.run(args, { allowFailure: true });
    if (ran.code === 0) return true;
    if (ran.code === 1) return false;
    throw this.failure(args, ran);
  }

  async pull(ref: string, options: { platform: string }): Promise<void> {
    await this.run(argv.pullArgv(ref, options.platform), {
      timeoutMs: this.longOperationTimeoutMs,
    });
  }

  async build(options: {
    tag: string;
    platform: string;
    containerfile: string;
    context: string;
  }): Promise<void> {
    await this.run(argv.buildArgv(options), { timeoutMs: this.longOperationTimeoutMs });
  }

  async inspectImage(ref: string): Promise<ImageInfo> {
    const [raw] = JSON.parse(
      (await this.run(argv.inspectImageArgv(ref), { stdout: 'document' })).stdout,
    ) as RawImage[];
    if (!raw) throw new PodmanError('not_found', `image ${ref} not found`);
    return imageInfoOf(raw);
  }

  save(ref: string, options: { format: ArchiveFormat; uncompressed: boolean }): SaveStream {
    const args = argv.saveArgv(ref, options);
    const child = this.start(args, ['ignore', 'pipe', 'pipe']);
    const stderr = new OutputTail(STDERR_TAIL_BYTES);
    child.stderr?.on('data', (d: Buffer) => stderr.push(d));
    const done = new Promise<void>((resolve, reject) => {
      child.on('error', (error) => reject(this.spawnError(error)));
      child.on('close', (c, signal) => {
        const code = c ?? (signal ? 128 : 1);
        // Bytes that streamed out of a podman that then failed are not an image.
        if (code === 0) resolve();
        else
          reject(
            this.failure(args, {
              code,
              stdout: '',
              stderr: stderr.text(),
              stdoutDropped: 0,
              stderrDropped: stderr.droppedBytes,
            }),
          );
      });
    });
    done.catch(() => {});
    const cancel = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    async function* bytes(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of child.stdout as Readable) yield chunk as Buffer;
        await done;
      } finally {
        cancel();
      }
    }
    return {
      stream: Readable.from(bytes(), { objectMode: false }),
      pipe: child.stdout as Readable,
      done,
      cancel,
    };
  }

  async load(archive: Readable): Promise<string[]> {
    const ran = await this.run(argv.loadArgv(), {
      stdin: archive,
      timeoutMs: this.longOperationTimeoutMs,
    });
    return parseLoaded(ran.stdout);
  }

  async importImage(
    rootfs: Readable,
    options: { ref: string; arch?: string; changes?: string[] },
  ): Promise<string> {
    const ran = await this.run(argv.importArgv(options.ref, options), {
      stdin: rootfs,
      timeoutMs: this.longOperationTimeoutMs,
    });
    return ran.stdout.trim().replace(/^sha256:/, '');
  }

  async tag(source: string, target: string): Promise<void> {
    await this.run(argv.tagArgv(source, target));
  }

  async removeImage(ref: string, options: { force?: boolean } = {}): Promise<void> {
    await this.run(argv.removeImageArgv(ref, options.force ?? false));
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    return (await this.run(argv.createArgv(spec))).stdout.trim();
  }

  async startContainer(id: string): Promise<void> {
    await this.run(argv.startArgv(id));
  }

  async waitContainer(id: string, options: { timeoutMs: number }): Promise<number> {
    const ran = await this.run(argv.waitArgv(id), { timeoutMs: options.timeoutMs });
    const code = Number.parseInt(ran.stdout.trim(), 10);
    if (!Number.isInteger(code))
      throw new PodmanError('command_failed', `podman wait printed "${ran.stdout.trim()}"`);
    return code;
  }

  async stopContainer(id: string, options: { timeoutSeconds?: number } = {}): Promise<void> {
    await this.run(argv.stopArgv(id, options.timeoutSeconds ?? 10));
  }

  async removeContainer(id: string, options: { force?: boolean } = {}): Promise<void> {
    await this.run(argv.removeContainerArgv(id, options.force ?? false));
  }

  async inspectContainer(id: string): Promise<ContainerInfo> {
    const [raw] = JSON.parse(
      (await this.run(argv.inspectContainerArgv(id), { stdout: 'document' })).stdout,
    ) as RawContainer[];
    if (!raw) throw new PodmanError('not_found', `container ${id} not found`);
    return containerInfoOf(raw);
  }

  async listContainers(options: { all?: boolean; label?: string } = {}): Promise<ContainerInfo[]> {
    const rows = JSON.parse(
      (await this.run(argv.listContainersArgv(options), { stdout: 'document' })).stdout || '[]',
    ) as RawListedContainer[];
    return rows.map(listedContainerOf);
  }

  /** The last 1 MiB of each stream: a container may print gigabytes. */
  async logs(id: string): Promise<Logs> {
    const ran = await this.run(argv.logsArgv(id, false), { stderrBytes: OUTPUT_TAIL_BYTES });
    const combined = new OutputTail();
    combined.push(ran.stdout);
    combined.push(ran.stderr);
    return {
      stdout: ran.stdout,
      stderr: ran.stderr,
      combined: combined.text(),
      ...droppedField(ran.stdoutDropped + ran.stderrDropped + combined.droppedBytes),
    };
  }

  async followLogs(
    id: string,
    onData: (chunk: string, stream: 'stdout' | 'stderr') => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const child = this.start(argv.logsArgv(id, true), ['ignore', 'pipe', 'pipe']);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => onData(d, 'stdout'));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => onData(d, 'stderr'));
    const abort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', abort, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        child.on('error', (error) => reject(this.spawnError(error)));
        child.on('close', () => resolve());
      });
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  async exec(id: string, command: string[]): Promise<ExecResult> {
    const ran = await this.run(argv.execArgv(id, command), {
      allowFailure: true,
      stderrBytes: OUTPUT_TAIL_BYTES,
    });
    return {
      exitCode: ran.code,
      stdout: ran.stdout,
      stderr: ran.stderr,
      ...droppedField(ran.stdoutDropped + ran.stderrDropped),
    };
  }
}

/** The names in `podman load` output: `Loaded image: x` or `Loaded image(s): x,y`. */
export function parseLoaded(stdout: string): string[] {
  const names: string[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^Loaded image(?:\(s\))?:\s*(.+)$/.exec(line.trim());
    if (match?.[1]) names.push(...match[1].split(',').map((n) => n.trim()));
  }
  return names;
}
