/**
 * The host end of the guest agent's line protocol (see guest/scripts.ts) over
 * the virtserialport's unix socket; qemu accepts one client at a time. A client
 * sends `H <session>` on connect and is in sync once it reads either the agent's
 * boot-time READY or the echo of its own session: the first line of either kind
 * is the readiness signal, pushed by the guest. Request ids carry the session,
 * so an answer meant for an earlier client that went away is skipped.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { type ExecResult, VmError } from '../driver.js';

/** POSIX sh single-quoting: the guest runs exactly these argv words. */
export function shellQuote(argv: readonly string[]): string {
  return argv
    .map((a) => (/^[A-Za-z0-9_./=:@%+-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
    .join(' ');
}

const b64 = (data: Uint8Array | string) => `-${Buffer.from(data).toString('base64')}`;
const unb64 = (field: string | undefined) => Buffer.from((field ?? '-').slice(1), 'base64');

/** Extra time the host waits beyond the guest-side timeout before giving up on the channel. */
const HOST_GRACE_MS = 10_000;

export class AgentChannel {
  private buffer = '';
  private waiters: Array<(line: string) => void> = [];
  private closedError: VmError | undefined;
  private nextId = 1;

  private constructor(
    private readonly socket: Socket,
    private readonly session: string,
    /** The READY line's fields after "READY": agent name, protocol, guest uptime (s). */
    readonly hello: string,
  ) {}

  /**
   * Connects and waits for the agent's READY line. `onClose` fires if the socket
   * ends before that (qemu died, or the guest never came up).
   */
  static connect(
    socketPath: string,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<AgentChannel> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      const session = randomBytes(6).toString('hex');
      socket.on('connect', () => socket.write(`H ${session}\n`));
      let buffer = '';
      const fail = (error: VmError) => {
        cleanup();
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () =>
          fail(
            new VmError(
              'timeout',
              `the guest agent did not announce itself within ${options.timeoutMs} ms`,
            ),
          ),
        options.timeoutMs,
      );
      const onAbort = () =>
        fail(new VmError('start_failed', 'interrupted while waiting for the guest agent'));
      const onData = (chunk: Buffer) => {
        buffer += chunk.toString('latin1');
        for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          // Anything else is a stale answer to a client that went away.
          if (!line.startsWith('READY ') && !line.startsWith(`H ${session} `)) continue;
          cleanup();
          const hello = line.startsWith('READY ') ? line.slice('READY '.length) : 'in session';
          const channel = new AgentChannel(socket, session, hello);
          channel.attach(buffer);
          resolve(channel);
          return;
        }
      };
      const onError = (error: NodeJS.ErrnoException) =>
        fail(
          new VmError(
            'start_failed',
            `cannot reach the guest agent at ${socketPath}: ${error.code ?? error.message}`,
            { cause: error },
          ),
        );
      const onClose = () =>
        fail(
          new VmError(
            'start_failed',
            'the VM closed the agent channel before the agent was ready (qemu exited?)',
          ),
        );
      function cleanup() {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('close', onClose);
      }
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      socket.on('data', onData);
      socket.on('error', onError);
      socket.on('close', onClose);
    });
  }

  private attach(rest: string): void {
    this.buffer = rest;
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      this.drain();
    });
    const closed = () => {
      this.closedError ??= new VmError('exec_failed', 'the agent channel closed (the VM stopped?)');
      for (const waiter of this.waiters.splice(0)) waiter('');
    };
    this.socket.on('close', closed);
    this.socket.on('error', closed);
  }

  private drain(): void {
    for (
      let nl = this.buffer.indexOf('\n');
      nl !== -1 && this.waiters.length;
      nl = this.buffer.indexOf('\n')
    ) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      // Only answers to this session's requests count: our handshake's echo or a
      // stale answer meant for an earlier client can trail in.
      if (line.split(' ')[1]?.startsWith(`${this.session}-`)) this.waiters.shift()?.(line);
    }
  }

  /** Resolves with the next line from the agent, or rejects when the channel closes or time runs out. */
  private nextLine(timeoutMs: number): Promise<string> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new VmError('timeout', `no answer from the guest agent within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (line: string) => {
        clearTimeout(timer);
        if (this.closedError && line === '') reject(this.closedError);
        else resolve(line);
      };
      this.waiters.push(waiter);
      this.drain();
    });
  }

  private send(text: string): void {
    if (this.closedError) throw this.closedError;
    this.socket.write(text);
  }

  async exec(
    argv: readonly string[],
    options: { timeoutMs?: number; stdin?: Uint8Array | string } = {},
  ): Promise<ExecResult> {
    const id = `${this.session}-${this.nextId++}`;
    const seconds = options.timeoutMs ? (options.timeoutMs / 1000).toFixed(3) : '0';
    this.send(`X ${id} ${seconds} ${b64(shellQuote(argv))} ${b64(options.stdin ?? '')}\n`);
    const waitMs = (options.timeoutMs ?? 24 * 3600_000) + HOST_GRACE_MS;
    const line = await this.nextLine(waitMs);
    const [tag, gotId, code, timedOut, out, err] = line.split(' ');
    if (tag !== 'R' || gotId !== id)
      throw new VmError(
        'exec_failed',
        `unexpected answer from the guest agent: ${line.slice(0, 200)}`,
      );
    return {
      exitCode: Number(code),
      timedOut: timedOut === '1',
      stdout: unb64(out),
      stderr: unb64(err),
    };
  }

  /** Sends the bytes base64-encoded; the agent writes `guestPath` only if its sha256 matches. */
  async copyIn(data: Buffer, guestPath: string): Promise<{ sha256: string }> {
    const id = `${this.session}-${this.nextId++}`;
    const sha256 = createHash('sha256').update(data).digest('hex');
    const encoded = data.toString('base64');
    const lines: string[] = [`C ${id} ${b64(guestPath)} ${sha256}`];
    for (let i = 0; i < encoded.length; i += 76) lines.push(encoded.slice(i, i + 76));
    lines.push('.');
    this.send(`${lines.join('\n')}\n`);
    // busybox `read` takes the data a byte at a time: allow ~20 kB/s under emulation.
    const line = await this.nextLine(30_000 + encoded.length);
    const [tag, gotId, status, seen] = line.split(' ');
    if (tag !== 'K' || gotId !== id)
      throw new VmError(
        'exec_failed',
        `unexpected answer from the guest agent: ${line.slice(0, 200)}`,
      );
    if (status !== '0')
      throw new VmError(
        'exec_failed',
        `copy to ${guestPath} failed its sha256 check in the guest (sent ${sha256}, guest saw ${seen})`,
      );
    return { sha256 };
  }

  /**
   * Maps the guest's uptime clock onto the host's: the guest uptime now and the
   * host time its answer arrived (off by at most the answer's one-way latency).
   */
  async clock(): Promise<{ guestUptimeMs: number; hostMs: number }> {
    const id = `${this.session}-${this.nextId++}`;
    this.send(`H ${id}\n`);
    const line = await this.nextLine(30_000);
    const hostMs = Date.now();
    const [tag, gotId, uptime] = line.split(' ');
    if (tag !== 'H' || gotId !== id)
      throw new VmError(
        'exec_failed',
        `unexpected answer from the guest agent: ${line.slice(0, 200)}`,
      );
    return { guestUptimeMs: Number(uptime) * 1000, hostMs };
  }

  close(): void {
    this.socket.destroy();
  }
}
