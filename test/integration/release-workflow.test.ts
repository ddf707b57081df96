import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { sha256Hex } from '../../src/lib/fs/hash.js';
import type { Arch } from '../../src/lib/manifest/arch.js';
import { parseManifest } from '../../src/lib/manifest/manifest.js';
import { buildSampleImage } from '../../src/lib/tarball/sample-image.js';
import type { StandIn } from '../support/composite.js';
import { podman, removeImages, uniqueImage } from '../support/podman.js';
import { rgwStore, uniquePrefix } from '../support/publish-fixtures.js';
import { ROOT } from '../support/runner.js';
import { type JobRun, runWorkflowJob } from '../support/workflow-job.js';

/**
 * .github/workflows/release.yml rehearsed job by job on this machine: each matrix
 * leg in its own workspace (its own "runner"), workflow artifacts in a directory,
 * the publish legs at once into a real S3 server (Ceph RGW). The manifest must hold
 * every agent × arch, and the report what was really published.
 */

const WORKFLOW = '.github/workflows/release.yml';
const VERSION = '1.0.0';
const agents = ['alpha', 'beta'].map((name) => ({ name, image: uniqueImage(`rw${name}`) }));
const scratch: string[] = [];

afterAll(async () => {
  for (const a of agents) await removeImages(a.image);
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

async function tempDir(what: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `vmt-rw-${what}-`));
  scratch.push(dir);
  return dir;
}

/** A fresh runner workspace: the caller's repository (bundle.json) plus vm-tools at .vm-tools. */
async function runnerWorkspace(what: string): Promise<string> {
  const dir = await tempDir(what);
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({
      agents: agents.map((a) => ({ name: a.name, image: a.image, version: VERSION })),
    }),
  );
  return dir;
}

function standIns(workspace: string, artifacts: string): Record<string, StandIn> {
  return {
    // The caller's checkout is the workspace itself; vm-tools' own is this repository.
    'actions/checkout': async (given) => {
      if (given.path === '.vm-tools') await symlink(ROOT, join(workspace, '.vm-tools'));
      return undefined;
    },
    'actions/setup-node': async () => undefined,
    'actions/upload-artifact': async (given) => {
      expect(given.archive).toBe('false');
      const dir = join(artifacts, given.name as string);
      await mkdir(dir); // artifacts are immutable per name: a second upload would fail
      await cp(resolve(workspace, given.path as string), join(dir, basename(given.path as string)));
      return undefined;
    },
    'actions/download-artifact': async (given) => {
      const pattern = new RegExp(`^${(given.pattern as string).replace('*', '.*')}$`);
      for (const name of await readdir(artifacts)) {
        if (!pattern.test(name)) continue;
        const target =
          given['merge-multiple'] === 'true'
            ? join(workspace, given.path as string)
            : join(workspace, given.path as string, name);
        await mkdir(target, { recursive: true });
        await cp(join(artifacts, name), target, { recursive: true });
      }
      return undefined;
    },
  };
}

function ok(run: JobRun, what: string): JobRun {
  if (run.exitCode !== 0) throw new Error(`${what} failed:\n${run.stdout}\n${run.stderr}`);
  return run;
}

