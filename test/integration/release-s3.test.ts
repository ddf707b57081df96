import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { sha256Hex } from '../../src/lib/fs/hash.js';
import { hostArch } from '../../src/lib/manifest/arch.js';
import { parseManifest } from '../../src/lib/manifest/manifest.js';
import { SAMPLE_AGENTS } from '../../src/lib/release/sample.js';
import { rgwEnv, rgwStore, uniquePrefix } from '../support/publish-fixtures.js';
import { ROOT, runCliBundle } from '../support/runner.js';

const env = {
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, 'scripts/podman/containers.conf'),
};

describe('vm-tools release into a real s3:// store (Ceph RGW)', () => {
  it('rehearses a release against the bucket, and a re-run uploads nothing', {
    timeout: 240_000,
  }, async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const work = await mkdtemp(join(tmpdir(), 'vm-tools-release-s3-'));
    const args = ['release', '--work-dir', work, '--store', `s3://${rgw.RGW_BUCKET}/${prefix}`];
    const run = await runCliBundle(args, { env: { ...env, ...rgwEnv(rgw) }, timeoutMs: 200_000 });
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toContain('cache: not hydrated');
    // Credentials only reach the process through AWS_*; nothing prints them.
    expect(run.stdout + run.stderr).not.toContain(rgw.AWS_SECRET_ACCESS_KEY);

    const store = rgwStore(rgw, prefix);
    const manifestText = (await store.getText('vm/manifest.json'))?.text ?? '';
    const manifest = parseManifest(manifestText, 'rgw manifest');
    expect(Object.keys(manifest.agents).sort()).toEqual(SAMPLE_AGENTS.map((a) => a.name).sort());
    for (const agent of SAMPLE_AGENTS) {
      const tarball = manifest.agents[agent.name]?.tarballs[hostArch()];
      if (!tarball) throw new Error(`no ${agent.name} tarball in the manifest`);
      const local = await readFile(
        join(work, 'dist/images', tarball.key.slice('vm/images/'.length)),
      );
      expect(sha256Hex(local)).toBe(tarball.sha256);
      const head = await store.head(tarball.key);
      expect(head?.sizeBytes).toBe(local.length);
      expect(head?.metadata.sha256).toBe(tarball.sha256);
    }

    const again = await runCliBundle(args, { env: { ...env, ...rgwEnv(rgw) }, timeoutMs: 200_000 });
    expect(again.exitCode).toBe(0);
    const report = JSON.parse(again.outputs.report ?? '{}') as { agents: { upload: string }[] };
    expect(report.agents.map((a) => a.upload)).toEqual(['already there', 'already there']);
    expect((await store.getText('vm/manifest.json'))?.text).toBe(manifestText);
    await rm(work, { recursive: true, force: true });
  });
});
