import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';

export type Fault = 'none' | 'drop' | '503';

export interface ProxyOptions {
  /** Where requests go (http://127.0.0.1:PORT). */
  target: string;
  /**
   * Remove If-Match / If-None-Match: a store that ignores conditional writes. The
   * request is then signed again with these credentials (the headers were signed).
   */
  stripConditionals?: { accessKeyId: string; secretAccessKey: string; region: string };
  /** Which conditional headers stripConditionals removes (default both). */
  stripHeaders?: readonly ('if-match' | 'if-none-match')[];
  /** The fault for the first `faultCount` requests (Infinity: never recovers). */
  fault?: Fault;
  faultCount?: number;
  /** Only requests this accepts are faulted (and counted towards faultCount). */
  faultWhen?: (method: string, url: string) => boolean;
}

export interface TestProxy {
  url: string;
  /** Requests seen, faulted ones included. */
  requests: number;
  faulted: number;
  methods: string[];
  close(): Promise<void>;
}

/**
 * A real HTTP proxy on 127.0.0.1 in front of a real server, for the faults a
 * healthy RGW never produces: dropped connections, 503s, stripped headers.
 */
export async function startProxy(options: ProxyOptions): Promise<TestProxy> {
  const target = new URL(options.target);
  const state = { requests: 0, faulted: 0, methods: [] as string[] };
  const server: Server = createServer((req: IncomingMessage, res) => {
    state.requests++;
    state.methods.push(req.method ?? '');
    const eligible = options.faultWhen?.(req.method ?? '', req.url ?? '') ?? true;
    const faulted = eligible && state.faulted < (options.faultCount ?? 0);
    if (faulted) state.faulted++;
    if (faulted && options.fault === 'drop') {
      req.socket.destroy();
      return;
    }
    if (faulted && options.fault === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml', connection: 'close' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>injected</Message></Error>',
      );
      return;
    }
    void forward(req, res, options, target);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    get faulted() {
      return state.faulted;
    },
    get methods() {
      return state.methods;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.hash.update(bytes(data));
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

async function resign(
  req: IncomingMessage,
  creds: NonNullable<ProxyOptions['stripConditionals']>,
  stripped: readonly string[],
): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || ['authorization', 'x-amz-date', ...stripped].includes(name))
      continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const url = new URL(req.url ?? '/', 'http://proxy');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({
    service: 's3',
    region: creds.region,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
    sha256: Sha256,
    uriEscapePath: false,
  });
  const signed = await signer.sign({
    method: req.method ?? 'GET',
    protocol: 'http:',
    hostname: '127.0.0.1',
    path: url.pathname,
    query,
    headers,
  });
  return signed.headers as Record<string, string>;
}

async function forward(
  req: IncomingMessage,
  res: import('node:http').ServerResponse,
  options: ProxyOptions,
  target: URL,
): Promise<void> {
  const headers = options.stripConditionals
    ? await resign(
        req,
        options.stripConditionals,
        options.stripHeaders ?? ['if-match', 'if-none-match'],
      )
    : { ...req.headers };
  const upstream = request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
    },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
}
