export const ARCHES = ['arm64', 'x64'] as const;
export type Arch = (typeof ARCHES)[number];

const PLATFORMS: Record<Arch, string> = { arm64: 'linux/arm64', x64: 'linux/amd64' };
/** What `podman inspect` reports as `.Architecture` for each release arch. */
const OCI_ARCHES: Record<Arch, string> = { arm64: 'arm64', x64: 'amd64' };

export function isArch(value: string): value is Arch {
  return (ARCHES as readonly string[]).includes(value);
}

/** Maps `process.arch` to a release arch; anything else cannot run the agents. */
export function hostArch(nodeArch: string = process.arch): Arch {
  if (isArch(nodeArch)) return nodeArch;
  throw new Error(`unsupported host arch: ${nodeArch}`);
}

export function platformOf(arch: Arch): string {
  return PLATFORMS[arch];
}

export function ociArchOf(arch: Arch): string {
  return OCI_ARCHES[arch];
}
