/**
 * One gate run against a running VM: canaries up, probe runtime copied in and
 * checked, every probe at once, then the host judges from its own logs. Every
 * step that cannot complete becomes a problem (verdict broken), never a pass.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Endpoint, VmDriver, VmHandle } from '../vm/driver.js';
import { type CanarySet, type CanarySpec, DEFAULT_CANARIES, startCanaries } from './canaries.js';
import {
  GUEST_GATE_DIR,
  GUEST_RUNTIME,
  GUEST_SCRIPT,
  type GuestReport,
  type Probe,
  parseGuestOutput,
  planProbes,
  probeScript,
  RUNTIME_CHECK,
} from './probes.js';
import { type GateReport, judge, type ProbeRow } from './verdict.js';

export interface GateOptions {
  driver: VmDriver;
  handle: VmHandle;
  /** The endpoints the guest must reach: the positive controls. */
  allow: readonly Endpoint[];
  /** The tokens the allowed endpoints logged so far, read after the probes ran; without it only the guest vouches for the controls. */
  controlTokens?: () => Promise<Iterable<string>>;
  /** The runner's LAN addresses to probe (default: its non-internal IPv4 addresses). */
  hostAddresses?: readonly string[];
  /** Host service ports to probe (default SERVICE_PORTS); tests aim one at a service of their own. */
  servicePorts?: readonly number[];
  /** Host path of a static busybox for the guest's arch (Debian's busybox-static). */
  runtime?: string;
  canaries?: readonly CanarySpec[];
  /** Seconds each probe may wait for an answer. */
  waitS?: number;
  tempDir?: string;
  /** The benchmark's baseline only: run the probes one after another. */
  sequential?: boolean;
  /** Called with the open canaries, e.g. to register their shutdown for SIGINT. */
  onCanaries?: (canaries: CanarySet) => void;
  log?: (line: string) => void;
}

export interface GateRun extends GateReport {
  probes: Probe[];
  /** The backend's own egress log (smolvm's egress-events), when it keeps one. */
  backendEvents?: unknown[];
  /** What the reader should know that does not change the verdict. */
  notes: string[];
  canaries: { id: string; protocol: string; bind: string; port: number }[];
  guestStdout: string;
  durationMs: number;
  probeMs: number;
}

/** Lets the last canary log writes and relay connections land before reading the logs. */
const SETTLE_MS = 200;