describe('.github/workflows/release.yml rehearsed (2 agents × 2 arches, publish into RGW)', () => {
  it('publishes every agent × arch and reports what was published', {
    timeout: 300_000,
  }, async () => {
    const rgw = inject('rgw');
    const prefix = uniquePrefix();
    const artifacts = await tempDir('artifacts');
    const inputs = {
      publish: true,
      store: `s3://${rgw.RGW_BUCKET}/${prefix}`,
      endpoint: rgw.AWS_ENDPOINT_URL_S3,
      region: rgw.AWS_REGION,
      'allow-empty-baseline': true,
      compression: 'zstd',
    };
    const secrets = {
      'access-key-id': rgw.AWS_ACCESS_KEY_ID,
      'secret-access-key': rgw.AWS_SECRET_ACCESS_KEY,
    };
    const env = {
      CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(ROOT, 'scripts/podman/containers.conf'),
    };

    const planDir = await runnerWorkspace('plan');
    const plan = ok(
      await runWorkflowJob(WORKFLOW, 'plan', {
        cwd: planDir,
        inputs,
        env,
        standIns: standIns(planDir, artifacts),
      }),
      'plan',
    );
    const legs = JSON.parse(plan.outputs.legs as string) as {
      agent: string;
      arch: Arch;
      runner: string;
    }[];
    expect(legs).toEqual([
      { agent: 'alpha', arch: 'arm64', runner: 'ubuntu-24.04-arm' },
      { agent: 'alpha', arch: 'x64', runner: 'ubuntu-24.04' },
      { agent: 'beta', arch: 'arm64', runner: 'ubuntu-24.04-arm' },
      { agent: 'beta', arch: 'x64', runner: 'ubuntu-24.04' },
    ]);

    // Each leg on its own "native runner": the image exists there in that leg's arch.
    for (const leg of legs) {
      const image = agents.find((a) => a.name === leg.agent)?.image as string;
      await removeImages(image);
      await buildSampleImage(podman, { ref: `${image}:${VERSION}`, arch: leg.arch });
      const dir = await runnerWorkspace(`build-${leg.agent}-${leg.arch}`);
      ok(
        await runWorkflowJob(WORKFLOW, 'build', {
          cwd: dir,
          inputs,
          matrix: leg,
          env,
          needs: { plan: { outputs: plan.outputs, result: 'success' } },
          standIns: standIns(dir, artifacts),
        }),
        `build ${leg.agent} ${leg.arch}`,
      );
    }
    expect((await readdir(artifacts)).sort()).toEqual(
      legs.map((l) => `tarball-${l.agent}-${l.arch}`).sort(),
    );

    // One publish job per agent, all at once, as the workflow's matrix runs them.
    const agentNames = JSON.parse(plan.outputs.agents as string) as string[];
    await Promise.all(
      agentNames.map(async (agent) => {
        const dir = await runnerWorkspace(`publish-${agent}`);
        ok(
          await runWorkflowJob(WORKFLOW, 'publish', {
            cwd: dir,
            inputs,
            secrets,
            env,
            matrix: { agent },
            needs: {
              plan: { outputs: plan.outputs, result: 'success' },
              build: { outputs: {}, result: 'success' },
            },
            standIns: standIns(dir, artifacts),
          }),
          `publish ${agent}`,
        );
      }),
    );

    const reportDir = await runnerWorkspace('report');
    const report = ok(
      await runWorkflowJob(WORKFLOW, 'report', {
        cwd: reportDir,
        inputs,
        secrets,
        env: { ...env, GITHUB_STEP_SUMMARY: join(reportDir, 'summary.md') },
        needs: { publish: { outputs: {}, result: 'success' } },
        standIns: standIns(reportDir, artifacts),
      }),
      'report',
    );

    const store = rgwStore(rgw, prefix);
    const current = await store.getText('vm/manifest.json');
    const manifest = parseManifest(current?.text ?? '', 'rgw manifest');
    expect(Object.keys(manifest.agents)).toEqual(['alpha', 'beta']);
    const published = JSON.parse(report.outputs.published as string) as {
      agent: string;
      key: string;
      sha256: string;
    }[];
    expect(published).toHaveLength(4);
    for (const { name } of agents) {
      for (const arch of ['arm64', 'x64'] as const) {
        const tarball = manifest.agents[name]?.tarballs[arch];
        expect(tarball?.key).toBe(`vm/images/${name}-${VERSION}-${arch}.tar.zst`);
        const built = await readFile(
          join(artifacts, `tarball-${name}-${arch}`, basename(tarball?.key as string)),
        );
        expect(tarball?.sha256).toBe(sha256Hex(built));
        expect(published).toContainEqual(
          expect.objectContaining({ agent: name, key: tarball?.key, sha256: tarball?.sha256 }),
        );
      }
    }
    expect(report.outputs['manifest-etag']).toBe(current?.head.etag);
    expect(await readFile(join(reportDir, 'summary.md'), 'utf8')).toContain(
      `| alpha | \`vm/images/alpha-${VERSION}-arm64.tar.zst\``,
    );
  });
});
