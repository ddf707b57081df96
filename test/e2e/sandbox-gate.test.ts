import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CANARIES, TOKEN_PATTERN } from '../../src/lib/gate/canaries.js';
import { type GateOptions, type GateRun, runGate } from '../../src/lib/gate/gate.js';
import type { Endpoint, VmHandle, VmSpec } from '../../src/lib/vm/driver.js';
import type { GuestImage } from '../../src/lib/vm/guest/build.js';
import { QemuDriver } from '../../src/lib/vm/qemu/driver.js';
import { defaultGuest } from '../support/guest.js';

/** The allowed endpoint: a real HTTP server on 127.0.0.1 that logs every gate token it receives. */
async function startControl(): Promise<{
  endpoint: Endpoint;
  tokens: () => Promise<string[]>;
  close: () => Promise<void>;
}> {
  const seen: string[] = [];
  const server = createHttpServer((req, res) => {
    const text = `${req.url} ${JSON.stringify(req.headers)}`;
    for (const m of text.matchAll(TOKEN_PATTERN)) seen.push(m[0]);
    res.end('control-ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: { host: '127.0.0.1', port },
    tokens: async () => [...seen],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function freePort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const driver = new QemuDriver();
let guest: GuestImage;
/** Every VM booted here, deleted after the suite. */
const handles: VmHandle[] = [];
type Control = Awaited<ReturnType<typeof startControl>>;

async function boot(name: string, allow: Endpoint[], unsafe?: VmSpec['qemuUnsafe']) {
  const spec: VmSpec = {
    name,
    backend: 'qemu',
    accel: 'tcg',
    cpus: 1,
    memoryMiB: 256,
    allow,
    timeoutMs: 120_000,
    kernel: guest.kernel,
    initrd: guest.initrd,
    ...(unsafe ? { qemuUnsafe: unsafe } : {}),
  };
  const handle = await driver.start(spec);
  handles.push(handle);
  await driver.ready(handle, 120_000);
  return handle;
}

function show(run: GateRun): string {
  return JSON.stringify(
    { verdict: run.verdict, escapes: run.escapes, problems: run.problems },
    null,
    1,
  );
}

describe('sandbox gate against real guests (qemu, TCG)', () => {
  const controls: Control[] = [];
  let scratch: string;
  /** A control endpoint closed after the suite. */
  const newControl = async () => {
    const control = await startControl();
    controls.push(control);
    return control;
  };
  /** The gate on a guest whose one allowed endpoint is `control`. */
  const gateOn = (handle: VmHandle, control: Control, extra: Partial<GateOptions> = {}) =>
    runGate({ driver, handle, allow: [control.endpoint], controlTokens: control.tokens, ...extra });

  beforeAll(async () => {
    guest = await defaultGuest();
    scratch = await mkdtemp(join(tmpdir(), 'vm-tools-gate-test-'));
  }, 180_000);

  afterAll(async () => {
    for (const h of handles) await driver.delete(h);
    for (const c of controls) await c.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('passes the confined default guest, with the control token in the endpoint log, then is broken once the endpoint is down', async () => {
    const control = await newControl();
    const handle = await boot(`t-gate-ok-${process.pid}`, [control.endpoint]);
    const run = await gateOn(handle, control);
    console.log(
      `confined: ${run.probes.length} probes in ${Math.round(run.probeMs)} ms (gate ${Math.round(run.durationMs)} ms)`,
    );
    expect(run.verdict, show(run)).toBe('pass');
    const controlProbe = run.probes.find((p) => p.expect === 'reachable');
    expect(await control.tokens()).toContain(controlProbe?.token);
    expect(run.rows.every((r) => r.verdict === 'ok')).toBe(true);
    expect(
      run.rows.filter((r) => r.expected === 'blocked').every((r) => r.guest.startsWith('blocked')),
    ).toBe(true);

    // A host container-engine socket showing up inside the guest is an exposure.
    await driver.exec(handle, ['sh', '-c', 'mkdir -p /run && touch /run/docker.sock']);
    const exposed = await gateOn(handle, control);
    await driver.exec(handle, ['rm', '-f', '/run/docker.sock']);
    expect(exposed.verdict, show(exposed)).toBe('fail');
    expect(exposed.escapes).toEqual([
      expect.objectContaining({
        probe: 'exposure',
        evidence: 'socket /run/docker.sock inside the guest',
      }),
    ]);

    await control.close();
    const down = await gateOn(handle, control);
    expect(down.verdict, show(down)).toBe('broken');
    // A second run on the same guest reuses its busybox again: seconds, not a 2 MB copy.
    expect(down.durationMs).toBeLessThan(15_000);
    expect(down.escapes).toEqual([]);
    expect(down.problems.join('\n')).toMatch(
      /positive control p1 \(allowed 127\.0\.0\.1:\d+\) failed: guest blocked/,
    );
  });

  it('fails a guest without restrict=on, naming the host loopback reached through the gateway; and a lying runtime does not hide it', async () => {
    const control = await newControl();
    const handle = await boot(`t-gate-leaky-${process.pid}`, [control.endpoint], {
      restrict: false,
    });
    // A host service of its own (an SSH-like banner on loopback): any answer is an escape.
    const sockets = new Set<import('node:net').Socket>();
    const banner = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.end('SSH-2.0-OpenSSH_9.2\r\n');
    });
    await new Promise<void>((resolve) => banner.listen(0, '127.0.0.1', resolve));
    const servicePort = (banner.address() as { port: number }).port;
    const run = await gateOn(handle, control, { servicePorts: [servicePort] });
    // libslirp holds its side of a finished connection open a while: do not wait for it.
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => banner.close(() => resolve()));
    expect(run.escapes).toContainEqual(
      expect.objectContaining({
        address: `10.0.2.2:${servicePort}`,
        target: `a host service on port ${servicePort} (the host address)`,
        evidence: 'no canary hit, but the guest got an answer',
      }),
    );
    expect(run.verdict, show(run)).toBe('fail');
    const loopback = run.escapes.find((e) => e.canary === 'tcp-loopback');
    expect(loopback, show(run)).toMatchObject({
      address: expect.stringMatching(/^10\.0\.2\.2:\d+$/),
    });
    expect(loopback?.target).toMatch(/canary tcp-loopback \(127\.0\.0\.1:\d+\) via the gateway/);
    expect(loopback?.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    // The allowed service itself, reached around its forward, shows up in its own log.
    expect(run.escapes.map((e) => e.target)).toContain(
      `allowed 127.0.0.1:${control.endpoint.port} bypassing its forward`,
    );
    // The host's own witness, whatever the guest says: qemu runs without restrict=on.
    expect(run.escapes).toContainEqual(
      expect.objectContaining({
        probe: 'host-audit',
        target:
          "user networking without restrict=on: the guest reaches the host's loopback and beyond",
      }),
    );
    // IPv6 too: slirp's fec0::2 is the host's ::1.
    expect(run.escapes, show(run)).toContainEqual(
      expect.objectContaining({
        address: expect.stringMatching(/^\[fec0::2\]:\d+$/),
        canary: 'tcp-loopback6',
        peer: expect.stringMatching(/^::1:\d+$/),
      }),
    );
    // 127.0.0.2 is not what slirp maps the gateway to: that canary stays quiet.
    expect(run.escapes.some((e) => e.canary === 'tcp-loopback-alias')).toBe(false);

    // A runtime that runs the probes but reports every one as blocked.
    const liar = join(scratch, 'lying-busybox');
    await writeFile(
      liar,
      `#!/bin/sh\nif [ "$1" = sh ]; then shift; /bin/busybox sh "$@" | /bin/busybox sed 's/ reached / blocked /'; else exec /bin/busybox "$@"; fi\n`,
    );
    await chmod(liar, 0o755);
    const lied = await gateOn(handle, control, { runtime: liar });
    expect(lied.guestStdout).not.toMatch(/ reached /);
    expect(lied.verdict, show(lied)).toBe('fail');
    const hidden = lied.escapes.find((e) => e.canary === 'tcp-loopback');
    expect(hidden?.evidence).toMatch(
      /^token vmg[0-9a-f]{20} at canary tcp-loopback from 127\.0\.0\.1:\d+$/,
    );
    expect(lied.rows.find((r) => r.probe === hidden?.probe)?.guest).toMatch(/^blocked/);
    expect(lied.escapes.some((e) => e.probe === 'host-audit')).toBe(true);
  });

  it('fails a guest with an extra forward to a host port not in allow, naming that forward', async () => {
    const control = await newControl();
    const leakPort = await freePort();
    const handle = await boot(`t-gate-fwd-${process.pid}`, [control.endpoint], {
      extraForwards: [{ host: '127.0.0.1', port: leakPort }],
    });
    const run = await gateOn(handle, control, {
      canaries: [
        { id: 'tcp-loopback', protocol: 'tcp', bind: '127.0.0.1', port: leakPort },
        { id: 'tcp-any', protocol: 'tcp', bind: '0.0.0.0' },
        { id: 'udp-dns-loopback', protocol: 'udp', bind: '127.0.0.1' },
      ],
    });
    expect(run.verdict, show(run)).toBe('fail');
    expect(run.escapes, show(run)).toContainEqual(
      expect.objectContaining({
        address: `10.0.2.101:${leakPort}`,
        target: `forward to 127.0.0.1:${leakPort}, not in allow`,
        canary: 'tcp-loopback',
      }),
    );
    // Only that forward leaks: the confined network around it holds.
    expect(new Set(run.escapes.map((e) => e.address))).toEqual(new Set([`10.0.2.101:${leakPort}`]));
  });

  it('fails when the allowed endpoint is a proxy that carries probes on to the host (CONNECT and absolute-URI GET)', async () => {
    const seen: string[] = [];
    // A sidecar that answers plain requests (the control) and, like an open proxy, forwards the rest.
    const proxy = createHttpServer((req, res) => {
      for (const m of `${req.url}`.matchAll(TOKEN_PATTERN)) seen.push(m[0]);
      if (!req.url?.startsWith('http://')) return void res.end('sidecar-ok\n');
      const url = new URL(req.url);
      const upstream = connect(Number(url.port), url.hostname, () =>
        upstream.write(`GET ${url.pathname} HTTP/1.0\r\n\r\n`),
      );
      upstream.on('error', () => res.destroy());
      upstream.pipe(req.socket);
    });
    proxy.on('connect', (req, client, head) => {
      const [host, port] = String(req.url).split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const endpoint = { host: '127.0.0.1', port: (proxy.address() as { port: number }).port };
    try {
      const handle = await boot(`t-gate-proxy-${process.pid}`, [endpoint]);
      const run = await runGate({
        driver,
        handle,
        allow: [endpoint],
        controlTokens: async () => seen,
      });
      expect(run.verdict, show(run)).toBe('fail');
      for (const how of ['CONNECT', 'absolute-URI GET'])
        expect(run.escapes, show(run)).toContainEqual(
          expect.objectContaining({
            address: `10.0.2.100:${endpoint.port}`,
            target: expect.stringMatching(
              new RegExp(
                `^${how} to canary tcp-loopback \\(127\\.0\\.0\\.1:\\d+\\) through allowed 127\\.0\\.0\\.1:${endpoint.port}$`,
              ),
            ),
            canary: 'tcp-loopback',
            peer: expect.stringMatching(/^127\.0\.0\.1:/),
          }),
        );
      // Nothing else got out: every escape went through the proxy.
      expect(run.escapes.every((e) => e.address === `10.0.2.100:${endpoint.port}`)).toBe(true);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('fails a guest whose resolver is the host: the canary-zone query arrives over TCP, and only that is named', async () => {
    const control = await newControl();
    const dnsPort = await freePort();
    const handle = await boot(`t-gate-dns-${process.pid}`, [control.endpoint], {
      dnsViaHost: { host: '127.0.0.1', port: dnsPort },
    });
    // The guest was handed the host's resolver (as DHCP would): its programs' DNS goes there.
    await driver.exec(handle, [
      'sh',
      '-c',
      'mkdir -p /etc && echo "nameserver 10.0.2.53" > /etc/resolv.conf',
    ]);
    const run = await gateOn(handle, control, {
      canaries: DEFAULT_CANARIES.map((c) => (c.id === 'dns-zone' ? { ...c, port: dnsPort } : c)),
    });
    expect(run.verdict, show(run)).toBe('fail');
    expect(run.escapes, show(run)).toEqual([
      expect.objectContaining({
        address: '10.0.2.53:53',
        target: "the guest's resolver 10.0.2.53 (from /etc/resolv.conf) over TCP",
        canary: 'dns-zone',
        evidence: expect.stringMatching(
          /^token vmg[0-9a-f]{20} at canary dns-zone from 127\.0\.0\.1:\d+$/,
        ),
      }),
      // The host's own witness: the qemu command line has a forward the VM's state does not list.
      expect.objectContaining({
        probe: 'host-audit',
        target: "a forward the VM's state does not list: 10.0.2.53:53",
        evidence: expect.stringMatching(
          /^qemu \(pid \d+\) runs with guestfwd=tcp:10\.0\.2\.53:53-cmd:/,
        ),
      }),
    ]);
    // The answer came back to the guest too; UDP to the same resolver stays dropped by restrict=on.
    const rows = run.rows.filter((r) => r.address === '10.0.2.53:53');
    expect(rows.map((r) => `${r.kind} ${r.guest.split(' ')[0]} ${r.verdict}`).sort()).toEqual([
      'dns blocked ok',
      'dns-tcp reached escape',
    ]);
  });

  it('fails a guest with a host directory shared over 9p, naming the share', async () => {
    const control = await newControl();
    const shared = await mkdtemp(join(scratch, 'shared-'));
    const handle = await boot(`t-gate-9p-${process.pid}`, [control.endpoint], { share: shared });
    const run = await gateOn(handle, control);
    expect(run.verdict, show(run)).toBe('fail');
    expect(run.escapes, show(run)).toEqual([
      // The host sees the share in qemu's command line; the guest sees the 9p device.
      expect.objectContaining({
        probe: 'host-audit',
        target: 'a host directory shared into the guest (9p)',
        evidence: expect.stringContaining(`-virtfs local,path=${shared},mount_tag=hostshare`),
      }),
      expect.objectContaining({
        probe: 'exposure',
        target: 'host share (a 9p/virtiofs device)',
        evidence: expect.stringMatching(/^share 9p virtio\d+ .*inside the guest$/),
      }),
    ]);
  });

  it('fails a guest with a forward to a host engine socket that answers _ping, naming the engine API', async () => {
    const control = await newControl();
    const socket = join(scratch, 'engine.sock');
    const pinged: string[] = [];
    // A stand-in for dockerd/podman's API on a unix socket: _ping answers OK with Api-Version.
    const engine = createHttpServer((req, res) => {
      for (const m of JSON.stringify(req.headers).matchAll(TOKEN_PATTERN)) pinged.push(m[0]);
      if (req.url === '/_ping') {
        res.writeHead(200, { 'Api-Version': '1.41', 'Content-Type': 'text/plain' });
        return void res.end('OK');
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => engine.listen(socket, resolve));
    try {
      const handle = await boot(`t-gate-engine-${process.pid}`, [control.endpoint], {
        extraForwards: [{ host: socket, port: 2375 }],
      });
      const run = await gateOn(handle, control);
      expect(run.verdict, show(run)).toBe('fail');
      const ping = run.escapes.find((e) => e.target.startsWith('a container engine API'));
      expect(ping, show(run)).toMatchObject({
        address: '10.0.2.101:2375',
        target: `a container engine API (_ping) on the forward to ${socket}:2375, not in allow`,
        evidence: 'no canary hit, but the guest got an answer',
      });
      // The engine really was asked: the probe's token is in its request log.
      const probe = run.probes.find((p) => p.id === ping?.probe);
      expect(pinged).toContain(probe?.token);
      // Everything that got out went to that one forward.
      expect(new Set(run.escapes.map((e) => e.address))).toEqual(new Set(['10.0.2.101:2375']));
    } finally {
      engine.closeAllConnections();
      await new Promise<void>((resolve) => engine.close(() => resolve()));
    }
  });

  it('is broken, not pass, when a canary cannot bind', async () => {
    const handle = handles[0] as VmHandle;
    const control = controls[0] as Control;
    const busy = await freePortHeld();
    const run = await gateOn(handle, control, {
      canaries: [{ id: 'tcp-loopback', protocol: 'tcp', bind: '127.0.0.1', port: busy.port }],
    });
    await busy.close();
    expect(run.verdict, show(run)).toBe('broken');
    expect(run.problems.join('\n')).toMatch(
      /canary tcp-loopback could not bind 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
  });

  it('is broken, not pass, when the probe runtime cannot run, and when exec into the guest fails', async () => {
    const handle = handles[0] as VmHandle;
    const control = controls[0] as Control;
    // Not a program at all (as a busybox for the wrong arch would be): it must not be trusted.
    const garbage = join(scratch, 'not-a-binary');
    await writeFile(garbage, randomBytes(4096));
    const noRuntime = await gateOn(handle, control, { runtime: garbage });
    expect(noRuntime.verdict, show(noRuntime)).toBe('broken');
    expect(noRuntime.problems.join('\n')).toMatch(/the probe runtime does not run in the guest/);
    expect(noRuntime.escapes).toEqual([]);

    // The VM is gone: nothing can run inside it.
    await driver.delete(handle);
    const noExec = await gateOn(handle, control);
    expect(noExec.verdict, show(noExec)).toBe('broken');
    expect(noExec.problems.join('\n')).toMatch(/the guest cannot be inspected \(exec failed\)/);
  });
});

async function freePortHeld(): Promise<{ port: number; close: () => Promise<void> }> {
  const s: Server = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return {
    port: (s.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => s.close(() => resolve())),
  };
}
