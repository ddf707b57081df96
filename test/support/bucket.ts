import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256Hex } from '../../src/lib/fs/hash.js';
import type { Manifest } from '../../src/lib/manifest/manifest.js';
import { serializeManifest } from '../../src/lib/manifest/manifest.js';

/** A bucket directory laid out like the real one: vm/manifest.json + vm/images/*. */
export interface Bucket {
  root: string;
  manifest: Manifest;
  files: Map<string, Buffer>;
  fileUrl: string;
}

export const tmp = (prefix: string) => mkdtemp(join(tmpdir(), `vm-tools-${prefix}-`));

export async function writeManifest(bucket: Bucket): Promise<string> {
  const text = serializeManifest(bucket.manifest);
  await mkdir(join(bucket.root, 'vm'), { recursive: true });
  await writeFile(join(bucket.root, 'vm', 'manifest.json'), text);
  return text;
}

/** Puts `bytes` at `key` in the bucket and points agent/arch at it in the manifest. */
export async function putArtifact(
  bucket: Bucket,
  agent: string,
  arch: 'arm64' | 'x64',
  bytes: Buffer,
  key = `vm/images/${agent}-${bucket.manifest.agents[agent]?.version ?? '1.0.0'}-${arch}.tar.gz`,
): Promise<string> {
  await mkdir(dirname(join(bucket.root, key)), { recursive: true });
  await writeFile(join(bucket.root, key), bytes);
  bucket.files.set(key, bytes);
  const entry = bucket.manifest.agents[agent] ?? {
    image: `ghcr.io/example/${agent}`,
    version: '1.0.0',
    tarballs: {},
  };
  bucket.manifest.agents[agent] = entry;
  entry.tarballs[arch] = { key, sha256: sha256Hex(bytes), sizeBytes: bytes.length };
  return key;
}

/** Two agents × two arches of random bytes (sizes in bytes). */
export async function makeBucket(
  sizes: Record<string, number> = { openclaw: 300_000, hermes: 120_000 },
): Promise<Bucket> {
  const root = await tmp('bucket');
  const bucket: Bucket = {
    root,
    manifest: { schemaVersion: 2, updatedAt: '2026-04-22T00:00:00.000Z', agents: {} },
    files: new Map(),
    fileUrl: pathToFileURL(join(root, 'vm', 'manifest.json')).href,
  };
  for (const [agent, size] of Object.entries(sizes)) {
    for (const arch of ['arm64', 'x64'] as const) {
      await putArtifact(bucket, agent, arch, randomBytes(size));
    }
  }
  await writeManifest(bucket);
  return bucket;
}

export function keysOf(bucket: Bucket, arch?: 'arm64' | 'x64'): string[] {
  const out: string[] = [];
  for (const name of Object.keys(bucket.manifest.agents).sort()) {
    const entry = bucket.manifest.agents[name];
    for (const a of ['arm64', 'x64'] as const) {
      const t = entry?.tarballs[a];
      if (t && (arch === undefined || a === arch)) out.push(t.key);
    }
  }
  return out;
}
