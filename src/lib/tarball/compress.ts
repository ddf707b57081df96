import { type ChildProcess, spawn as nodeSpawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Duplex, Readable } from 'node:stream';
import { createGzip, createZstdCompress, constants as zlib } from 'node:zlib';
import type { Compression } from '../manifest/keys.js';

export interface Compressor {
  /** Raw tar bytes in, compressed bytes out. */
  stream: Duplex;
  /** What compresses, for the log: `pigz -6`, `zlib gzip -6`, `zstd -3 -T0`, … */
  tool: string;
}

export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** A child process as a Duplex: stdin in, stdout out; a non-zero exit errors the stream. */
export function processDuplex(command: string, args: string[]): Duplex {
  const child: ChildProcess = nodeSpawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  exited.catch(() => {});
  async function* output(): AsyncGenerator<Buffer> {
    for await (const chunk of child.stdout as Readable) yield chunk as Buffer;
    const code = await exited;
    if (code !== 0) throw new Error(`${command} exited with ${code}: ${stderr.trim()}`);
  }
  const duplex = Duplex.from({
    writable: child.stdin as NonNullable<ChildProcess['stdin']>,
    readable: Readable.from(output(), { objectMode: false }),
  });
  duplex.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return duplex;
}

/**
 * gzip uses every core through `pigz` when it is installed (zlib is one core:
 * ~10x slower on a multi-GB image); zstd uses the `zstd` CLI with -T0, else
 * Node's built-in zstd. Level 6 / 3: each tool's default trade-off.
 */
export function createCompressor(
  compression: Compression,
  env: NodeJS.ProcessEnv = process.env,
): Compressor {
  if (compression === 'gzip') {
    const pigz = findOnPath('pigz', env);
    if (pigz) return { stream: processDuplex(pigz, ['-6', '-c']), tool: 'pigz -6' };
    return { stream: createGzip({ level: 6, chunkSize: 1 << 20 }), tool: 'zlib gzip -6' };
  }
  const zstd = findOnPath('zstd', env);
  if (zstd) return { stream: processDuplex(zstd, ['-3', '-T0', '-q', '-c']), tool: 'zstd -3 -T0' };
  return {
    stream: createZstdCompress({
      chunkSize: 1 << 20,
      params: { [zlib.ZSTD_c_compressionLevel]: 3 },
    }),
    tool: 'node zstd -3',
  };
}
