/**
 * Host-side canaries: listeners the guest must never reach. Each one records
 * every probe token that arrives (and the peer it came from), so the verdict
 * rests on what the host saw, not on what the guest says it did.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';

/** Probe tokens: DNS-label-safe so the same token works in a TCP line and a query name. */
export const TOKEN_PATTERN = /vmg[0-9a-f]{20}/g;

export interface CanarySpec {
  id: string;
  /** `dns`: a DNS server for the canary zone on UDP and TCP (length-prefixed) at one port. */
  protocol: 'tcp' | 'udp' | 'dns';
  /** Address to bind: 127.0.0.1, another 127/8 address, 0.0.0.0 … */
  bind: string;
  /** 0 = any free port. A fixed port lets a test aim a deliberate leak at it. */
  port?: number;
}

export interface Canary extends Required<CanarySpec> {}

export interface CanaryHit {
  canary: string;
  /** Undefined when something arrived without a token: still evidence of a path in. */
  token: string | undefined;
  peer: string;
  atMs: number;
}

export interface CanaryFailure {
  id: string;
  bind: string;
  error: string;
}

export interface CanarySet {
  canaries: Canary[];
  /** Canaries that could not bind: the gate cannot judge without them (verdict broken). */
  failures: CanaryFailure[];
  /** IPv6 canaries on a host without that address family: nothing to reach, so skipped (a note). */
  unavailable: CanaryFailure[];
  hits(): CanaryHit[];
  close(): Promise<void>;
}

/** 127.0.0.2 is on `lo` on Linux without setup, which makes it a second loopback address for free. */
export const DEFAULT_CANARIES: readonly CanarySpec[] = [
  { id: 'tcp-loopback', protocol: 'tcp', bind: '127.0.0.1' },
  { id: 'tcp-loopback-alias', protocol: 'tcp', bind: '127.0.0.2' },
  { id: 'tcp-any', protocol: 'tcp', bind: '0.0.0.0' },
  { id: 'tcp-loopback6', protocol: 'tcp', bind: '::1' },
  { id: 'udp-dns-loopback', protocol: 'udp', bind: '127.0.0.1' },
  { id: 'dns-zone', protocol: 'dns', bind: '127.0.0.1' },
];

/**
 * The canary zone: every DNS probe asks for `<token>.<zone>`. A real resolver that
 * lets the query out recurses toward the zone's server; here the `dns` canary is
 * that server, and the host's resolver (or a leak aimed at it) brings the query in.
 */
export const CANARY_ZONE = 'gate.invalid';

/** A DNS query for `name` (type A, recursion desired), as UDP carries it. */
export function dnsQuery(name: string, id = 0x6761): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  const labels = name
    .split('.')
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

function tokensIn(data: Buffer): string[] {
  return [...data.toString('latin1').matchAll(TOKEN_PATTERN)].map((m) => m[0]);
}

/**
 * Answers a DNS query with one A record (or no answer for other types), so a
 * probe that gets through also sees a reply; the token is in the query name.
 */
export function dnsAnswer(query: Buffer): Buffer | undefined {
  if (query.length < 17) return undefined;
  let end = 12;
  while (end < query.length && query[end] !== 0) end += (query[end] as number) + 1;
  const questionEnd = end + 5;
  if (questionEnd > query.length) return undefined;
  const isA = query.readUInt16BE(end + 1) === 1;
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(isA ? 1 : 0, 6);
  header.writeUInt32BE(0, 8);
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 192, 0, 2, 1]);
  return Buffer.concat([header, query.subarray(12, questionEnd), ...(isA ? [answer] : [])]);
}

/** The reply a TCP probe checks for: proof the bytes went both ways. */
export const CANARY_REPLY = 'CANARY';

