import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CANARY_ZONE, dnsAnswer, dnsQuery, startCanaries } from '../../src/lib/gate/canaries.js';
import { parseGuestOutput, planProbes, probeScript } from '../../src/lib/gate/probes.js';
import { judge } from '../../src/lib/gate/verdict.js';
import { auditQemuArgv, qemuArgv } from '../../src/lib/vm/qemu/plan.js';

let n = 0;
const token = () => `vmg${String(++n).padStart(20, '0')}`;
const canaries = [
  { id: 'tcp-loopback', protocol: 'tcp' as const, bind: '127.0.0.1', port: 4001 },
  { id: 'udp-dns-loopback', protocol: 'udp' as const, bind: '127.0.0.1', port: 4002 },
];
const allowed = { host: '127.0.0.1', port: 8080 };
const forwards = [{ guestAddress: '10.0.2.100', guestPort: 8080, target: allowed }];

const qemuNet = (f: typeof forwards) => ({ gateway: '10.0.2.2', dns: '10.0.2.3', forwards: f });

function plan() {
  return planProbes({ canaries, network: qemuNet(forwards), allow: [allowed], token }).probes;
}
const allBlocked = (probes: ReturnType<typeof plan>, reached: string[] = []) =>
  parseGuestOutput(
    `${probes.map((p) => `PROBE ${p.id} ${reached.includes(p.id) || p.expect === 'reachable' ? 'reached' : 'blocked'} 1`).join('\n')}\nDONE\n`,
  );

