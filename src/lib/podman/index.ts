import { ApiPodman } from './api.js';
import { CliPodman } from './cli.js';
import type { Podman } from './transport.js';

export { PodmanError, type PodmanErrorKind } from './errors.js';
export type { Podman } from './transport.js';

/** The libpod API when a socket is given, else the CLI (inside `vm` through Lima when given). */
export function createPodman(o: { podman?: string; vm?: string; socket?: string }): Podman {
  if (o.socket) return new ApiPodman({ socketPath: o.socket });
  return new CliPodman({ podman: o.podman, vm: o.vm });
}
