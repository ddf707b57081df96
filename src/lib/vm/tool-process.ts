import { type ChildProcess, spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import { OutputTail } from '../output-tail.js';
import { VmError } from './driver.js';

/** How a VM tool is started; injected so tests can watch or replace it. */
export type SpawnTool = (command: string, args: string[], options: SpawnOptions) => ChildProcess;

export interface ToolRunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Bytes for the tool's stdin; without it stdin is closed (so a prompt reads EOF, never hangs). */
  stdin?: Uint8Array | string;
  /** Kill the tool (and everything it started) after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Keep at most this many bytes of each stream: the end, where the error usually is. */
  tailBytes?: number;
  spawn?: SpawnTool;
}

export interface ToolRun {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
  /** Bytes dropped from the front of stdout/stderr to keep the tails bounded. */
  truncated: boolean;
}

export const DEFAULT_TAIL_BYTES = 64 * 1024;

/**
 * Runs a VM tool to completion and returns its exit code and output tails; it
 * never throws for a non-zero exit (the driver decides what an exit code means),
 * only when the tool cannot be started at all.
 */
export function runTool(
  binary: string,
  args: readonly string[],
  options: ToolRunOptions = {},
): Promise<ToolRun> {
  const spawn = options.spawn ?? (nodeSpawn as SpawnTool);
  const limit = options.tailBytes ?? DEFAULT_TAIL_BYTES;
  return new Promise<ToolRun>((resolve, reject) => {
    // Its own process group, so a timeout also kills what the tool started
    // (limactl shell's ssh, smolvm's helpers) instead of leaving them behind.
    const child = spawn(binary, [...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      detached: true,
    });
    const stdout = new OutputTail(limit);
    const stderr = new OutputTail(limit);
    child.stdout?.on('data', (d: Buffer) => stdout.push(d));
    child.stderr?.on('data', (d: Buffer) => stderr.push(d));
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            killGroup();
          }, options.timeoutMs);
    const onAbort = () => killGroup();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // A tool that exits without reading stdin makes the write fail with EPIPE: not our error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.stdin ?? undefined);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(
        new VmError(
          error.code === 'ENOENT' ? 'unavailable' : 'start_failed',
          error.code === 'ENOENT'
            ? `${binary} was not found (is it installed and on PATH?)`
            : `cannot run ${binary}: ${error.message}`,
          { cause: error },
        ),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        exitCode: code ?? (signal ? 128 + (signalNumber(signal) ?? 9) : 1),
        stdout: stdout.bytes(),
        stderr: stderr.bytes(),
        timedOut,
        truncated: stdout.truncated || stderr.truncated,
      });
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return ({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[signal];
}

/** The last line of a tool's stderr (or stdout), for one-line error messages. */
export function lastWords(run: Pick<ToolRun, 'stdout' | 'stderr' | 'exitCode'>): string {
  const text = run.stderr.toString('utf8').trim() || run.stdout.toString('utf8').trim();
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-3).join(' | ') || `exit code ${run.exitCode}`;
}
