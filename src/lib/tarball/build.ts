import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { finished, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CleanupRegistry, processCleanups } from '../cleanup.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { type Digest, sidecarLine } from '../fs/hash.js';
import { digestStream, partialPathOf } from '../fs/verified-write.js';
import { type Arch, ociArchOf, platformOf } from '../manifest/arch.js';
import { type Compression, tarballBasename, tarballKey } from '../manifest/keys.js';
import type { ArchiveFormat, Podman, SaveStream } from '../podman/transport.js';
import { formatBytes, throttledProgress } from '../progress.js';
import {
  type Compressor,
  createCompressor,
  type FindExecutable,
  findCompressorTool,
} from './compress.js';

/**
 * podman 4.3.1 (Debian 12, what the VM runs) cannot load a gzip-compressed
 * docker-archive ("invalid tar header") but loads a gzip-compressed
 * oci-archive, keeping the `image:version` name; `--uncompressed` keeps podman
 * from gzipping each layer on one core before we compress the whole. A
 * zstd-compressed docker-archive loads there too, and podman streams a
 * docker-archive straight out (an oci-archive is staged in a temp directory
 * first: ~1.6x slower to save here), so zstd keeps the faster format.
 */
export function archiveFormatFor(compression: Compression): {
  format: ArchiveFormat;
  uncompressed: boolean;
} {
  return compression === 'gzip'
    ? { format: 'oci-archive', uncompressed: true }
    : { format: 'docker-archive', uncompressed: false };
}

export type PullPolicy = 'missing' | 'always' | 'never';

export interface BuildTarballOptions {
  podman: Podman;
  /** Agent name: the tarball is `<name>-<version>-<arch>.<ext>`. */
  name: string;
  image: string;
  version: string;
  arch: Arch;
  outputDir: string;
  pull: PullPolicy;
  build?: { containerfile: string; context: string };
  compression: Compression;
  log?: (line: string) => void;
  /** Clock for progress lines and the duration (default: Date.now). */
  now?: () => number;
  /** Looks up pigz / zstd (default: PATH, through @actions/io). */
  findExecutable?: FindExecutable;
}

export interface BuiltTarball {
  path: string;
  key: string;
  sha256: string;
  sizeBytes: number;
  imageId: string;
  imageRef: string;
  compressor: string;
}

/** Fails with `output-dir "<dir>" is not writable: <code>` unless a file can be created there. */
async function assertWritableDir(dir: string): Promise<void> {
  const probe = join(dir, `.vm-tools-probe-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true }).catch(async (error: NodeJS.ErrnoException) => {
      // A recursive mkdir reports ENOENT for a read-only parent; one level names the real cause.
      if (error.code !== 'ENOENT') throw error;
      await mkdir(dir);
    });
    await (await open(probe, 'wx')).close();
    await rm(probe, { force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`output-dir "${dir}" is not writable: ${code}`);
  }
}

/** Gets the image by the pull policy (or builds it), then checks its platform. */
async function obtainImage(o: BuildTarballOptions, ref: string): Promise<string> {
  const log = o.log ?? (() => {});
  const platform = platformOf(o.arch);
  if (o.build) {
    log(`building ${ref} for ${platform} from ${o.build.containerfile}`);
    await o.podman.build({ tag: ref, platform, ...o.build });
  } else if (o.pull === 'always' || (o.pull === 'missing' && !(await o.podman.imageExists(ref)))) {
    log(`pulling ${ref} for ${platform}`);
    await o.podman.pull(ref, { platform });
  } else if (o.pull === 'never' && !(await o.podman.imageExists(ref))) {
    throw new Error(`image ${ref} is not present locally and pull is "never"`);
  }
  const info = await o.podman.inspectImage(ref);
  const actual = `${info.os}/${info.architecture}`;
  if (info.os !== 'linux' || info.architecture !== ociArchOf(o.arch)) {
    throw new Error(
      `image ${ref} is ${actual}, not ${platform} (arch "${o.arch}"); refusing to save it`,
    );
  }
  return info.id;
}

/**
 * The `.partial` file as a sink that reports the bytes on disk after each
 * completed write, so a progress line never counts bytes still in a buffer.
 */
function fileSinkReportingWrites(path: string, onWritten?: (bytes: number) => void): Writable {
  const file = createWriteStream(path);
  if (!onWritten) return file;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      file.write(chunk, (error) => {
        if (!error) onWritten(file.bytesWritten);
        callback(error);
      });
    },
    final(callback) {
      file.end();
      finished(file, (error) => callback(error));
    },
    destroy(error, callback) {
      file.destroy();
      callback(error);
    },
  });
  file.on('error', (error) => sink.destroy(error));
  return sink;
}

/**
 * Streams the save through the compressor into `<out>.partial` while hashing the
 * compressed bytes, and renames it to `out` only when podman, the compressor
 * and the write all succeeded: no second read of a multi-GB file, and no
 * half-written tarball under its name. `onWritten` gets the bytes on disk.
 */
export async function writeCompressed(
  save: SaveStream,
  compressor: Compressor,
  out: string,
  onWritten?: (bytesOnDisk: number) => void,
  cleanups: CleanupRegistry = processCleanups,
): Promise<Digest> {
  const partial = partialPathOf(out);
  // A cancel must stop podman (and with it the compressor reading its pipe)
  // before the partial goes, or a still-running writer could outlive us.
  const tracked = cleanups.track({ kind: 'file', path: partial }, async () => {
    save.cancel();
    await rm(partial, { force: true });
  });
  const digest = digestStream();
  let ok = false;
  try {
    const file = fileSinkReportingWrites(partial, onWritten);
    if (compressor.transform) await pipeline(save.stream, compressor.transform, digest, file);
    else await pipeline(compressor.output, digest, file);
    // The compressor saw a clean end of input even if podman died: podman decides.
    await save.done;
    const result = digest.digest();
    await rename(partial, out);
    ok = true;
    return result;
  } catch (error) {
    save.cancel();
    throw error;
  } finally {
    if (!ok) await rm(partial, { force: true });
    tracked.release();
  }
}

export async function buildTarball(o: BuildTarballOptions): Promise<BuiltTarball> {
  const log = o.log ?? (() => {});
  const imageRef = `${o.image}:${o.version}`;
  await assertWritableDir(o.outputDir);
  const imageId = await obtainImage(o, imageRef);
  const basename = tarballBasename(o.name, o.version, o.arch, o.compression);
  const path = join(o.outputDir, basename);
  const archive = archiveFormatFor(o.compression);
  const tool = await findCompressorTool(o.compression, o.findExecutable);
  const now = o.now ?? Date.now;
  const progress = throttledProgress(log, { now });
  const started = now();
  const save = o.podman.save(imageRef, archive);
  let compressor: Compressor;
  try {
    compressor = createCompressor(o.compression, tool, save.pipe);
  } catch (error) {
    save.cancel();
    throw error;
  }
  log(`saving ${imageRef} (${archive.format}) | ${compressor.tool} | sha256 -> ${path}`);
  const digest = await writeCompressed(save, compressor, path, (n) =>
    progress.update(`wrote ${formatBytes(n)} compressed`),
  );
  progress.done(
    `wrote ${basename}: ${formatBytes(digest.sizeBytes)} in ${((now() - started) / 1000).toFixed(1)} s`,
  );
  await writeFileAtomic(`${path}.sha256`, sidecarLine(digest.sha256, basename));
  return {
    path,
    key: tarballKey(o.name, o.version, o.arch, o.compression),
    sha256: digest.sha256,
    sizeBytes: digest.sizeBytes,
    imageId,
    imageRef,
    compressor: compressor.tool,
  };
}
