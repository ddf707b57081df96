import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DEFAULT_PODMAN_LONG_OP_TIMEOUT_MS,
  formatLimitMs,
  MAX_DOCUMENT_BYTES,
  OUTPUT_TAIL_BYTES,
  readCapped,
  SizeLimitError,
  STDERR_TAIL_BYTES,
} from '../limits.js';
import { droppedField, OutputTail } from '../output-tail.js';
import { kindOfCliFailure, kindOfStatus, PodmanError } from './errors.js';
import {
  containerInfoOf,
  imageInfoOf,
  listedContainerOf,
  type RawContainer,
  type RawImage,
  type RawListedContainer,
} from './inspect.js';
import { assertContainerRef, assertImageRef } from './refs.js';
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

export interface ApiOptions {
  /** Path of the `podman system service` unix socket. */
  socketPath: string;
  /** Per-request limit for calls that should answer quickly (default 60 s). */
  requestTimeoutMs?: number;
  /** Limit on pull, load and import (default 60 min): a stuck registry or disk must not hold the job. */
  longOperationTimeoutMs?: number;
}

interface Call {
  query?: Record<string, string | string[] | undefined>;
  json?: unknown;
  body?: Readable;
  contentType?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const enc = encodeURIComponent;

/** Splits the multiplexed attach/logs stream: 8-byte headers (stream, 0, 0, 0, size BE32). */
export class Demuxer {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (stream: 'stdout' | 'stderr', data: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const kind = this.pending[0];
      const data = this.pending.subarray(8, 8 + size);
      // 0 is stdin (echoed with a tty); podman sends only 1 and 2 without one.
      this.onFrame(kind === 2 ? 'stderr' : 'stdout', data);
      this.pending = this.pending.subarray(8 + size);
    }
  }
}

/** Podman's libpod REST API over a unix socket (`podman system service`). */
export class ApiPodman implements Podman {
  readonly description: string;
  private base: Promise<string> | undefined;
  private readonly timeoutMs: number;
  private readonly longOperationTimeoutMs: number;

  constructor(private readonly options: ApiOptions) {
    this.description = `unix://${options.socketPath}`;
    this.timeoutMs = options.requestTimeoutMs ?? 60_000;
    this.longOperationTimeoutMs =
      options.longOperationTimeoutMs ?? DEFAULT_PODMAN_LONG_OP_TIMEOUT_MS;
  }

