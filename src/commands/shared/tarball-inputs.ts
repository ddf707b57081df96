import { InputError } from '../../lib/command/errors.js';
import { optional } from '../../lib/command/inputs.js';
import type { InputReader } from '../../lib/command/types.js';
import { AGENT_NAME } from '../../lib/manifest/schema.js';
import { imageNameProblem, tagProblem } from '../../lib/podman/refs.js';

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
