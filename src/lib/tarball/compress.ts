import { type ChildProcess, spawn as nodeSpawn } from 'node:child_process';
import { Duplex, Readable } from 'node:stream';
import { createGzip, createZstdCompress, constants as zlib } from 'node:zlib';
import { which } from '@actions/io';
import type { Compression } from '../manifest/keys.js';

/**
 * How the archive gets compressed: either the raw bytes flow through Node into
 * `transform`, or (external tool + a raw pipe from podman) the tool reads
 * podman's pipe itself and Node only sees the compressed `output`: half the
 * bytes copied through this process.
 */
export type Compressor =
  | { tool: string; transform: Duplex; output?: undefined }
  | { tool: string; output: Readable; transform?: undefined };

/** Where an executable is on PATH, or undefined. */
export type FindExecutable = (name: string) => Promise<string | undefined>;

export const findExecutable: FindExecutable = async (name) => (await which(name)) || undefined;

/** An external compressor found on PATH; without one, Node's own zlib/zstd compress. */
export interface CompressorTool {
  path: string;
  args: string[];
  tool: string;
}

/** Level 6 / 3: each tool's default trade-off. */
const EXTERNAL_TOOLS = {
  gzip: { name: 'pigz', args: ['-6', '-c'], tool: 'pigz -6' },
  zstd: { name: 'zstd', args: ['-3', '-T0', '-q', '-c'], tool: 'zstd -3 -T0' },
} as const;

/**
 * gzip uses every core through `pigz` when it is installed (zlib is one core:
 * ~10x slower on a multi-GB image); zstd uses the `zstd` CLI with -T0, else
 * Node's built-in zstd.
 */
export async function findCompressorTool(
  compression: Compression,
  find: FindExecutable = findExecutable,
): Promise<CompressorTool | undefined> {
  const { name, args, tool } = EXTERNAL_TOOLS[compression];
  const path = await find(name);
  return path ? { path, args: [...args], tool } : undefined;
}

/**
 * Runs a filter process. With `input` (a pipe with a file descriptor) the
 * process reads it directly and the result is its output; otherwise the
 * result is a Duplex (stdin in, stdout out). A non-zero exit errors the stream.
 */
function filterProcess(command: string, args: string[], input?: Readable): Duplex | Readable {
  const child: ChildProcess = nodeSpawn(command, args, {
    stdio: [input ?? 'pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  exited.catch(() => {});
  // The child holds its own copy of the pipe now. Ours must go: a second reader
  // would steal bytes, and an unread open end keeps podman's 'close' from firing.
  input?.destroy();
  async function* output(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of child.stdout as Readable) yield chunk as Buffer;
      const code = await exited;
      if (code !== 0) throw new Error(`${command} exited with ${code}: ${stderr.trim()}`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }
  const readable = Readable.from(output(), { objectMode: false });
  if (input) return readable;
  const duplex = Duplex.from({
    writable: child.stdin as NonNullable<ChildProcess['stdin']>,
    readable,
  });
  duplex.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return duplex;
}

/** With an external tool, and a raw pipe from podman, the tool reads the pipe itself. */
export function createCompressor(
  compression: Compression,
  external: CompressorTool | undefined,
  rawPipe?: Readable,
): Compressor {
  if (external) {
    if (rawPipe)
      return { tool: external.tool, output: filterProcess(external.path, external.args, rawPipe) };
    return {
      tool: external.tool,
      transform: filterProcess(external.path, external.args) as Duplex,
    };
  }
  if (compression === 'gzip')
    return { tool: 'zlib gzip -6', transform: createGzip({ level: 6, chunkSize: 1 << 20 }) };
  return {
    tool: 'node zstd -3',
    transform: createZstdCompress({
      chunkSize: 1 << 20,
      params: { [zlib.ZSTD_c_compressionLevel]: 3 },
    }),
  };
}
