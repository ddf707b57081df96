/**
 * The host's judgement, pure: probes + what the guest said + what the canaries
 * and the allowed endpoints logged → pass, fail or broken. The guest's word only
 * ever makes things worse: a probe it calls blocked whose token reached the host
 * is an escape; a probe it calls reached is an escape even without a canary hit.
 */
import type { CanaryFailure, CanaryHit } from './canaries.js';
import type { GuestReport, Probe } from './probes.js';

export type Verdict = 'pass' | 'fail' | 'broken';

export interface ProbeRow {
  probe: string;
  kind: Probe['kind'];
  target: string;
  /** Guest-side address:port the probe aimed at. */
  address: string;
  expected: Probe['expect'];
  guest: string;
  evidence: string;
  verdict: 'ok' | 'escape' | 'broken';
}

export interface Escape {
  probe: string;
  target: string;
  address: string;
  /** What proves it: the canary hit (canary, token, peer) or the guest's answer. */
  evidence: string;
  canary?: string;
  token?: string;
  peer?: string;
}

export interface GateReport {
  verdict: Verdict;
  rows: ProbeRow[];
  escapes: Escape[];
  /** Why the gate could not judge (each makes the verdict broken unless something escaped). */
  problems: string[];
}

export interface JudgeInput {
  probes: readonly Probe[];
  guest: GuestReport | undefined;
  hits: readonly CanaryHit[];
  /**
   * Tokens the allowed endpoints logged (the positive controls' host side);
   * undefined when the caller has no such log, and then only the guest's HTTP
   * answer vouches for a control.
   */
  controlTokens: ReadonlySet<string> | undefined;
  canaryFailures: readonly CanaryFailure[];
  /** Runtime/exec/plan problems found before judging. */
  problems: readonly string[];
  /** What the host itself saw of the VM's configuration (the driver's hostAudit). */
  hostFindings?: readonly { what: string; evidence: string }[];
}

export function judge(input: JudgeInput): GateReport {
  const problems = [...input.problems];
  for (const f of input.canaryFailures)
    problems.push(`canary ${f.id} could not bind ${f.bind}: ${f.error}`);
  if (input.guest && !input.guest.complete)
    problems.push('the probe script did not run to its end');
  const rows: ProbeRow[] = [];
  const escapes: Escape[] = [];
  const known = new Set(input.probes.map((p) => p.token));

  for (const p of input.probes) {
    const address = p.address.includes(':') ? `[${p.address}]:${p.port}` : `${p.address}:${p.port}`;
    const seen = input.guest?.results.get(p.id);
    const guest = seen ? `${seen.result} (rc ${seen.rc})` : 'no result';
    const hits = input.hits.filter((h) => h.token === p.token);
    const row = { probe: p.id, kind: p.kind, target: p.target, address, expected: p.expect, guest };
    if (p.expect === 'reachable') {
      const logged = input.controlTokens?.has(p.token) ?? true;
      const evidence = !input.controlTokens
        ? 'no endpoint log given (guest answer only)'
        : logged
          ? 'token in the endpoint log'
          : 'token not in the endpoint log';
      const ok = seen?.result === 'reached' && logged;
      if (!ok)
        problems.push(`positive control ${p.id} (${p.target}) failed: guest ${guest}, ${evidence}`);
      rows.push({ ...row, evidence, verdict: ok ? 'ok' : 'broken' });
      continue;
    }
    const logged = p.control !== undefined && input.controlTokens?.has(p.token) === true;
    if (hits.length > 0 || logged) {
      const hit = hits[0];
      const evidence = hit
        ? `token ${hit.token} at canary ${hit.canary} from ${hit.peer}`
        : `token ${p.token} in the allowed endpoint's log`;
      escapes.push({
        probe: p.id,
        target: p.target,
        address,
        evidence,
        ...(hit ? { canary: hit.canary, token: hit.token, peer: hit.peer } : { token: p.token }),
      });
      rows.push({ ...row, evidence, verdict: 'escape' });
    } else if (seen?.result === 'reached') {
      const evidence = 'no canary hit, but the guest got an answer';
      escapes.push({ probe: p.id, target: p.target, address, evidence });
      rows.push({ ...row, evidence, verdict: 'escape' });
    } else if (!seen) {
      problems.push(`probe ${p.id} (${p.target}) reported nothing`);
      rows.push({ ...row, evidence: 'none', verdict: 'broken' });
    } else rows.push({ ...row, evidence: 'none', verdict: 'ok' });
  }
  for (const h of input.hits)
    if (!h.token || !known.has(h.token))
      escapes.push({
        probe: '-',
        target: `canary ${h.canary}`,
        address: '-',
        evidence: `${h.token ? `unknown token ${h.token}` : 'a connection without a token'} at canary ${h.canary} from ${h.peer}`,
        canary: h.canary,
        peer: h.peer,
        ...(h.token ? { token: h.token } : {}),
      });
  for (const f of input.hostFindings ?? [])
    escapes.push({ probe: 'host-audit', target: f.what, address: '-', evidence: f.evidence });
  for (const e of input.guest?.exposures ?? [])
    escapes.push({
      probe: 'exposure',
      target:
        e.what === 'socket'
          ? 'host container-engine socket'
          : e.what === 'share'
            ? 'host share (a 9p/virtiofs device)'
            : 'host share (mounted)',
      address: '-',
      evidence: `${e.what} ${e.detail} inside the guest`,
    });
  const verdict: Verdict = escapes.length > 0 ? 'fail' : problems.length > 0 ? 'broken' : 'pass';
  return { verdict, rows, escapes, problems };
}