describe('gate plan', () => {
  it('probes the control, the control around its forward, each canary via the gateway and the forwarded address, DNS and metadata', () => {
    const probes = plan();
    expect(probes.map((p) => `${p.kind} ${p.address}:${p.port} ${p.expect}`)).toEqual([
      'http 10.0.2.100:8080 reachable',
      'connect 10.0.2.100:8080 blocked',
      'proxy-get 10.0.2.100:8080 blocked',
      'http 10.0.2.2:8080 blocked',
      'tcp 10.0.2.2:4001 blocked',
      'dns 10.0.2.2:4002 blocked',
      'tcp 10.0.2.100:4001 blocked',
      'dns 10.0.2.100:4002 blocked',
      'dns 10.0.2.3:53 blocked',
      'dns-tcp 10.0.2.3:53 blocked',
      'dns-tcp 10.0.2.2:53 blocked',
      'dns 8.8.8.8:53 blocked',
      'dns-tcp 8.8.8.8:53 blocked',
      'dns 10.0.2.3:4002 blocked',
      'engine 10.0.2.2:2375 blocked',
      ...[22, 80, 443, 3306, 5432, 6379, 8080].map((port) => `service 10.0.2.2:${port} blocked`),
      'icmp 8.8.8.8:0 blocked',
      'http 169.254.169.254:80 blocked',
    ]);
    expect(new Set(probes.map((p) => p.token)).size).toBe(probes.length);
    const script = probeScript(probes);
    // Every probe runs in the background, and only the copied-in runtime is used.
    expect(script.match(/ &$/gm)).toHaveLength(probes.length);
    expect(script).not.toMatch(/^\s*(nc|nslookup|grep|sleep|mkfifo) /m);
    // Through the allowed endpoint: a CONNECT tunnel and an absolute-URI GET to the canary.
    expect(script).toContain(
      `'CONNECT 127.0.0.1:4001 HTTP/1.1\\r\\nHost: 127.0.0.1:4001\\r\\n\\r\\nGATE ${probes[1]?.token}\\n' 'CANARY ${probes[1]?.token}'`,
    );
  });

  it("adds the guest's resolvers, the runner's LAN address and an engine _ping on every forward not in allow", () => {
    const extra = {
      guestAddress: '10.0.2.101',
      guestPort: 2375,
      target: { host: '/run/e.sock', port: 2375 },
    };
    const any = { id: 'tcp-any', protocol: 'tcp' as const, bind: '0.0.0.0', port: 4003 };
    const six = { id: 'tcp-loopback6', protocol: 'tcp' as const, bind: '::1', port: 4004 };
    const probes = planProbes({
      canaries: [...canaries, any, six],
      network: { ...qemuNet([...forwards, extra]), gateway6: 'fec0::2' },
      allow: [allowed],
      resolvers: ['10.0.2.3', '10.0.2.53'],
      hostAddresses: ['192.168.1.7'],
      token,
    }).probes;
    const lines = probes.map((p) => `${p.kind} ${p.address}:${p.port} ${p.target}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        "dns 10.0.2.53:53 the guest's resolver 10.0.2.53 (from /etc/resolv.conf)",
        "dns-tcp 10.0.2.53:53 the guest's resolver 10.0.2.53 (from /etc/resolv.conf) over TCP",
        'engine 10.0.2.101:2375 a container engine API (_ping) on the forward to /run/e.sock:2375, not in allow',
        "tcp 192.168.1.7:4003 canary tcp-any (0.0.0.0:4003) via the runner's address 192.168.1.7",
        "icmp 192.168.1.7:0 ICMP echo to the runner's address 192.168.1.7",
        "service 192.168.1.7:22 a host service on port 22 (the runner's address 192.168.1.7)",
        "tcp fec0::2:4004 canary tcp-loopback6 ([::1]:4004) via the host's IPv6 address",
      ]),
    );
    // IPv6 canaries only through the IPv6 address, IPv4 ones never through it.
    expect(lines.filter((l) => l.includes('4004'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('fec0::2'))).toHaveLength(1);
    // slirp's own DNS address is probed once, not again as a resolv.conf entry.
    expect(lines.filter((l) => l.startsWith('dns 10.0.2.3:53 '))).toHaveLength(1);
    const script = probeScript(probes);
    const dnsTcp = probes.find((p) => p.kind === 'dns-tcp' && p.address === '10.0.2.53');
    // DNS over TCP: a length-prefixed query for <token>.gate.invalid, written as octal escapes.
    expect(script).toMatch(
      new RegExp(
        `^stream ${dnsTcp?.id} 10\\.0\\.2\\.53 53 '(\\\\[0-7]{3})+' '${dnsTcp?.token}' &$`,
        'm',
      ),
    );
    expect(script).toContain('GET /_ping HTTP/1.0');
    // The IPv6 probe first waits for the guest's IPv6 address, in its own background job.
    expect(script).toMatch(/^\{ v6wait; stream p\d+ fec0::2 4004 .*; \} &$/m);
  });

  it('reports an allowed endpoint without a forward as unmapped', () => {
    const r = planProbes({ canaries, network: qemuNet([]), allow: [allowed], token });
    expect(r.unmapped).toEqual([allowed]);
  });
});

describe('gate verdict', () => {
  const base = { hits: [], canaryFailures: [], problems: [] };

  it('passes when the control is logged and nothing reached a canary', () => {
    const probes = plan();
    const r = judge({
      ...base,
      probes,
      guest: allBlocked(probes),
      controlTokens: new Set([probes[0]?.token as string]),
    });
    expect(r).toMatchObject({ verdict: 'pass', escapes: [], problems: [] });
  });

  it('fails on a canary hit even when the guest says blocked, naming canary, token and peer', () => {
    const probes = plan();
    const leak = probes.find((p) => p.kind === 'tcp' && p.address === '10.0.2.2');
    const r = judge({
      ...base,
      probes,
      guest: allBlocked(probes),
      controlTokens: new Set([probes[0]?.token as string]),
      hits: [{ canary: 'tcp-loopback', token: leak?.token, peer: '127.0.0.1:5555', atMs: 1 }],
    });
    expect(r.verdict).toBe('fail');
    expect(r.escapes).toEqual([
      expect.objectContaining({
        probe: leak?.id,
        address: '10.0.2.2:4001',
        canary: 'tcp-loopback',
        peer: '127.0.0.1:5555',
      }),
    ]);
  });

  it('fails on a guest answer without a hit, and on a token-less connection or an exposure', () => {
    const probes = plan();
    const meta = probes.at(-1);
    const controlTokens = new Set([probes[0]?.token as string]);
    expect(
      judge({ ...base, probes, guest: allBlocked(probes, [meta?.id as string]), controlTokens })
        .escapes[0],
    ).toMatchObject({
      target: 'cloud metadata service',
      evidence: 'no canary hit, but the guest got an answer',
    });
    const tokenless = judge({
      ...base,
      probes,
      guest: allBlocked(probes),
      controlTokens,
      hits: [{ canary: 'tcp-loopback', token: undefined, peer: '127.0.0.1:1', atMs: 1 }],
    });
    expect(tokenless.verdict).toBe('fail');
    const exposed = parseGuestOutput(
      `${probes.map((p) => `PROBE ${p.id} blocked 1`).join('\n')}\nEXPOSE mount 9p /mnt/host\nDONE\n`,
    );
    expect(judge({ ...base, probes, guest: exposed, controlTokens }).escapes.at(-1)?.evidence).toBe(
      'mount 9p /mnt/host inside the guest',
    );
  });

  it('is broken when a control fails, a probe is missing, the script was cut off or a canary did not bind', () => {
    const probes = plan();
    const controlTokens = new Set([probes[0]?.token as string]);
    expect(
      judge({ ...base, probes, guest: allBlocked(probes), controlTokens: new Set() }).verdict,
    ).toBe('broken');
    const missing = parseGuestOutput(`PROBE p1 reached 0\nDONE\n`);
    expect(judge({ ...base, probes, guest: missing, controlTokens }).problems).toContain(
      'probe p4 (allowed 127.0.0.1:8080 bypassing its forward) reported nothing',
    );
    const cut = parseGuestOutput(
      probes
        .map((p) => `PROBE ${p.id} ${p.expect === 'reachable' ? 'reached' : 'blocked'} 0`)
        .join('\n'),
    );
    expect(judge({ ...base, probes, guest: cut, controlTokens }).verdict).toBe('broken');
    const unbound = judge({
      ...base,
      probes,
      guest: allBlocked(probes),
      controlTokens,
      canaryFailures: [{ id: 'tcp-loopback', bind: '127.0.0.1:4001', error: 'EADDRINUSE' }],
    });
    expect(unbound.verdict).toBe('broken');
    expect(judge({ ...base, probes, guest: undefined, controlTokens }).verdict).toBe('broken');
  });
});

describe('DNS canary (real sockets on 127.0.0.1)', () => {
  it('logs the token of a canary-zone query over UDP and over TCP, and answers both', async () => {
    const set = await startCanaries([{ id: 'dns-zone', protocol: 'dns', bind: '127.0.0.1' }]);
    try {
      const port = set.canaries[0]?.port as number;
      const udpName = `${token()}.${CANARY_ZONE}`;
      const udpAnswer = await new Promise<Buffer>((resolve, reject) => {
        const s = createSocket('udp4');
        s.on('message', (m) => {
          s.close();
          resolve(m);
        });
        s.on('error', reject);
        s.send(dnsQuery(udpName, 7), port, '127.0.0.1');
      });
      expect(udpAnswer.readUInt16BE(0)).toBe(7);
      expect(udpAnswer.readUInt16BE(6)).toBe(1);
      const tcpName = `${token()}.${CANARY_ZONE}`;
      const query = dnsQuery(tcpName, 9);
      const framed = Buffer.concat([Buffer.from([0, query.length]), query]);
      const tcpAnswer = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const c = connect(port, '127.0.0.1', () => c.write(framed));
        c.on('data', (d) => chunks.push(d));
        c.on('end', () => resolve(Buffer.concat(chunks)));
        c.on('error', reject);
      });
      expect(tcpAnswer.readUInt16BE(0)).toBe(tcpAnswer.length - 2);
      expect(tcpAnswer.readUInt16BE(2)).toBe(9);
      expect(set.hits().map((h) => `${h.canary} ${h.token}`)).toEqual([
        `dns-zone ${udpName.split('.')[0]}`,
        `dns-zone ${tcpName.split('.')[0]}`,
      ]);
    } finally {
      await set.close();
    }
  });
});

describe('DNS canary answer', () => {
  it('answers an A query with one record and the same id and question', () => {
    const q = Buffer.from('12340100000100000000000003766d670000010001', 'hex');
    const a = dnsAnswer(q) as Buffer;
    expect(a.readUInt16BE(0)).toBe(0x1234);
    expect(a.readUInt16BE(6)).toBe(1);
    expect(a.subarray(12, q.length).equals(q.subarray(12))).toBe(true);
  });
});

describe('qemu leak knob (gate tests only)', () => {
  const plan = {
    name: 'n',
    accel: 'tcg' as const,
    cpus: 1,
    memoryMiB: 256,
    kernel: '/k',
    initrd: '/i',
    workDir: '/w',
    forwards,
    relay: ['node', '/w/relay.cjs'],
  };
  const netdev = (argv: string[]) => argv[argv.indexOf('-netdev') + 1];
  it("the host's audit of a qemu command line finds no restrict, unlisted forwards and shares, and nothing in ours", () => {
    expect(auditQemuArgv(qemuArgv(plan), forwards)).toEqual([]);
    const leaky = qemuArgv({
      ...plan,
      restrict: false,
      unlisted: [
        { guestAddress: '10.0.2.53', guestPort: 53, target: { host: '127.0.0.1', port: 5353 } },
      ],
      share: '/srv/share',
    });
    expect(auditQemuArgv(leaky, forwards).map((f) => f.what)).toEqual([
      "user networking without restrict=on: the guest reaches the host's loopback and beyond",
      "a forward the VM's state does not list: 10.0.2.53:53",
      'a host directory shared into the guest (9p)',
    ]);
    expect(
      auditQemuArgv(['-device', 'vhost-user-fs-pci,chardev=c,tag=t'], []).map((f) => f.arg),
    ).toEqual(['-device vhost-user-fs-pci,chardev=c,tag=t']);
  });

  it('keeps restrict=on unless a test asks for a leaky guest', () => {
    expect(netdev(qemuArgv(plan))).toMatch(/^user,id=net0,restrict=on,guestfwd=/);
    expect(netdev(qemuArgv({ ...plan, restrict: true }))).toContain('restrict=on');
    expect(netdev(qemuArgv({ ...plan, restrict: false }))).not.toContain('restrict');
  });
});
