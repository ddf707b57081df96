/**
 * The probe plan and the guest-side script that runs it. Pure: the plan comes
 * from the canaries' ports, the VM's forwards and the allow list; the script is
 * text for busybox `sh`, using only the busybox the gate copied in.
 */
import { randomBytes } from 'node:crypto';
import type { Endpoint, GuestNetwork } from '../vm/driver.js';
import { CANARY_REPLY, CANARY_ZONE, type Canary, dnsQuery } from './canaries.js';

export const METADATA_ADDRESS = '169.254.169.254';
/** A DNS answer from here means the guest has a path to the internet. */
export const PUBLIC_RESOLVER = '8.8.8.8';

/** The Docker API's plain-TCP port, the usual way an engine gets exposed to a VM. */
export const ENGINE_PORT = 2375;

/**
 * `connect` / `proxy-get` ask an allowed endpoint to carry the probe to a canary (a
 * proxy sidecar); `dns` / `dns-tcp` ask for `<token>.<canary zone>` over UDP / TCP;
 * `engine` asks for a container engine's `_ping`; `icmp` is one echo request.
 */
export type ProbeKind =
  | 'tcp'
  | 'http'
  | 'dns'
  | 'dns-tcp'
  | 'connect'
  | 'proxy-get'
  | 'engine'
  | 'icmp'
  | 'service';

/** Host services a guest must not reach (SSH, web, databases, caches): any answer is an escape. */
export const SERVICE_PORTS: readonly number[] = [22, 80, 443, 3306, 5432, 6379, 8080];

export interface Probe {
  id: string;
  kind: ProbeKind;
  address: string;
  port: number;
  token: string;
  expect: 'reachable' | 'blocked';
  /** What a reader of the summary needs: which host thing this path would reach. */
  target: string;
  /** For a positive control: the allowed endpoint it must reach. */
  control?: Endpoint;
  /** For `connect` / `proxy-get`: the canary the endpoint is asked to reach. */
  via?: { host: string; port: number };
}

export const newToken = (): string => `vmg${randomBytes(10).toString('hex')}`;

export interface PlanInput {
  canaries: readonly Canary[];
  /** How the guest sees the host (the VM driver's guestNetwork). */
  network: GuestNetwork;
  allow: readonly Endpoint[];
  /** The nameservers in the guest's /etc/resolv.conf: the path its programs' DNS takes. */
  resolvers?: readonly string[];
  /** The runner's own non-loopback addresses (its LAN side). */
  hostAddresses?: readonly string[];
  /** Host service ports probed on the host address and the LAN addresses (default SERVICE_PORTS). */
  servicePorts?: readonly number[];
  token?: () => string;
}

export interface ProbePlan {
  probes: Probe[];
  /** Allowed endpoints the VM has no forward for: no control can run, so the gate cannot judge. */
  unmapped: Endpoint[];
}

const same = (a: Endpoint, b: Endpoint) => a.host === b.host && a.port === b.port;

