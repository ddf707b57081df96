/**
 * The probe plan and the guest-side script that runs it. Pure: the plan comes
 * from the canaries' ports, the VM's forwards and the allow list; the script is
 * text for busybox `sh`, using only the busybox the gate copied in.
 */
import { randomBytes } from 'node:crypto';
import type { Endpoint } from '../vm/driver.js';
import type { Forward } from '../vm/qemu/plan.js';
import { CANARY_REPLY, type Canary } from './canaries.js';

/** libslirp's virtual host (the runner itself) and its DNS address. */
export const GUEST_GATEWAY = '10.0.2.2';
export const GUEST_DNS = '10.0.2.3';
export const METADATA_ADDRESS = '169.254.169.254';
/** A DNS answer from here means the guest has a path to the internet. */
export const PUBLIC_RESOLVER = '8.8.8.8';

/** `connect` / `proxy-get` ask an allowed endpoint to carry the probe to a canary (a proxy sidecar). */
export type ProbeKind = 'tcp' | 'http' | 'dns' | 'connect' | 'proxy-get';

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
  forwards: readonly Forward[];
  allow: readonly Endpoint[];
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
  const probes: Probe[] = [];
  const add = (p: Omit<Probe, 'id' | 'token'>) =>
    probes.push({ ...p, id: `p${probes.length + 1}`, token: token() });
  const unmapped: Endpoint[] = [];
  const tcp = input.canaries.filter((c) => c.protocol === 'tcp');
  const udp = input.canaries.filter((c) => c.protocol === 'udp');

  for (const endpoint of input.allow) {
    const forward = input.forwards.find((f) => same(f.target, endpoint));
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
      address: GUEST_GATEWAY,
      port: endpoint.port,
      expect: 'blocked',
      target: `allowed ${endpoint.host}:${endpoint.port} bypassing its forward`,
      control: endpoint,
    });
  }
  for (const c of tcp)
    add({
      kind: 'tcp',
      address: GUEST_GATEWAY,
      port: c.port,
      expect: 'blocked',
      target: `canary ${c.id} (${c.bind}:${c.port}) via the gateway`,
    });
  for (const c of udp)
    add({
      kind: 'dns',
      address: GUEST_GATEWAY,
      port: c.port,
      expect: 'blocked',
      target: `UDP/DNS canary ${c.id} (${c.bind}:${c.port}) via the gateway`,
    });
  for (const f of input.forwards) {
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
  add({
    kind: 'dns',
    address: GUEST_DNS,
    port: 53,
    expect: 'blocked',
    target: "slirp's DNS forwarder (the host's resolver)",
  });
  add({
    kind: 'dns',
    address: PUBLIC_RESOLVER,
    port: 53,
    expect: 'blocked',
    target: 'a public DNS resolver (raw IP, no proxy)',
  });
  for (const c of udp)
    add({
      kind: 'dns',
      address: GUEST_DNS,
      port: c.port,
      expect: 'blocked',
      target: `UDP/DNS canary ${c.id} via the DNS address`,
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

function payload(p: Probe): string {
  const via = p.via ? `${p.via.host}:${p.via.port}` : '';
  if (p.kind === 'connect')
    return `CONNECT ${via} HTTP/1.1\\r\\nHost: ${via}\\r\\n\\r\\nGATE ${p.token}\\n`;
  if (p.kind === 'proxy-get')
    return `GET http://${via}/vm-tools-gate/${p.token} HTTP/1.0\\r\\nHost: ${via}\\r\\n\\r\\n`;
  return p.kind === 'http'
    ? `GET /vm-tools-gate/${p.token} HTTP/1.0\\r\\nHost: ${p.address}\\r\\nX-Gate-Token: ${p.token}\\r\\n\\r\\n`
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
    'dns() {',
    `  $B timeout ${capS} $B nslookup -timeout=1 -retry=1 $4.gate.invalid $2:$3 > $D/$1.out 2>&1; rc=$?`,
    '  if [ $rc = 0 ]; then r=reached; else r=blocked; fi',
    '  echo "PROBE $1 $r $rc"',
    '}',
  ];
  const bg = options.sequential ? '' : ' &';
  for (const p of probes) {
    if (p.kind === 'dns') lines.push(`dns ${p.id} ${p.address} ${p.port} ${p.token}${bg}`);
    else
      lines.push(
        `stream ${p.id} ${p.address} ${p.port} '${payload(p)}' '${answerPattern(p)}'${bg}`,
      );
  }
  lines.push(
    'wait',
    'while read -r dev mnt fs rest; do case "$fs" in 9p|virtiofs) echo "EXPOSE mount $fs $mnt" ;; esac; done < /proc/mounts',
    `for p in ${sockets.join(' ')}; do [ -e "$p" ] && echo "EXPOSE socket $p"; done`,
    '$B rm -rf $D',
    'echo DONE',
  );
  return `${lines.join('\n')}\n`;
}

/** What proves the probe got through: an HTTP status line, or the canary's own reply (through a proxy, anywhere in the answer). */
function answerPattern(p: Probe): string {
  if (p.kind === 'http') return '^HTTP/';
  if (p.kind === 'tcp') return `^${CANARY_REPLY}`;
  return `${CANARY_REPLY} ${p.token}`;
}

export interface GuestReport {
  results: Map<string, { result: 'reached' | 'blocked'; rc: number }>;
  exposures: { what: 'mount' | 'socket'; detail: string }[];
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
    const expose = /^EXPOSE (mount|socket) (.+)$/.exec(line);
    if (expose)
      exposures.push({ what: expose[1] as 'mount' | 'socket', detail: expose[2] as string });
    if (line === 'DONE') complete = true;
  }
  return { results, exposures, complete };
}
