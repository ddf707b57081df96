// An HTTP proxy on 127.0.0.1 that makes loopback look like a long-haul link: each
// client connection is paced to a fixed rate in each direction, and each request
// waits a fixed latency before it is forwarded. One TCP stream across a real
// network is capped like this (window / RTT, shaping, per-flow limits), which is
// the case multipart uploads exist for; on bare loopback the only limit is CPU.
import { Agent, createServer, request } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

// Hop-by-hop headers are the proxy's own business. `expect` goes too: the proxy's
// server already answered 100 Continue, and SigV4 never signs it.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'expect',
]);

/**
 * Paces bytes through a shared per-connection budget: a chunk may leave once the
 * bytes before it on the same connection have had their time at `bytesPerSecond`.
 * Up to `burstMs` of unused time carries over, so a timer that fires late (they
 * do, on a loaded machine) does not lower the rate below the cap. The clock starts
 * at the first byte: a fresh connection (every part gets one) earns no credit, or
 * many short connections would beat one long one by the burst each.
 */
export function pacer(bytesPerSecond, { now = () => performance.now(), burstMs = 50 } = {}) {
  let nextFreeMs;
  return {
    /** Milliseconds to wait before sending `length` bytes (and books them). */
    reserve(length) {
      const start = Math.max(now() - burstMs, nextFreeMs ?? now());
      nextFreeMs = start + (length / bytesPerSecond) * 1000;
      return start - now();
    },
  };
}

function paced(pace) {
  return new Transform({
    async transform(chunk, _encoding, done) {
      const waitMs = pace.reserve(chunk.length);
      if (waitMs > 1) await sleep(waitMs);
      done(null, chunk);
    },
  });
}

const REQUESTS = 0;
const PART_REQUESTS = 1;

/**
 * Starts the proxy in front of `target` (http://127.0.0.1:PORT) on a thread of its
 * own, as a network would not take CPU from the client being measured. Counts
 * requests and uploaded parts so a benchmark can show what went through it.
 */
export async function startThrottledProxy({ target, bytesPerSecond, latencyMs }) {
  const counters = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { throttledProxy: { target, bytesPerSecond, latencyMs, counters } },
  });
  const url = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // A proxy that dies mid-run would leave the client retrying against a closed
  // port until its deadline: say so at once and fail the benchmark.
  worker.on('error', (error) => {
    console.error(`throttled proxy failed: ${error.stack ?? error}`);
    process.exitCode = 1;
    process.exit();
  });
  return {
    url,
    stats: {
      get requests() {
        return Atomics.load(counters, REQUESTS);
      },
      get partRequests() {
        return Atomics.load(counters, PART_REQUESTS);
      },
    },
    close: () => worker.terminate(),
  };
}

async function serve({ target, bytesPerSecond, latencyMs, counters }) {
  const upstream = new URL(target);
  // Keep-alive upstream so the proxy's own connections cost nothing per request;
  // the cap belongs to the client's connections.
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const perConnection = new WeakMap();
  const server = createServer(async (req, res) => {
    Atomics.add(counters, REQUESTS, 1);
    if (/[?&]partNumber=/.test(req.url ?? '')) Atomics.add(counters, PART_REQUESTS, 1);
    let paces = perConnection.get(req.socket);
    if (!paces) {
      paces = { up: pacer(bytesPerSecond), down: pacer(bytesPerSecond) };
      perConnection.set(req.socket, paces);
    }
    await sleep(latencyMs);
    const headers = {};
    for (const [name, value] of Object.entries(req.headers))
      if (!HOP_BY_HOP.has(name)) headers[name] = value;
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
        agent,
      },
      (answer) => {
        const back = { ...answer.headers };
        for (const name of HOP_BY_HOP) delete back[name];
        res.writeHead(answer.statusCode ?? 502, back);
        pipeline(answer, paced(paces.down), res).catch(() => res.destroy());
      },
    );
    forwarded.on('error', () => res.destroy());
    pipeline(req, paced(paces.up), forwarded).catch(() => res.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  parentPort.postMessage(`http://127.0.0.1:${server.address().port}`);
}

if (!isMainThread && workerData?.throttledProxy) await serve(workerData.throttledProxy);
