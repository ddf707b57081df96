import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';

export const NOW = '2026-04-22T00:00:00.000Z';

export interface FixtureAgent {
  name: string;
  image: string;
  version: string;
}

export const OPENCLAW: FixtureAgent = {
  name: 'openclaw',
  image: 'ghcr.io/openclaw/openclaw',
  version: '2026.4.12',
};
export const CODER: FixtureAgent = {
  name: 'coder',
  image: 'ghcr.io/example/coder',
  version: '2026.4.10',
};

/** Real compressed bytes, so the compression a key names can be checked against the file. */
export function tarballBytes(seed: string, compression: 'gzip' | 'zstd' = 'gzip'): Buffer {
  const body = Buffer.from(`${seed}\n`.repeat(50));
  return compression === 'gzip' ? gzipSync(body) : zstdCompressSync(body);
}

export async function tempDir(prefix = 'vm-tools-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * A release workspace: `bundle.json` and `dist/images/<name>-<version>-<arch>.tar.gz`
 * for every agent × arch (unless `tarballs: false`).
 */
export async function releaseWorkspace(
  agents: FixtureAgent[] = [OPENCLAW],
  { tarballs = true, compression = 'gzip' as 'gzip' | 'zstd', extra = {} } = {},
): Promise<string> {
  const dir = await tempDir('vm-tools-release-');
  await writeFile(join(dir, 'bundle.json'), JSON.stringify({ ...extra, agents }, null, 2));
  await mkdir(join(dir, 'dist', 'images'), { recursive: true });
  if (tarballs) {
    for (const agent of agents) {
      for (const arch of ['arm64', 'x64']) {
        const ext = compression === 'gzip' ? '.tar.gz' : '.tar.zst';
        await writeFile(
          join(dir, 'dist', 'images', `${agent.name}-${agent.version}-${arch}${ext}`),
          tarballBytes(`${agent.name}/${arch}`, compression),
        );
      }
    }
  }
  return dir;
}
