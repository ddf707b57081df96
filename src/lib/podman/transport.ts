import type { Readable } from 'node:stream';

/** What smoke and build need to know about an image. */
export interface ImageInfo {
  /** The full 64-hex image id, without `sha256:`. */
  id: string;
  architecture: string;
  os: string;
  names: string[];
}

export interface ContainerSpec {
  image: string;
  command: string[];
  /** `none` (no network at all), `host`, `bridge` or a network name. */
  network: string;
  name?: string;
  labels?: Record<string, string>;
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  state: string;
  exitCode: number;
  labels: Record<string, string>;
}

/** Output is kept as a tail: the last 1 MiB of each stream (limits.ts OUTPUT_TAIL_BYTES). */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Bytes printed to either stream that were not kept (absent when nothing was dropped). */
  droppedBytes?: number;
}

/** The last 1 MiB of each stream, and of both together: a container may print gigabytes. */
export interface Logs {
  stdout: string;
  stderr: string;
  /** Both streams in the order podman returned them. */
  combined: string;
  /** Bytes printed that `combined` does not hold (absent when nothing was dropped). */
  droppedBytes?: number;
}

/** A running `podman save`. Read either `stream` or `pipe`, not both. */
export interface SaveStream {
  /** The archive; errors when podman fails mid-way. */
  stream: Readable;
  /**
   * The CLI's raw stdout pipe, to hand to another process (a compressor) so the
   * bytes do not pass through Node; then await `done` for podman's verdict.
   */
  pipe?: Readable;
  /** Settles when podman has finished: rejects with a PodmanError when it failed. */
  done: Promise<void>;
  /** Stops podman (after a failure elsewhere in the pipeline). */
  cancel(): void;
}

export type ArchiveFormat = 'oci-archive' | 'docker-archive';

/**
 * One interface for podman, whether it is the local CLI, the CLI inside a Lima
 * VM, or the libpod REST API on a unix socket. Every failure is a PodmanError.
 */
export interface Podman {
  /** Names the transport in logs: `podman`, `limactl shell vm -- podman`, `unix:///…`. */
  readonly description: string;
  version(): Promise<string>;
  imageExists(ref: string): Promise<boolean>;
  pull(ref: string, options: { platform: string }): Promise<void>;
  build(options: {
    tag: string;
    platform: string;
    containerfile: string;
    context: string;
  }): Promise<void>;
  inspectImage(ref: string): Promise<ImageInfo>;
  /** Streams `podman save` of one image; podman's exit status surfaces as a stream error. */
  save(ref: string, options: { format: ArchiveFormat; uncompressed: boolean }): SaveStream;
  /** Streams an archive (possibly gzip/zstd compressed) into podman; returns the loaded names. */
  load(archive: Readable): Promise<string[]>;
  /** Imports a root filesystem tar as an image (used to build sample images without a registry). */
  importImage(
    rootfs: Readable,
    options: { ref: string; arch?: string; changes?: string[] },
  ): Promise<string>;
  tag(source: string, target: string): Promise<void>;
  removeImage(ref: string, options?: { force?: boolean }): Promise<void>;
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Waits for the container to exit; `timeout` PodmanError after `timeoutMs`. */
  waitContainer(id: string, options: { timeoutMs: number }): Promise<number>;
  stopContainer(id: string, options?: { timeoutSeconds?: number }): Promise<void>;
  removeContainer(id: string, options?: { force?: boolean }): Promise<void>;
  inspectContainer(id: string): Promise<ContainerInfo>;
  listContainers(options?: { all?: boolean; label?: string }): Promise<ContainerInfo[]>;
  logs(id: string): Promise<Logs>;
  /** Calls `onData` with output as it is written until the container stops or `signal` aborts. */
  followLogs(
    id: string,
    onData: (chunk: string, stream: 'stdout' | 'stderr') => void,
    signal?: AbortSignal,
  ): Promise<void>;
  exec(id: string, command: string[]): Promise<ExecResult>;
}
