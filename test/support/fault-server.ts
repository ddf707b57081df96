import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, staticHandler } from '../../src/lib/http/static-server.js';

/**
 * A bucket server that misbehaves on purpose, for the faults a real CDN shows
 * now and then: bodies cut mid-transfer, 503s, wrong bytes, a peer that stops talking.
 */
export type Fault =
  /** The first `times` GETs send `afterBytes` of the body, then the connection is reset. */
  | { kind: 'cut'; afterBytes: number; times?: number }
  /** The first GETs answer these statuses (one per request), then the file. */
  | { kind: 'status'; statuses: number[] }
  /** Right length, wrong content (every byte flipped). */
  | { kind: 'wrong-bytes' }
  /** Never sends response headers. */
  | { kind: 'silent' }
  /** Sends headers and `afterBytes` of the body, then nothing, forever. */
  | { kind: 'stall'; afterBytes: number };

export interface Seen {
  method: string;
  path: string;
  range?: string;
}

export interface FaultServer {
  url: string;
  requests: Seen[];
  faults: Map<string, Fault>;
  close(): Promise<void>;
  /** Requests for `path` (GETs only). */
  gets(path: string): Seen[];
}

function limitWrites(res: ServerResponse, afterBytes: number, onLimit: () => void): void {
  const write = res.write.bind(res) as (chunk: Buffer) => boolean;
  let sent = 0;
  res.write = ((chunk: Buffer) => {
    const left = afterBytes - sent;
    if (left <= 0) return false;
    const part = chunk.subarray(0, left);
    sent += part.length;
    write(part);
    if (sent >= afterBytes) onLimit();
    return true;
  }) as typeof res.write;
}

export async function startFaultServer(
  root: string,
  options: { ranges?: boolean; faults?: Record<string, Fault> } = {},
): Promise<FaultServer> {
  const requests: Seen[] = [];
  const faults = new Map(Object.entries(options.faults ?? {}));
  const counts = new Map<string, number>();
  const serve = staticHandler(root, { ranges: options.ranges ?? true });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push({
      method: req.method ?? '',
      path,
      ...(req.headers.range ? { range: req.headers.range } : {}),
    });
    const fault = req.method === 'GET' ? faults.get(path) : undefined;
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    if (!fault) return serve(req, res);
    switch (fault.kind) {
      case 'cut':
        if (n <= (fault.times ?? 1)) {
          // The reset comes a moment after the last byte, as on a real network; an
          // immediate one lets the client's stream drop bytes it already received.
          limitWrites(res, fault.afterBytes, () => setTimeout(() => res.socket?.destroy(), 100));
        }
        return serve(req, res);
      case 'status': {
        const status = fault.statuses[n - 1];
        if (status !== undefined) {
          res.writeHead(status, { 'Content-Type': 'text/plain' }).end(`fault ${status}\n`);
          return;
        }
        return serve(req, res);
      }
      case 'wrong-bytes': {
        const write = res.write.bind(res) as (chunk: Buffer) => boolean;
        res.write = ((chunk: Buffer) =>
          write(Buffer.from(chunk.map((b) => b ^ 0xff)))) as typeof res.write;
        return serve(req, res);
      }
      case 'silent':
        return;
      case 'stall':
        limitWrites(res, fault.afterBytes, () => {});
        return serve(req, res);
    }
  };
  const { url, close } = await listen(handler);
  return {
    url,
    requests,
    faults,
    close,
    gets: (path) => requests.filter((r) => r.method === 'GET' && r.path === path),
  };
}