  /**
   * Runs a long operation (pull, load, import) under the long-operation limit:
   * past it the request is aborted, which closes the connection (and stops
   * streaming an archive into it), and the error names the operation.
   */
  private async bounded<T>(what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const limit = this.longOperationTimeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), limit);
    try {
      return await work(controller.signal);
    } catch (error) {
      if (!controller.signal.aborted) throw error;
      throw new PodmanError(
        'timeout',
        `${what} through ${this.description} did not finish within ${formatLimitMs(limit)}: aborted it`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends one request; resolves with the response whatever its status. */
  private send(method: string, path: string, call: Call = {}): Promise<IncomingMessage> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(call.query ?? {})) {
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
    }
    const query = params.size ? `?${params}` : '';
    const headers: Record<string, string> = {};
    let payload: string | undefined;
    if (call.json !== undefined) {
      payload = JSON.stringify(call.json);
      headers['content-type'] = 'application/json';
    } else if (call.body) {
      headers['content-type'] = call.contentType ?? 'application/x-tar';
    }
    return new Promise((resolve, reject) => {
      const req = httpRequest({
        socketPath: this.options.socketPath,
        method,
        path: `${path}${query}`,
        headers: { host: 'podman', ...headers },
        signal: call.signal,
      });
      const limit = call.timeoutMs ?? this.timeoutMs;
      const timer =
        limit > 0
          ? setTimeout(
              () =>
                req.destroy(
                  new PodmanError('timeout', `${method} ${path} timed out after ${limit} ms`),
                ),
              limit,
            )
          : undefined;
      req.on('response', (res) => {
        res.on('close', () => clearTimeout(timer));
        resolve(res);
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (error instanceof PodmanError) return reject(error);
        if (error.name === 'AbortError') return reject(error);
        const unavailable = ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE'].includes(
          error.code ?? '',
        );
        reject(
          new PodmanError(
            unavailable ? 'transport_unavailable' : 'api_error',
            `podman API at ${this.description}: ${error.code ?? error.message}`,
            { cause: error },
          ),
        );
      });
      if (call.body) {
        // Streamed: a multi-GB archive never sits in memory.
        pipeline(call.body, req).catch((error: unknown) => req.destroy(error as Error));
      } else {
        req.end(payload);
      }
    });
  }

  private async fail(method: string, path: string, res: IncomingMessage): Promise<never> {
    const text = await readTail(res, STDERR_TAIL_BYTES);
    let message = text.trim();
    try {
      const body = JSON.parse(text) as { message?: string; cause?: string };
      message = body.message ?? body.cause ?? message;
    } catch {}
    const status = res.statusCode ?? 0;
    let kind = kindOfStatus(status);
    // podman 4.3 answers 500 (not 409) for "that name is already in use" and similar.
    if (kind === 'api_error' && status === 500) {
      const fromText = kindOfCliFailure(message);
      if (fromText === 'conflict' || fromText === 'not_found') kind = fromText;
    }
    throw new PodmanError(kind, `${method} ${path}: ${status} ${message}`, {
      status,
      retryable: status === 503 ? true : undefined,
    });
  }

  /** The versioned libpod path prefix, from the `Libpod-Api-Version` header of `_ping`. */
  private prefix(): Promise<string> {
    this.base ??= (async () => {
      const res = await this.send('GET', '/libpod/_ping', { timeoutMs: 10_000 });
      await readTail(res);
      const version = res.headers['libpod-api-version'];
      if (res.statusCode !== 200 || typeof version !== 'string') {
        throw new PodmanError(
          'api_error',
          `${this.description} is not a libpod API (ping answered ${res.statusCode})`,
        );
      }
      return `/v${version}/libpod`;
    })();
    this.base.catch(() => {
      this.base = undefined;
    });
    return this.base;
  }

  private async call(
    method: string,
    path: string,
    call: Call = {},
    ok: number[] = [200, 201, 204],
  ): Promise<IncomingMessage> {
    const full = `${await this.prefix()}${path}`;
    const res = await this.send(method, full, call);
    if (!ok.includes(res.statusCode ?? 0)) return this.fail(method, path, res);
    return res;
  }

  private async json<T>(method: string, path: string, call: Call = {}): Promise<T> {
    const res = await this.call(method, path, call);
    const text = await readDocument(res, `${method} ${path}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The API version the service speaks (from `_ping`). */
  async apiVersion(): Promise<string> {
    return (await this.prefix()).replace(/^\/v/, '').replace(/\/libpod$/, '');
  }

  async version(): Promise<string> {
    const body = await this.json<{ Version: string }>('GET', '/version');
    return body.Version;
  }

  async imageExists(ref: string): Promise<boolean> {
    const res = await this.call(
      'GET',
      `/images/${enc(assertImageRef(ref))}/exists`,
      {},
      [204, 404],
    );
    await readTail(res);
    return res.statusCode === 204;
  }

  async pull(ref: string, options: { platform: string }): Promise<void> {
    const [os, arch, variant] = options.platform.split('/');
    await this.bounded(`pull ${ref}`, async (signal) => {
      const res = await this.call('POST', '/images/pull', {
        query: {
          reference: assertImageRef(ref),
          OS: os,
          Arch: arch,
          Variant: variant,
          quiet: 'true',
        },
        timeoutMs: 0,
        signal,
      });
      // Errors during a pull arrive in the 200 stream as {"error": "…"}; the stream
      // is read line by line so a long pull's progress is never held in memory.
      const error = await firstPullError(res);
      if (error) throw new PodmanError('command_failed', `pull ${ref}: ${error.trim()}`);
    });
  }

  async build(): Promise<void> {
    throw new PodmanError(
      'command_failed',
      'building images is only supported through the podman CLI transport',
    );
  }

  async inspectImage(ref: string): Promise<ImageInfo> {
    return imageInfoOf(
      await this.json<RawImage>('GET', `/images/${enc(assertImageRef(ref))}/json`),
    );
  }

  save(ref: string, options: { format: ArchiveFormat; uncompressed: boolean }): SaveStream {
    const self = this;
    const abort = new AbortController();
    let settle: (error?: unknown) => void = () => {};
    const done = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    done.catch(() => {});
    async function* bytes(): AsyncGenerator<Buffer> {
      try {
        const res = await self.call('GET', `/images/${enc(assertImageRef(ref))}/get`, {
          query: { format: options.format, compress: options.uncompressed ? 'false' : 'true' },
          timeoutMs: 0,
          signal: abort.signal,
        });
        for await (const chunk of res) yield chunk as Buffer;
        if (!res.complete) throw new PodmanError('api_error', `save ${ref}: stream cut short`);
        settle();
      } catch (error) {
        settle(error);
        throw error;
      }
    }
    return {
      stream: Readable.from(bytes(), { objectMode: false }),
      done,
      cancel: () => abort.abort(),
    };
  }

  async load(archive: Readable): Promise<string[]> {
    const body = await this.bounded('load', (signal) =>
      this.json<{ Names?: string[] }>('POST', '/images/load', {
        body: archive,
        timeoutMs: 0,
        signal,
      }),
    );
    return body.Names ?? [];
  }

  async importImage(
    rootfs: Readable,
    options: { ref: string; arch?: string; changes?: string[] },
  ): Promise<string> {
    if (options.arch)
      throw new PodmanError('command_failed', 'import --arch needs the podman CLI transport');
    const ref = assertImageRef(options.ref);
    const colon = ref.lastIndexOf(':');
    const body = await this.bounded(`import ${ref}`, (signal) =>
      this.json<{ Id: string }>('POST', '/images/import', {
        body: rootfs,
        query: {
          reference: ref.slice(0, colon > ref.lastIndexOf('/') ? colon : undefined),
          changes: options.changes,
        },
        timeoutMs: 0,
        signal,
      }),
    );
    const id = body.Id.replace(/^sha256:/, '');
    if (colon > ref.lastIndexOf('/')) await this.tag(id, ref);
    return id;
  }

  async tag(source: string, target: string): Promise<void> {
    const ref = assertImageRef(target);
    const colon = ref.lastIndexOf(':');
    const [repo, tag] =
      colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
    const res = await this.call('POST', `/images/${enc(assertImageRef(source))}/tag`, {
      query: { repo, tag },
    });
    await readTail(res);
  }

  async removeImage(ref: string, options: { force?: boolean } = {}): Promise<void> {
    const res = await this.call('DELETE', `/images/${enc(assertImageRef(ref))}`, {
      query: { force: options.force ? 'true' : undefined },
    });
    await readTail(res);
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(spec.network))
      throw new Error(`refusing network "${spec.network}"`);
    const netns =
      spec.network === 'none' || spec.network === 'host'
        ? { nsmode: spec.network }
        : { nsmode: 'bridge' };
    const body = await this.json<{ Id: string }>('POST', '/containers/create', {
      json: {
        image: assertImageRef(spec.image),
        command: spec.command.length ? spec.command : undefined,
        name: spec.name ? assertContainerRef(spec.name) : undefined,
        labels: spec.labels,
        netns,
        ...(netns.nsmode === 'bridge' && spec.network !== 'bridge'
          ? { Networks: { [spec.network]: {} } }
          : {}),
      },
    });
    return body.Id;
  }

  async startContainer(id: string): Promise<void> {
    await readTail(await this.call('POST', `/containers/${enc(assertContainerRef(id))}/start`));
  }

  async waitContainer(id: string, options: { timeoutMs: number }): Promise<number> {
    const res = await this.call(
      'POST',
      `/containers/${enc(assertContainerRef(id))}/wait`,
      { query: { condition: ['exited', 'stopped'] }, timeoutMs: options.timeoutMs },
      [200],
    ).catch((error: unknown) => {
      if (error instanceof PodmanError && error.kind === 'timeout')
        throw new PodmanError(
          'timeout',
          `container ${id} still running after ${options.timeoutMs} ms`,
        );
      throw error;
    });
    const text = await readTail(res);
    return Number.parseInt(text.trim(), 10);
  }

  async stopContainer(id: string, options: { timeoutSeconds?: number } = {}): Promise<void> {
    const res = await this.call(
      'POST',
      `/containers/${enc(assertContainerRef(id))}/stop`,
      { query: { timeout: String(options.timeoutSeconds ?? 10) } },
      [204, 304],
    );
    await readTail(res);
  }

  async removeContainer(id: string, options: { force?: boolean } = {}): Promise<void> {
    const res = await this.call('DELETE', `/containers/${enc(assertContainerRef(id))}`, {
      query: {
        force: options.force ? 'true' : undefined,
        timeout: options.force ? '0' : undefined,
        v: 'true',
      },
    });
    await readTail(res);
  }

  async inspectContainer(id: string): Promise<ContainerInfo> {
    return containerInfoOf(
      await this.json<RawContainer>('GET', `/containers/${enc(assertContainerRef(id))}/json`),
    );
  }

  async listContainers(options: { all?: boolean; label?: string } = {}): Promise<ContainerInfo[]> {
    const rows = await this.json<RawListedContainer[]>('GET', '/containers/json', {
      query: {
        all: options.all ? 'true' : undefined,
        filters: options.label ? JSON.stringify({ label: [options.label] }) : undefined,
      },
    });
    return rows.map(listedContainerOf);
  }

  /** The last 1 MiB of each stream: a container may print gigabytes. */
  async logs(id: string): Promise<Logs> {
    const tails = {
      stdout: new OutputTail(),
      stderr: new OutputTail(),
      combined: new OutputTail(),
    };
    await this.followLogs(
      id,
      (chunk, stream) => {
        tails[stream].push(chunk);
        tails.combined.push(chunk);
      },
      undefined,
      false,
    );
    return {
      stdout: tails.stdout.text(),
      stderr: tails.stderr.text(),
      combined: tails.combined.text(),
      ...droppedField(tails.combined.droppedBytes),
    };
  }

  async followLogs(
    id: string,
    onData: (chunk: string, stream: 'stdout' | 'stderr') => void,
    signal?: AbortSignal,
    follow = true,
  ): Promise<void> {
    const res = await this.call('GET', `/containers/${enc(assertContainerRef(id))}/logs`, {
      query: { stdout: 'true', stderr: 'true', follow: follow ? 'true' : undefined },
      timeoutMs: 0,
      signal,
    });
    const demux = new Demuxer((stream, data) => onData(data.toString('utf8'), stream));
    try {
      for await (const chunk of res) demux.push(chunk as Buffer);
    } catch (error) {
      if (!signal?.aborted) throw error;
    }
  }

  async exec(id: string, command: string[]): Promise<ExecResult> {
    const created = await this.json<{ Id: string }>(
      'POST',
      `/containers/${enc(assertContainerRef(id))}/exec`,
      { json: { Cmd: command, AttachStdout: true, AttachStderr: true } },
    );
    const res = await this.call('POST', `/exec/${enc(created.Id)}/start`, {
      json: { Detach: false, Tty: false },
      timeoutMs: 0,
    });
    const tails = { stdout: new OutputTail(), stderr: new OutputTail() };
    const demux = new Demuxer((stream, data) => tails[stream].push(data));
    for await (const chunk of res) demux.push(chunk as Buffer);
    const inspected = await this.json<{ ExitCode: number; Running: boolean }>(
      'GET',
      `/exec/${enc(created.Id)}/json`,
    );
    return {
      exitCode: inspected.ExitCode,
      stdout: tails.stdout.text(),
      stderr: tails.stderr.text(),
      ...droppedField(tails.stdout.droppedBytes + tails.stderr.droppedBytes),
    };
  }
}

/** A body that is parsed whole (JSON): up to 16 MiB, a clear error past it. */
async function readDocument(res: IncomingMessage, what: string): Promise<string> {
  try {
    return (
      await readCapped(res, `the answer to ${what}`, MAX_DOCUMENT_BYTES, 'a podman API answer')
    ).toString('utf8');
  } catch (error) {
    if (error instanceof SizeLimitError)
      throw new PodmanError('api_error', error.message, { cause: error });
    throw error;
  }
}

/** A body read for its end only (an error message, or to drain the connection). */
async function readTail(res: IncomingMessage, limitBytes = OUTPUT_TAIL_BYTES): Promise<string> {
  const tail = new OutputTail(limitBytes);
  for await (const chunk of res) tail.push(chunk as Buffer);
  return tail.text();
}

/** The first `{"error": …}` event of a pull stream, reading it one line at a time. */
async function firstPullError(res: IncomingMessage): Promise<string | undefined> {
  let pending = '';
  let found: string | undefined;
  const consider = (line: string) => {
    if (found !== undefined || !line.trim()) return;
    try {
      const event = JSON.parse(line) as { error?: string };
      if (event.error) found = event.error;
    } catch {
      // A progress line we cannot read says nothing about success.
    }
  };
  res.setEncoding('utf8');
  for await (const chunk of res as AsyncIterable<string>) {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) consider(line);
    // One line longer than any event podman sends is not kept whole.
    if (pending.length > OUTPUT_TAIL_BYTES) pending = '';
  }
  consider(pending);
  return found;
}