export function planProbes(input: PlanInput): ProbePlan {
  const token = input.token ?? newToken;
  const { gateway, gateway6, dns, forwards } = input.network;
  const probes: Probe[] = [];
  const add = (p: Omit<Probe, 'id' | 'token'>) =>
    probes.push({ ...p, id: `p${probes.length + 1}`, token: token() });
  const unmapped: Endpoint[] = [];
  const v6 = (c: Canary) => c.bind.includes(':');
  // IPv4 paths reach IPv4 canaries; the IPv6 ones are probed through the host's IPv6 address.
  const tcp = input.canaries.filter((c) => c.protocol === 'tcp' && !v6(c));
  const tcp6 = input.canaries.filter((c) => c.protocol === 'tcp' && v6(c));
  const udp = input.canaries.filter((c) => c.protocol !== 'tcp');

  for (const endpoint of input.allow) {
    const forward = forwards.find((f) => same(f.target, endpoint));
    if (!forward) {
      unmapped.push(endpoint);
      continue;
    }
    add({
      kind: 'http',
      address: forward.guestAddress,
      port: forward.guestPort,
      expect: 'reachable',
      target: `allowed ${endpoint.host}:${endpoint.port}`,
      control: endpoint,
    });
    // The allowed endpoint is often a proxy: ask it to carry a probe to each TCP canary.
    for (const c of tcp) {
      const via = { host: c.bind === '0.0.0.0' ? '127.0.0.1' : c.bind, port: c.port };
      for (const kind of ['connect', 'proxy-get'] as const)
        add({
          kind,
          address: forward.guestAddress,
          port: forward.guestPort,
          expect: 'blocked',
          target: `${kind === 'connect' ? 'CONNECT' : 'absolute-URI GET'} to canary ${c.id} (${via.host}:${via.port}) through allowed ${endpoint.host}:${endpoint.port}`,
          via,
        });
    }
    // The allowed service itself, but straight through the gateway instead of its forward.
    add({
      kind: 'http',
      address: gateway,
      port: endpoint.port,
      expect: 'blocked',
      target: `allowed ${endpoint.host}:${endpoint.port} bypassing its forward`,
      control: endpoint,
    });
  }
  for (const c of tcp)
    add({
      kind: 'tcp',
      address: gateway,
      port: c.port,
      expect: 'blocked',
      target: `canary ${c.id} (${c.bind}:${c.port}) via the gateway`,
    });
  if (gateway6)
    for (const c of tcp6)
      add({
        kind: 'tcp',
        address: gateway6,
        port: c.port,
        expect: 'blocked',
        target: `canary ${c.id} ([${c.bind}]:${c.port}) via the host's IPv6 address`,
      });
  for (const c of udp)
    add({
      kind: 'dns',
      address: gateway,
      port: c.port,
      expect: 'blocked',
      target: `UDP/DNS canary ${c.id} (${c.bind}:${c.port}) via the gateway`,
    });
  for (const f of forwards) {
    const allowed = input.allow.some((e) => same(e, f.target));
    if (!allowed)
      add({
        kind: 'http',
        address: f.guestAddress,
        port: f.guestPort,
        expect: 'blocked',
        target: `forward to ${f.target.host}:${f.target.port}, not in allow`,
      });
    // Allowlists are often IP-only: every other port on a forwarded address must be shut.
    for (const c of tcp)
      if (c.port !== f.guestPort)
        add({
          kind: 'tcp',
          address: f.guestAddress,
          port: c.port,
          expect: 'blocked',
          target: `canary ${c.id} (${c.bind}:${c.port}) via the forwarded address`,
        });
    for (const c of udp)
      add({
        kind: 'dns',
        address: f.guestAddress,
        port: c.port,
        expect: 'blocked',
        target: `UDP/DNS canary ${c.id} via the forwarded address`,
      });
  }
  // Canary-zone queries along every path a name could take out: slirp's DNS address,
  // the gateway, a public resolver, and whatever the guest's resolv.conf names.
  const resolvers = [...new Set([...(dns ? [dns] : []), ...(input.resolvers ?? [])])];
  const dnsTarget = (address: string) =>
    address === dns
      ? "the backend's DNS forwarder (the host's resolver)"
      : `the guest's resolver ${address} (from /etc/resolv.conf)`;
  for (const address of resolvers) {
    add({ kind: 'dns', address, port: 53, expect: 'blocked', target: dnsTarget(address) });
    add({
      kind: 'dns-tcp',
      address,
      port: 53,
      expect: 'blocked',
      target: `${dnsTarget(address)} over TCP`,
    });
  }
  add({
    kind: 'dns-tcp',
    address: gateway,
    port: 53,
    expect: 'blocked',
    target: 'a DNS server on the host (the gateway) over TCP',
  });
  add({
    kind: 'dns',
    address: PUBLIC_RESOLVER,
    port: 53,
    expect: 'blocked',
    target: 'a public DNS resolver (raw IP, no proxy)',
  });
  add({
    kind: 'dns-tcp',
    address: PUBLIC_RESOLVER,
    port: 53,
    expect: 'blocked',
    target: 'a public DNS resolver over TCP (raw IP, no proxy)',
  });
  if (dns)
    for (const c of udp)
      add({
        kind: 'dns',
        address: dns,
        port: c.port,
        expect: 'blocked',
        target: `UDP/DNS canary ${c.id} via the DNS address`,
      });
  // A container engine: its TCP port on the host, and any forward that is not allowed.
  add({
    kind: 'engine',
    address: gateway,
    port: ENGINE_PORT,
    expect: 'blocked',
    target: `a container engine API on the host (port ${ENGINE_PORT}, _ping)`,
  });
  for (const f of forwards)
    if (!input.allow.some((e) => same(e, f.target)))
      add({
        kind: 'engine',
        address: f.guestAddress,
        port: f.guestPort,
        expect: 'blocked',
        target: `a container engine API (_ping) on the forward to ${f.target.host}:${f.target.port}, not in allow`,
      });
  // Real services on the host (no canary there: any byte back is the answer).
  const services = input.servicePorts ?? SERVICE_PORTS;
  for (const address of [gateway, ...(input.hostAddresses ?? [])])
    for (const port of services)
      add({
        kind: 'service',
        address,
        port,
        expect: 'blocked',
        target: `a host service on port ${port} (${address === gateway ? 'the host address' : `the runner's address ${address}`})`,
      });
  // The runner's LAN side: a host service bound to 0.0.0.0 answers there too.
  const any = tcp.filter((c) => c.bind === '0.0.0.0' || c.bind === '::');
  for (const address of input.hostAddresses ?? []) {
    for (const c of any)
      add({
        kind: 'tcp',
        address,
        port: c.port,
        expect: 'blocked',
        target: `canary ${c.id} (${c.bind}:${c.port}) via the runner's address ${address}`,
      });
    add({
      kind: 'icmp',
      address,
      port: 0,
      expect: 'blocked',
      target: `ICMP echo to the runner's address ${address}`,
    });
  }
  add({
    kind: 'icmp',
    address: PUBLIC_RESOLVER,
    port: 0,
    expect: 'blocked',
    target: 'ICMP echo to a public address',
  });
  add({
    kind: 'http',
    address: METADATA_ADDRESS,
    port: 80,
    expect: 'blocked',
    target: 'cloud metadata service',
  });
  return { probes, unmapped };
}

