import { readBundle } from '../manifest/bundle.js';
import { imageNameProblem, tagProblem } from '../podman/refs.js';

/** The agent's `image` and `version` from the bundle, with optional overrides. */
export async function resolveAgent(
  bundlePath: string,
  agent: string,
  overrides: { image?: string; version?: string } = {},
): Promise<{ image: string; version: string; warnings: string[] }> {
  const { bundle, warnings } = await readBundle(bundlePath);
  const entry = bundle.agents.find((a) => a.name === agent);
  if (!entry) {
    const names = bundle.agents.map((a) => a.name).join(', ') || 'none';
    throw new Error(`agent "${agent}" is not in ${bundlePath} (agents: ${names})`);
  }
  const image = overrides.image ?? entry.image;
  const version = overrides.version ?? entry.version;
  const problem = imageNameProblem(image) ?? tagProblem(version);
  if (problem) throw new Error(`agent "${agent}" has an unusable reference ${image}:${version}`);
  return { image, version, warnings };
}
