import { join } from 'node:path';
import { writeFileAtomic } from '../fs/atomic.js';
import type { Arch } from '../manifest/arch.js';
import type { Podman } from '../podman/transport.js';
import { buildSampleImage } from '../tarball/sample-image.js';

/**
 * Two small agents built locally from a static busybox, so a release can be
 * rehearsed end to end with no registry and no credentials. Their version is
 * part of the image tag: an existing image is reused, which keeps re-runs from
 * rebuilding (and re-hashing) anything.
 */
export const SAMPLE_AGENTS = [
  { name: 'hello-agent', image: 'localhost/vm-tools-sample/hello-agent', version: '1.0.0' },
  { name: 'echo-agent', image: 'localhost/vm-tools-sample/echo-agent', version: '1.0.0' },
] as const;

export interface SmokeSpec {
  command: string;
  expect: string;
}

/** What the sample agent prints when it starts: the smoke test's expectation. */
function sampleSmoke(name: string, version: string): SmokeSpec {
  return { command: '/agent', expect: `^${name} ${version.replaceAll('.', '\\.')} ready` };
}

function agentScript(name: string, version: string): string {
  return `#!/bin/sh\necho "${name} ${version} ready on $(uname -m)"\n`;
}

export interface Sample {
  bundlePath: string;
  /** Images built now (the others already existed). */
  built: string[];
  smoke: Record<string, SmokeSpec>;
}

/** Writes the sample bundle into `dir` and makes sure both sample images exist. */
export async function prepareSample(dir: string, podman: Podman, arch: Arch): Promise<Sample> {
  const bundlePath = join(dir, 'bundle.json');
  const bundle = {
    agents: SAMPLE_AGENTS.map(({ name, image, version }) => ({ name, image, version })),
  };
  await writeFileAtomic(bundlePath, `${JSON.stringify(bundle, null, 2)}\n`);
  const built: string[] = [];
  const smoke: Record<string, SmokeSpec> = {};
  for (const agent of SAMPLE_AGENTS) {
    const ref = `${agent.image}:${agent.version}`;
    smoke[agent.name] = sampleSmoke(agent.name, agent.version);
    if (await podman.imageExists(ref)) continue;
    await buildSampleImage(podman, {
      ref,
      arch,
      extraFiles: { '/agent': agentScript(agent.name, agent.version) },
      cmd: ['/agent'],
    });
    built.push(ref);
  }
  return { bundlePath, built, smoke };
}