export const GUEST_GATE_DIR = '/tmp/vm-tools-gate';
export const GUEST_RUNTIME = `${GUEST_GATE_DIR}/busybox`;
export const GUEST_SCRIPT = `${GUEST_GATE_DIR}/probes.sh`;
export const RUNTIME_CHECK = 'vm-tools-gate-runtime-ok';

export interface ScriptOptions {
  /** Seconds a TCP probe keeps its side open waiting for an answer. */
  waitS?: number;
  /** Hard cap per probe, whatever nc does. */
  capS?: number;
  /** Host container-engine sockets whose presence in the guest is an exposure. */
  socketPaths?: readonly string[];
  /** The benchmark's baseline only: one probe after another. */
  sequential?: boolean;
}

export const ENGINE_SOCKETS = [
  '/var/run/docker.sock',
  '/run/docker.sock',
  '/run/podman/podman.sock',
  '/run/containerd/containerd.sock',
];

/** Bytes as printf escapes (octal): binary payloads fit in the script's single quotes. */
const printfEscape = (bytes: Buffer): string =>
  [...bytes].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');

/** The name every DNS probe asks for: the token under the canary zone. */
export const probeName = (p: Probe): string => `${p.token}.${CANARY_ZONE}`;

function payload(p: Probe): string {
  const via = p.via ? `${p.via.host}:${p.via.port}` : '';
  if (p.kind === 'connect')
    return `CONNECT ${via} HTTP/1.1\\r\\nHost: ${via}\\r\\n\\r\\nGATE ${p.token}\\n`;
  if (p.kind === 'proxy-get')
    return `GET http://${via}/vm-tools-gate/${p.token} HTTP/1.0\\r\\nHost: ${via}\\r\\n\\r\\n`;
  if (p.kind === 'engine')
    return `GET /_ping HTTP/1.0\\r\\nHost: ${p.address}\\r\\nX-Gate-Token: ${p.token}\\r\\n\\r\\n`;
  if (p.kind === 'dns-tcp') {
    const query = dnsQuery(probeName(p));
    const length = Buffer.alloc(2);
    length.writeUInt16BE(query.length);
    return printfEscape(Buffer.concat([length, query]));
  }
  // Cloud metadata services answer only with their header (GCP, Azure); harmless elsewhere.
  const metadata =
    p.address === METADATA_ADDRESS ? 'Metadata-Flavor: Google\\r\\nMetadata: true\\r\\n' : '';
  return p.kind === 'http'
    ? `GET /vm-tools-gate/${p.token} HTTP/1.0\\r\\nHost: ${p.address}\\r\\nX-Gate-Token: ${p.token}\\r\\n${metadata}\\r\\n`
    : `GATE ${p.token}\\n`;
}

/**
 * One background job per probe, all at once; each prints `PROBE ID RESULT RC`
 * (RESULT reached|blocked). nc quits when its stdin ends, possibly before a
 * forward's relay has connected, so stdin is a FIFO held open for `waitS`.
 * Then host-exposure lines: `EXPOSE mount FSTYPE PATH`, `EXPOSE socket PATH`.
 */
