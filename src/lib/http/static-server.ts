import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, sep } from 'node:path';

/** One request as the server saw it: lets tests prove what a client fetched. */
export interface RequestRecord {
  method: string;
  path: string;
  range?: string;
  status: number;
}

export interface StaticServer {
  /** `http://127.0.0.1:<port>/` (always ends with a slash). */
  url: string;
  port: number;
  requests: RequestRecord[];
  close(): Promise<void>;
}

export interface StaticHandlerOptions {
  /** Answer Range requests with 206 (default true); off, every GET sends the whole file. */
  ranges?: boolean;
  /** Called once per finished request. */
  onRequest?: (record: RequestRecord) => void;
}

const TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.gz': 'application/gzip',
  '.zst': 'application/zstd',
};

type ByteRange = { start: number; end: number };

/**
 * `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range only; multipart ranges are
 * answered with the whole file, which RFC 9110 allows). Returns 'unsatisfiable'
 * for a range that starts past the end.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** Maps a URL path to a file under root, or undefined when it would leave root. */
async function resolveInside(root: string, urlPath: string): Promise<string | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.' || s.includes('\\') || s.includes('\0')))
    return undefined;
  const candidate = join(root, ...segments);
  // A symlink inside the served tree must not lead out of it.
  const real = await realpath(candidate).catch(() => undefined);
  if (real === undefined || (real !== root && !real.startsWith(root + sep))) return undefined;
  return real;
}

/**
 * A request handler serving the files under `root` read-only: GET and HEAD,
 * single byte ranges (206, 416), ETag / Last-Modified with If-None-Match and
 * If-Range, and no way out of `root` (`..`, encoded slashes, symlinks).
 */
export function staticHandler(
  rootDir: string,
  options: StaticHandlerOptions = {},
): RequestListener {
  const ranges = options.ranges ?? true;
  const rootReal = realpath(rootDir);
  // A missing root fails each request, not the process (an unhandled rejection).
  rootReal.catch(() => {});
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const rangeHeader = req.headers.range;
    res.on('finish', () =>
      options.onRequest?.({
        method: req.method ?? '',
        path,
        ...(rangeHeader ? { range: rangeHeader } : {}),
        status: res.statusCode,
      }),
    );
    void (async () => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      const file = await resolveInside(await rootReal, path);
      const info = file ? await stat(file).catch(() => undefined) : undefined;
      if (!file || !info?.isFile()) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
        return;
      }
      const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
      const headers: Record<string, string | number> = {
        ETag: etag,
        'Last-Modified': info.mtime.toUTCString(),
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      };
      if (ranges) headers['Accept-Ranges'] = 'bytes';
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers).end();
        return;
      }
      const ifRange = req.headers['if-range'];
      const rangeApplies = ranges && (ifRange === undefined || ifRange === etag);
      const range = rangeApplies ? parseRange(rangeHeader, info.size) : undefined;
      if (range === 'unsatisfiable') {
        res.writeHead(416, { ...headers, 'Content-Range': `bytes */${info.size}` }).end();
        return;
      }
      const { start, end } = range ?? { start: 0, end: info.size - 1 };
      if (range) headers['Content-Range'] = `bytes ${start}-${end}/${info.size}`;
      headers['Content-Length'] = Math.max(0, end - start + 1);
      res.writeHead(range ? 206 : 200, headers);
      if (req.method === 'HEAD' || info.size === 0) {
        res.end();
        return;
      }
      const body = createReadStream(file, { start, end });
      body.on('error', () => res.destroy());
      body.pipe(res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  };
}

/** Starts a server for `handler` on 127.0.0.1 (port 0 = any free port). */
export async function listen(
  handler: RequestListener,
  { port = 0, host = '127.0.0.1' }: { port?: number; host?: string } = {},
): Promise<{ server: Server; url: string; port: number; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    url: `http://${host}:${actual}/`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves the directory `root` over HTTP on 127.0.0.1, recording every request. */
export async function startStaticServer(
  root: string,
  options: StaticHandlerOptions & { port?: number } = {},
): Promise<StaticServer> {
  const requests: RequestRecord[] = [];
  const handler = staticHandler(root, {
    ...options,
    onRequest: (r) => {
      requests.push(r);
      options.onRequest?.(r);
    },
  });
  const { url, port, close } = await listen(handler, { port: options.port });
  return { url, port, requests, close };
}
