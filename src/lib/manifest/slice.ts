import { ARCHES, type Arch } from './arch.js';
import type { Bundle } from './bundle.js';
import { assertManifest, type Manifest } from './manifest.js';
import type { AgentEntry, Tarball } from './schema.js';

export type Slice = { kind: 'full' } | { kind: 'agent'; name: string };

export function parseSlice(value: string): Slice {
  if (value === 'full') return { kind: 'full' };
  const match = /^agents:(.+)$/.exec(value);
  if (match?.[1]) return { kind: 'agent', name: match[1] };
  throw new Error(`unknown slice: ${value}`);
}

export function formatSlice(slice: Slice): string {
  return slice.kind === 'full' ? 'full' : `agents:${slice.name}`;
}

/** Checks a slice against the bundle and baseline before any file is read. */
export function checkSlice(slice: Slice, bundle: Bundle, hasBaseline: boolean): void {
  if (slice.kind === 'full') return;
  if (!hasBaseline) throw new Error(`--slice agents:${slice.name} requires --merge-from`);
  if (!bundle.agents.some((a) => a.name === slice.name)) {
    throw new Error(`unknown agent in slice: ${slice.name}`);
  }
}

/** The agents a slice covers, in bundle order. */
function sliceAgents(slice: Slice, bundle: Bundle) {
  return slice.kind === 'full' ? bundle.agents : bundle.agents.filter((a) => a.name === slice.name);
}

export type TarballSource = (agent: string, version: string, arch: Arch) => Promise<Tarball>;

/** Builds the slice's agent entries, one tarball per agent × arch, arches in release order. */
export async function buildSliceEntries(
  slice: Slice,
  bundle: Bundle,
  tarballOf: TarballSource,
  arches: readonly Arch[] = ARCHES,
): Promise<Record<string, AgentEntry>> {
  const entries: Record<string, AgentEntry> = {};
  for (const agent of sliceAgents(slice, bundle)) {
    const tarballs: AgentEntry['tarballs'] = {};
    for (const arch of ARCHES) {
      if (arches.includes(arch)) tarballs[arch] = await tarballOf(agent.name, agent.version, arch);
    }
    entries[agent.name] = { image: agent.image, version: agent.version, tarballs };
  }
  return entries;
}

/**
 * One agent's entry after an `agents:<name>` slice. Per-arch publish jobs (a native
 * runner per arch, each publishing its own tarball) are the usual layout, so a
 * slice for the release the baseline already names adds or replaces only the
 * arches it covers; a new version or image is a new release and replaces the
 * entry (tarballs of the old version must not linger under the new one).
 */
export function mergeAgentEntry(slice: AgentEntry, baseline: AgentEntry | undefined): AgentEntry {
  if (!baseline || baseline.version !== slice.version || baseline.image !== slice.image) {
    return slice;
  }
  const tarballs: AgentEntry['tarballs'] = {};
  for (const arch of ARCHES) {
    const t = slice.tarballs[arch] ?? baseline.tarballs[arch];
    if (t) tarballs[arch] = t;
  }
  return { ...baseline, ...slice, tarballs };
}

/**
 * Merges a slice into a baseline. `full` replaces every agent (the bundle is the
 * whole release); `agents:<name>` merges that one agent (mergeAgentEntry) and
 * keeps every other agent of the baseline exactly as it was. The result is
 * validated like any manifest a reader gets (a kept agent could collide with a
 * new key).
 */
export function mergeSlice(
  slice: Slice,
  entries: Record<string, AgentEntry>,
  baseline: Manifest | undefined,
  now: Date,
): Manifest {
  const agents: Record<string, AgentEntry> =
    slice.kind === 'full' ? { ...entries } : { ...(baseline?.agents ?? {}) };
  if (slice.kind === 'agent') {
    for (const [name, entry] of Object.entries(entries)) {
      agents[name] = mergeAgentEntry(entry, baseline?.agents[name]);
    }
  }
  const extra = baseline ? { ...baseline } : {};
  const merged = { ...extra, schemaVersion: 2 as const, updatedAt: now.toISOString(), agents };
  assertManifest(merged, `the merged manifest (slice ${formatSlice(slice)})`);
  return merged;
}