export function probeScript(probes: readonly Probe[], options: ScriptOptions = {}): string {
  const waitS = options.waitS ?? 3;
  const capS = options.capS ?? waitS + 2;
  const sockets = options.socketPaths ?? ENGINE_SOCKETS;
  const lines = [
    `B=${GUEST_RUNTIME}`,
    `D=${GUEST_GATE_DIR}/run.$$`,
    '$B mkdir -p $D',
    'stream() {',
    '  f=$D/$1.fifo; $B mkfifo $f',
    `  ( $B printf "$4"; exec $B sleep ${waitS} ) > $f & s=$!`,
    `  $B timeout ${capS} $B nc -w ${waitS} $2 $3 < $f > $D/$1.out 2>/dev/null; rc=$?`,
    '  kill $s 2>/dev/null',
    '  if $B grep -q "$5" $D/$1.out; then r=reached; else r=blocked; fi',
    '  echo "PROBE $1 $r $rc"',
    '}',
    // Any answer is a way out, NXDOMAIN included: a resolver that said "no such name" was reached.
    'dns() {',
    `  $B timeout ${capS} $B nslookup -timeout=1 -retry=1 $4 $2:$3 > $D/$1.out 2>&1; rc=$?`,
    '  if [ $rc = 0 ] || $B grep -qE "NXDOMAIN|SERVFAIL|REFUSED|NOTIMP" $D/$1.out; then r=reached; else r=blocked; fi',
    '  echo "PROBE $1 $r $rc"',
    '}',
    // Waits (up to ~10 s) for a usable IPv6 address: global or site scope, not tentative.
    'v6wait() {',
    '  [ -e /proc/net/if_inet6 ] || return 1',
    '  for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do',
    '    while read -r a x l s f n; do case $s in 00|40) [ $((0x$f & 0x40)) = 0 ] && return 0 ;; esac; done < /proc/net/if_inet6 2>/dev/null',
    '    $B sleep 0.5',
    '  done',
    '}',
    'icmp() {',
    `  $B timeout ${capS} $B ping -c 1 -W ${waitS} $2 > /dev/null 2>&1; rc=$?`,
    '  if [ $rc = 0 ]; then r=reached; else r=blocked; fi',
    '  echo "PROBE $1 $r $rc"',
    '}',
  ];
  const bg = options.sequential ? '' : ' &';
  for (const p of probes) {
    if (p.kind === 'dns') lines.push(`dns ${p.id} ${p.address} ${p.port} ${probeName(p)}${bg}`);
    else if (p.kind === 'icmp') lines.push(`icmp ${p.id} ${p.address}${bg}`);
    else {
      const stream = `stream ${p.id} ${p.address} ${p.port} '${payload(p)}' '${answerPattern(p)}'`;
      // An IPv6 path exists only once the guest's address is configured (SLAAC, seconds after boot).
      const v6 = p.address.includes(':') && p.address !== '::1';
      lines.push(v6 ? `{ v6wait; ${stream}; }${bg}` : `${stream}${bg}`);
    }
  }
  lines.push(
    'wait',
    'while read -r dev mnt fs rest; do case "$fs" in 9p|virtiofs) echo "EXPOSE mount $fs $mnt" ;; esac; done < /proc/mounts',
    `for p in ${sockets.join(' ')}; do [ -e "$p" ] && echo "EXPOSE socket $p"; done`,
    // A shared host directory shows up as a virtio device (9p: 9, virtiofs: 26) even unmounted.
    'for d in /sys/bus/virtio/devices/*; do case "$($B cat $d/device 2>/dev/null)" in 0x0009) echo "EXPOSE share 9p $($B basename $d) $($B cat $d/mount_tag 2>/dev/null | $B tr -d \'\\000\')" ;; 0x001a) echo "EXPOSE share virtiofs $($B basename $d)" ;; esac; done',
    '$B rm -rf $D',
    'echo DONE',
  );
  return `${lines.join('\n')}\n`;
}

/** What proves the probe got through: an HTTP status line, or the canary's own reply (through a proxy, anywhere in the answer). */
function answerPattern(p: Probe): string {
  if (p.kind === 'http') return '^HTTP/';
  // Docker and podman both answer _ping with an Api-Version header.
  if (p.kind === 'engine') return 'Api-Version:';
  // A DNS answer repeats the question, and the question holds the token.
  if (p.kind === 'dns-tcp') return p.token;
  if (p.kind === 'tcp') return `^${CANARY_REPLY}`;
  // A banner, a reply, an error page: whatever answers, something is there.
  if (p.kind === 'service') return '.';
  return `${CANARY_REPLY} ${p.token}`;
}

export interface GuestReport {
  results: Map<string, { result: 'reached' | 'blocked'; rc: number }>;
  exposures: { what: 'mount' | 'socket' | 'share'; detail: string }[];
  /** The script reached its end (a cut-off run means skipped probes). */
  complete: boolean;
}

export function parseGuestOutput(stdout: string): GuestReport {
  const results: GuestReport['results'] = new Map();
  const exposures: GuestReport['exposures'] = [];
  let complete = false;
  for (const line of stdout.split('\n')) {
    const probe = /^PROBE (\S+) (reached|blocked) (\d+)$/.exec(line);
    if (probe)
      results.set(probe[1] as string, {
        result: probe[2] as 'reached' | 'blocked',
        rc: Number(probe[3]),
      });
    const expose = /^EXPOSE (mount|socket|share) (.+)$/.exec(line);
    if (expose)
      exposures.push({
        what: expose[1] as 'mount' | 'socket' | 'share',
        detail: expose[2] as string,
      });
    if (line === 'DONE') complete = true;
  }
  return { results, exposures, complete };
}