export async function runGate(o: GateOptions): Promise<GateRun> {
  const started = performance.now();
  const log = o.log ?? (() => {});
  const canaries = await startCanaries(o.canaries ?? DEFAULT_CANARIES);
  o.onCanaries?.(canaries);
  const scratch = await mkdtemp(join(o.tempDir ?? tmpdir(), 'vm-tools-gate-'));
  const problems: string[] = [];
  let guest: GuestReport | undefined;
  let guestStdout = '';
  let probes: Probe[] = [];
  let probeMs = 0;
  try {
    const runtime = o.runtime ?? '/bin/busybox';
    const guestView = await inspectGuest(o, runtime, problems);
    const plan = planProbes({
      canaries: canaries.canaries,
      network: o.driver.guestNetwork(o.handle, o.allow),
      allow: o.allow,
      resolvers: guestView?.resolvers ?? [],
      hostAddresses: o.hostAddresses ?? runnerAddresses(),
      ...(o.servicePorts ? { servicePorts: o.servicePorts } : {}),
    });
    probes = plan.probes;
    for (const e of plan.unmapped)
      problems.push(`allowed endpoint ${e.host}:${e.port} has no forward into VM ${o.handle.name}`);
    if (o.allow.length === 0)
      problems.push('no allowed endpoint: without a positive control the gate cannot judge');
    const ready =
      guestView !== undefined &&
      (await prepareRuntime(o, runtime, guestView, scratch, probes, problems));
    if (ready) {
      const t0 = performance.now();
      const run = await o.driver
        .exec(o.handle, [GUEST_RUNTIME, 'sh', GUEST_SCRIPT], { timeoutMs: 60_000 })
        .catch((error: Error) => {
          problems.push(`the probe script could not run: ${error.message}`);
          return undefined;
        });
      probeMs = performance.now() - t0;
      if (run) {
        guestStdout = run.stdout.toString('utf8');
        if (run.timedOut) problems.push('the probe script timed out');
        guest = parseGuestOutput(guestStdout);
        log(`probes ran in ${Math.round(probeMs)} ms`);
      }
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    }
    let controlTokens: Set<string> | undefined;
    try {
      if (o.controlTokens) controlTokens = new Set(await o.controlTokens());
    } catch (error) {
      controlTokens = new Set();
      problems.push(`the allowed endpoints' log could not be read: ${(error as Error).message}`);
    }
    let hostFindings: { what: string; evidence: string }[] = [];
    try {
      if (o.driver.hostAudit) hostFindings = await o.driver.hostAudit(o.handle);
    } catch (error) {
      problems.push(`the host could not audit the VM: ${(error as Error).message}`);
    }
    const report = judge({
      probes,
      guest,
      hits: canaries.hits(),
      controlTokens,
      canaryFailures: canaries.failures,
      problems,
      hostFindings,
    });
    const backend = await backendEvidence(o, probes, report.rows);
    return {
      ...report,
      backendEvents: backend.events,
      notes: [
        ...canaries.unavailable.map(
          (u) => `canary ${u.id} skipped: this host has no ${u.bind} (${u.error})`,
        ),
        ...backend.notes,
      ],
      probes,
      canaries: canaries.canaries.map(({ id, protocol, bind, port }) => ({
        id,
        protocol,
        bind,
        port,
      })),
      guestStdout,
      durationMs: performance.now() - started,
      probeMs,
    };
  } finally {
    await canaries.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The backend's refusal log as extra evidence (smolvm's `machine egress-events`):
 * a blocked probe whose destination the backend logged as refused says so in its
 * row. It never decides the verdict — the canaries do — and a log that cannot be
 * read is a note, not a pass.
 */
async function backendEvidence(
  o: GateOptions,
  probes: readonly Probe[],
  rows: ProbeRow[],
): Promise<{ events?: unknown[]; notes: string[] }> {
  if (!o.driver.egressEvents) return { notes: [] };
  try {
    const events = await o.driver.egressEvents(o.handle);
    const texts = events.map((e) => JSON.stringify(e));
    const byId = new Map(probes.map((p) => [p.id, p]));
    let refused = 0;
    for (const row of rows) {
      const p = byId.get(row.probe);
      if (!p || row.expected !== 'blocked' || row.verdict !== 'ok') continue;
      const port = new RegExp(`\\b${p.port}\\b`);
      if (texts.some((t) => t.includes(p.address) && port.test(t))) {
        row.evidence = `refused by ${o.handle.backend} (egress-events)`;
        refused++;
      }
    }
    return {
      events,
      notes: [
        `${o.handle.backend} egress-events: ${events.length} refused connection(s) logged, ${refused} matching a probe`,
      ],
    };
  } catch (error) {
    return {
      notes: [`${o.handle.backend} egress-events could not be read: ${(error as Error).message}`],
    };
  }
}

interface GuestView {
  /** sha256 of the host's runtime, and whether the guest already holds it at GUEST_RUNTIME. */
  sha256: string;
  present: boolean;
  /** Nameservers in the guest's /etc/resolv.conf. */
  resolvers: string[];
}

/**
 * One exec before planning: the guest's resolvers (its DNS path), and the runtime
 * put in place in-guest when the guest's own busybox is byte-for-byte the host's
 * (sha256) — copying 2 MB over the agent channel costs ~25 s under emulation. The
 * copy lands by rename: a process of the previous run may still be executing the
 * old file, and writing over a busy executable fails (ETXTBSY).
 */
async function inspectGuest(
  o: GateOptions,
  runtime: string,
  problems: string[],
): Promise<GuestView | undefined> {
  let sha256: string;
  try {
    sha256 = createHash('sha256')
      .update(await readFile(runtime))
      .digest('hex');
  } catch (error) {
    problems.push(`the probe runtime ${runtime} cannot be read: ${(error as Error).message}`);
    return undefined;
  }
  try {
    const run = await o.driver.exec(
      o.handle,
      [
        'sh',
        '-c',
        `mkdir -p ${GUEST_GATE_DIR}; while read -r k v rest; do [ "$k" = nameserver ] && echo "RESOLVER $v"; done < /etc/resolv.conf 2>/dev/null; for f in /bin/busybox /usr/bin/busybox; do [ -f $f ] && [ "$(sha256sum $f | cut -d' ' -f1)" = ${sha256} ] && cp $f ${GUEST_RUNTIME}.new && mv -f ${GUEST_RUNTIME}.new ${GUEST_RUNTIME} && echo SAME && exit 0; done; exit 0`,
      ],
      { timeoutMs: 20_000 },
    );
    if (run.exitCode !== 0 || run.timedOut)
      throw new Error(
        `exit ${run.exitCode}${run.timedOut ? ' (timed out)' : ''}: ${run.stderr.toString().trim()}`,
      );
    const lines = run.stdout.toString().split('\n');
    return {
      sha256,
      present: lines.includes('SAME'),
      resolvers: lines
        .filter((l) => l.startsWith('RESOLVER '))
        .map((l) => l.slice('RESOLVER '.length).trim())
        .filter((a) => isIP(a) === 4),
    };
  } catch (error) {
    problems.push(`the guest cannot be inspected (exec failed): ${(error as Error).message}`);
    return undefined;
  }
}

/** The runner's own non-internal IPv4 addresses: a host service bound to 0.0.0.0 answers there. */
function runnerAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => (a as { address: string }).address);
}

/** Puts the runtime (unless already there) and the script in the guest, and proves the runtime runs before trusting it. */
async function prepareRuntime(
  o: GateOptions,
  runtime: string,
  view: GuestView,
  scratch: string,
  probes: readonly Probe[],
  problems: string[],
): Promise<boolean> {
  const script = join(scratch, 'probes.sh');
  await writeFile(
    script,
    probeScript(probes, {
      ...(o.waitS === undefined ? {} : { waitS: o.waitS }),
      ...(o.sequential ? { sequential: true } : {}),
    }),
  );
  try {
    if (!view.present) await o.driver.copyIn(o.handle, runtime, GUEST_RUNTIME);
    await o.driver.copyIn(o.handle, script, GUEST_SCRIPT);
    const check = await o.driver.exec(
      o.handle,
      [
        'sh',
        '-c',
        `chmod 0755 ${GUEST_RUNTIME} && [ "$(${GUEST_RUNTIME} sha256sum ${GUEST_RUNTIME} | cut -d' ' -f1)" = ${view.sha256} ] && ${GUEST_RUNTIME} echo ${RUNTIME_CHECK}`,
      ],
      { timeoutMs: 20_000 },
    );
    if (check.exitCode !== 0 || !check.stdout.toString().includes(RUNTIME_CHECK)) {
      problems.push(
        `the probe runtime does not run in the guest or is not the host's ${runtime} (exit ${check.exitCode}): ${check.stderr.toString().trim()}`,
      );
      return false;
    }
    return true;
  } catch (error) {
    problems.push(`the probe runtime could not be put in the guest: ${(error as Error).message}`);
    return false;
  }
}
