import { InputError } from '../command/errors.js';
import { optional } from '../command/inputs.js';
import type { InputReader } from '../command/types.js';
import { readBundle } from '../manifest/bundle.js';
import { AGENT_NAME } from '../manifest/schema.js';
import { imageNameProblem, tagProblem } from '../podman/refs.js';

export function agentInput(read: InputReader): string {
  const value = optional(read, 'agent');
  if (value === undefined)
    throw new InputError('Input "agent" is required: an agent name from the bundle.');
  if (!AGENT_NAME.test(value))
    throw new InputError(
      `Input "agent" must be an agent name ([a-z0-9][a-z0-9-]*); got "${value}".`,
    );
  return value;
}

export function imageInput(read: InputReader): string | undefined {
  const value = optional(read, 'image');
  if (value !== undefined && imageNameProblem(value))
    throw new InputError(
      `Input "image" must be an image reference without tag, like ghcr.io/org/name; got "${value}".`,
    );
  return value;
}

export function versionInput(read: InputReader): string | undefined {
  const value = optional(read, 'version');
  if (value !== undefined && tagProblem(value))
    throw new InputError(
      `Input "version" must be an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]*); got "${value}".`,
    );
  return value;
}

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
