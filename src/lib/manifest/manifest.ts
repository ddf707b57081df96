import { firstIssue, type Manifest, manifestV1, manifestV2 } from './schema.js';

export type { Manifest } from './schema.js';

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${source} is not JSON: ${(error as Error).message}`);
  }
}

/**
 * Reads a schemaVersion 2 manifest; with `allowV1` (merge baselines only) a
 * schemaVersion 1 manifest is accepted and converted: its agents are kept, the
 * VM-disk fields are dropped.
 *
 * The value returned is the parsed JSON itself, not the schema's output: the
 * schema moves unknown fields behind the known ones, and an agent a merge keeps
 * must be written back byte-for-byte, field order included.
 */
export function parseManifest(text: string, source: string, { allowV1 = false } = {}): Manifest {
  const value = parseJson(text, source);
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (allowV1 && version === 1) {
    const v1 = manifestV1.safeParse(value);
    if (!v1.success) throw new Error(`${source} is not a valid manifest: ${firstIssue(v1.error)}`);
    const { agents } = value as { agents: Manifest['agents'] };
    return { schemaVersion: 2, updatedAt: new Date(0).toISOString(), agents };
  }
  const v2 = manifestV2.safeParse(value);
  if (!v2.success) throw new Error(`${source} is not a valid manifest: ${firstIssue(v2.error)}`);
  return value as Manifest;
}

/** Throws `<what> is not a valid manifest: <json path>: <reason>` unless it is one. */
export function assertManifest(manifest: unknown, what: string): asserts manifest is Manifest {
  const result = manifestV2.safeParse(manifest);
  if (!result.success)
    throw new Error(`${what} is not a valid manifest: ${firstIssue(result.error)}`);
}

/**
 * Same content, same bytes: agents in name order, two-space JSON, one newline.
 * Each agent entry is written as it is, so an entry kept from a baseline keeps
 * its bytes (entries this tool builds list their arches in order already).
 */
export function serializeManifest(manifest: Manifest): string {
  const agents: Manifest['agents'] = {};
  for (const name of Object.keys(manifest.agents).sort()) {
    const entry = manifest.agents[name];
    if (entry) agents[name] = entry;
  }
  const { schemaVersion, updatedAt, agents: _, ...rest } = manifest;
  return `${JSON.stringify({ schemaVersion, updatedAt, agents, ...rest }, null, 2)}\n`;
}

/** Every tarball the manifest names, in serialisation order. */
export function listTarballs(manifest: Manifest) {
  const out: { agent: string; arch: string; key: string; sha256: string; sizeBytes: number }[] = [];
  for (const name of Object.keys(manifest.agents).sort()) {
    const entry = manifest.agents[name];
    for (const arch of Object.keys(entry?.tarballs ?? {}).sort()) {
      const t = entry?.tarballs[arch as 'arm64' | 'x64'];
      if (t) out.push({ agent: name, arch, key: t.key, sha256: t.sha256, sizeBytes: t.sizeBytes });
    }
  }
  return out;
}
