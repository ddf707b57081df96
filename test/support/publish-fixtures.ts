import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Store } from '../../src/lib/store/s3.js';
import type { RgwEnv } from './rgw-setup.js';

export interface Workspace {
  dir: string;
  distDir: string;
  agents: string[];
}

/** A bundle of fake agents and small fake tarballs (bytes, not real images). */
export async function workspace(
  agents: string[],
  version = '1.0.0',
  seed = '',
): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'vm-tools-publish-'));
  const distDir = join(dir, 'dist');
  await mkdir(join(distDir, 'images'), { recursive: true });
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({
      agents: agents.map((name) => ({ name, image: `ghcr.io/example/${name}`, version })),
    }),
  );
  for (const name of agents) {
    for (const arch of ['arm64', 'x64']) {
      await writeFile(
        join(distDir, 'images', `${name}-${version}-${arch}.tar.gz`),
        `fake tarball ${name} ${version} ${arch} ${seed}\n`,
      );
    }
  }
  return { dir, distDir, agents };
}

/** A fresh prefix in the RGW bucket per test, so tests never see each other's keys. */
export function uniquePrefix(): string {
  return `t-${randomBytes(6).toString('hex')}`;
}

export function rgwStore(
  rgw: RgwEnv,
  prefix: string,
  endpoint = rgw.AWS_ENDPOINT_URL_S3,
  maxAttempts = 3,
) {
  return new S3Store({
    bucket: rgw.RGW_BUCKET,
    prefix: `${prefix}/`,
    endpoint,
    region: rgw.AWS_REGION,
    accessKeyId: rgw.AWS_ACCESS_KEY_ID,
    secretAccessKey: rgw.AWS_SECRET_ACCESS_KEY,
    maxAttempts,
  });
}

/** The environment a CLI process needs to reach the RGW (credentials via AWS_*). */
export function rgwEnv(rgw: RgwEnv, endpoint = rgw.AWS_ENDPOINT_URL_S3): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: rgw.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: rgw.AWS_SECRET_ACCESS_KEY,
    AWS_REGION: rgw.AWS_REGION,
  };
}