export async function startCanaries(
  specs: readonly CanarySpec[] = DEFAULT_CANARIES,
  now: () => number = Date.now,
): Promise<CanarySet> {
  const hits: CanaryHit[] = [];
  const canaries: Canary[] = [];
  const failures: CanaryFailure[] = [];
  const unavailable: CanaryFailure[] = [];
  const closers: (() => Promise<void>)[] = [];
  const log: HitLog = {
    tokens(canary, peer, data, seen) {
      for (const token of tokensIn(data)) {
        if (seen.has(token)) continue;
        seen.add(token);
        hits.push({ canary, token, peer, atMs: now() });
      }
    },
    tokenless(canary, peer) {
      hits.push({ canary, token: undefined, peer, atMs: now() });
    },
  };

  for (const spec of specs) {
    try {
      let port = spec.port ?? 0;
      if (spec.protocol === 'dns') {
        // UDP and TCP on one port: a free UDP port may be taken on TCP, so try a few.
        for (let attempt = 1; ; attempt++) {
          const udp = await listenUdp(spec, port, log);
          try {
            const tcp = await listenTcp(spec, udp.port, log);
            closers.push(udp.close, tcp.close);
            port = udp.port;
            break;
          } catch (error) {
            await udp.close();
            if (spec.port !== undefined || attempt === 5) throw error;
          }
        }
      } else {
        const listen = spec.protocol === 'udp' ? listenUdp : listenTcp;
        const listening = await listen(spec, port, log);
        port = listening.port;
        closers.push(listening.close);
      }
      canaries.push({ ...spec, port });
    } catch (error) {
      // A host without IPv6 loopback has nothing there to reach: not a canary that failed.
      const code = (error as NodeJS.ErrnoException).code;
      if (spec.bind.includes(':') && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) {
        unavailable.push({ id: spec.id, bind: spec.bind, error: (error as Error).message });
        continue;
      }
      failures.push({
        id: spec.id,
        bind: `${spec.bind}:${spec.port ?? 0}`,
        error: (error as Error).message,
      });
    }
  }

  return {
    canaries,
    failures,
    unavailable,
    hits: () => [...hits],
    close: async () => {
      await Promise.all(closers.splice(0).map((close) => close()));
    },
  };
}

/** Where the listeners report: each new token seen on a connection, or a connection that brought none. */
interface HitLog {
  tokens(canary: string, peer: string, data: Buffer, seen: Set<string>): void;
  tokenless(canary: string, peer: string): void;
}
interface Listening {
  port: number;
  close: () => Promise<void>;
}

/** TCP: a token line gets `CANARY <tokens>` back; on a `dns` canary, length-prefixed queries get answers. */
async function listenTcp(spec: CanarySpec, port: number, log: HitLog): Promise<Listening> {
  const open = new Set<Socket>();
  const server: Server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const seen = new Set<string>();
    let buffered = Buffer.alloc(0);
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]).subarray(-4096);
      log.tokens(spec.id, peer, buffered, seen);
      const length = buffered.length >= 2 ? buffered.readUInt16BE(0) : 0;
      if (spec.protocol === 'dns' && length > 0 && buffered.length >= length + 2) {
        const reply = dnsAnswer(buffered.subarray(2, length + 2));
        if (reply) {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(reply.length);
          socket.end(Buffer.concat([prefix, reply]));
        }
      } else if (buffered.includes('\n')) socket.end(`${CANARY_REPLY} ${[...seen].join(' ')}\n`);
    });
    socket.on('close', () => {
      if (seen.size === 0) log.tokenless(spec.id, peer);
    });
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, spec.bind, () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** UDP: every datagram is recorded; a DNS query gets an answer, so a probe that gets out also hears back. */
async function listenUdp(spec: CanarySpec, port: number, log: HitLog): Promise<Listening> {
  const socket: UdpSocket = createSocket(spec.bind.includes(':') ? 'udp6' : 'udp4');
  socket.on('message', (data, rinfo) => {
    const seen = new Set<string>();
    const peer = `${rinfo.address}:${rinfo.port}`;
    log.tokens(spec.id, peer, data, seen);
    if (seen.size === 0) log.tokenless(spec.id, peer);
    const reply = dnsAnswer(data);
    if (reply) socket.send(reply, rinfo.port, rinfo.address);
  });
  const bound = await new Promise<number>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, spec.bind, () => resolve(socket.address().port));
  });
  return {
    port: bound,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
