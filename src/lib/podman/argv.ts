import { assertContainerRef, assertImageRef } from './refs.js';
import type { ArchiveFormat, ContainerSpec } from './transport.js';

/**
 * Pure argv builders for the podman CLI. Every image or container reference is
 * validated and placed after `--`, so no value can ever be read as a flag.
 */

export function limaPrefix(vm: string): string[] {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(vm)) throw new Error(`refusing VM name "${vm}"`);
  return ['limactl', 'shell', '--tty=false', vm, '--', 'podman'];
}

export const versionArgv = (): string[] => ['version', '--format', '{{.Client.Version}}'];

export const imageExistsArgv = (ref: string): string[] => [
  'image',
  'exists',
  '--',
  assertImageRef(ref),
];

export const pullArgv = (ref: string, platform: string): string[] => [
  'pull',
  '--quiet',
  `--platform=${platform}`,
  '--',
  assertImageRef(ref),
];

export function buildArgv(o: {
  tag: string;
  platform: string;
  containerfile: string;
  context: string;
}): string[] {
  return [
    'build',
    `--platform=${o.platform}`,
    `--file=${o.containerfile}`,
    `--tag=${assertImageRef(o.tag)}`,
    '--',
    o.context,
  ];
}

export const inspectImageArgv = (ref: string): string[] => [
  'image',
  'inspect',
  '--',
  assertImageRef(ref),
];

export function saveArgv(
  ref: string,
  options: { format: ArchiveFormat; uncompressed: boolean },
): string[] {
  return [
    'save',
    `--format=${options.format}`,
    ...(options.uncompressed ? ['--uncompressed'] : []),
    '--',
    assertImageRef(ref),
  ];
}

/** Reads the archive from stdin: the same argv works locally and through `limactl shell`. */
export const loadArgv = (): string[] => ['load'];

export function importArgv(ref: string, options: { arch?: string; changes?: string[] }): string[] {
  return [
    'import',
    '--quiet',
    ...(options.arch ? [`--arch=${options.arch}`] : []),
    ...(options.changes ?? []).map((c) => `--change=${c}`),
    '--',
    '-',
    assertImageRef(ref),
  ];
}

export const tagArgv = (source: string, target: string): string[] => [
  'tag',
  '--',
  assertImageRef(source),
  assertImageRef(target),
];

export const removeImageArgv = (ref: string, force: boolean): string[] => [
  'rmi',
  ...(force ? ['--force'] : []),
  '--',
  assertImageRef(ref),
];

export function createArgv(spec: ContainerSpec): string[] {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(spec.network))
    throw new Error(`refusing network "${spec.network}"`);
  return [
    'create',
    `--network=${spec.network}`,
    ...(spec.name ? [`--name=${assertContainerRef(spec.name)}`] : []),
    ...Object.entries(spec.labels ?? {}).map(([k, v]) => `--label=${k}=${v}`),
    '--',
    assertImageRef(spec.image),
    ...spec.command,
  ];
}

export const startArgv = (id: string): string[] => ['start', '--', assertContainerRef(id)];
export const waitArgv = (id: string): string[] => ['wait', '--', assertContainerRef(id)];
export const stopArgv = (id: string, timeoutSeconds: number): string[] => [
  'stop',
  `--time=${timeoutSeconds}`,
  '--',
  assertContainerRef(id),
];
/** A forced remove kills at once: cleanup after a failure should not wait 10 s for SIGTERM. */
export const removeContainerArgv = (id: string, force: boolean): string[] => [
  'rm',
  ...(force ? ['--force', '--time=0'] : []),
  '--',
  assertContainerRef(id),
];
export const inspectContainerArgv = (id: string): string[] => [
  'container',
  'inspect',
  '--',
  assertContainerRef(id),
];
export function listContainersArgv(options: { all?: boolean; label?: string }): string[] {
  return [
    'ps',
    '--format=json',
    ...(options.all ? ['--all'] : []),
    ...(options.label ? [`--filter=label=${options.label}`] : []),
  ];
}
export const logsArgv = (id: string, follow: boolean): string[] => [
  'logs',
  ...(follow ? ['--follow'] : []),
  '--',
  assertContainerRef(id),
];
export const execArgv = (id: string, command: string[]): string[] => [
  'exec',
  '--',
  assertContainerRef(id),
  ...command,
];
