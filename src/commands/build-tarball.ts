import { resolve } from 'node:path';
import {
  LEFTOVERS_STATE,
  parseLeftovers,
  removeLeftoverFile,
  removeLeftovers,
} from '../lib/cleanup.js';
import { InputError } from '../lib/command/errors.js';
import { oneOf, optional } from '../lib/command/inputs.js';
import { defineCommand } from '../lib/command/types.js';
import { ARCHES } from '../lib/manifest/arch.js';
import { createPodman } from '../lib/podman/index.js';
import { resolveAgent } from '../lib/tarball/agent.js';
import { buildTarball } from '../lib/tarball/build.js';
import { agentInput, imageInput, versionInput } from './shared/tarball-inputs.js';

export default defineCommand({
  name: 'build-tarball',
  description:
    'Pulls or builds an agent image, checks its arch, and saves it as a compressed tarball with a sha256 sidecar in one pass.',
  inputs: {
    agent: { description: 'Agent name from the bundle.', required: true },
    arch: { description: 'Target arch: arm64 or x64.', required: true },
    bundle: { description: 'Path to bundle.json.', default: 'bundle.json' },
    'output-dir': {
      description: 'Directory for the tarball and its sidecar.',
      default: 'dist/images',
    },
    image: { description: "Image reference without tag (default: the bundle's)." },
    version: { description: "Image tag (default: the bundle's version)." },
    pull: { description: 'missing, always or never.', default: 'missing' },
    containerfile: { description: 'Build the image from this Containerfile instead of pulling.' },
    context: { description: 'Build context directory (default: the working directory).' },
    compression: { description: 'gzip or zstd.', default: 'gzip' },
    podman: { description: 'The podman binary.', default: 'podman' },
  },
  outputs: {
    path: 'Path of the tarball.',
    key: 'Object key: vm/images/<name>-<version>-<arch>.tar.gz|.tar.zst.',
    sha256: 'sha256 of the tarball.',
    'size-bytes': 'Size of the tarball in bytes.',
    'image-id': 'The saved image id.',
    'image-ref': 'The saved image:version.',
  },
  parse(read) {
    const containerfile = optional(read, 'containerfile');
    const context = optional(read, 'context');
    if (context !== undefined && containerfile === undefined)
      throw new InputError('Input "context" needs input "containerfile".');
    return {
      agent: agentInput(read),
      arch: oneOf(read, 'arch', ARCHES),
      bundle: optional(read, 'bundle') ?? 'bundle.json',
      outputDir: optional(read, 'output-dir') ?? 'dist/images',
      image: imageInput(read),
      version: versionInput(read),
      pull: oneOf(read, 'pull', ['missing', 'always', 'never'] as const, 'missing'),
      containerfile,
      context,
      compression: oneOf(read, 'compression', ['gzip', 'zstd'] as const, 'gzip'),
      podman: optional(read, 'podman') ?? 'podman',
    };
  },
  async run(inputs, ctx) {
    const { image, version, warnings } = await resolveAgent(
      resolve(ctx.cwd, inputs.bundle),
      inputs.agent,
      { image: inputs.image, version: inputs.version },
    );
    for (const warning of warnings) ctx.log.warning(warning);
    const built = await ctx.log.group(`build-tarball ${inputs.agent} ${inputs.arch}`, () =>
      buildTarball({
        podman: createPodman({ podman: inputs.podman }),
        name: inputs.agent,
        image,
        version,
        arch: inputs.arch,
        outputDir: resolve(ctx.cwd, inputs.outputDir),
        pull: inputs.pull,
        build: inputs.containerfile
          ? {
              containerfile: resolve(ctx.cwd, inputs.containerfile),
              context: resolve(ctx.cwd, inputs.context ?? '.'),
            }
          : undefined,
        compression: inputs.compression,
        log: (line) => ctx.log.info(line),
      }),
    );
    return {
      outputs: {
        path: built.path,
        key: built.key,
        sha256: built.sha256,
        'size-bytes': String(built.sizeBytes),
        'image-id': built.imageId,
        'image-ref': built.imageRef,
      },
      summary: {
        heading: 'Agent tarball',
        table: {
          header: ['Agent', 'Arch', 'Image', 'Key', 'Size (bytes)', 'sha256'],
          rows: [
            [
              inputs.agent,
              inputs.arch,
              built.imageRef,
              built.key,
              String(built.sizeBytes),
              built.sha256,
            ],
          ],
        },
      },
    };
  },
  async post(ctx) {
    // Only the `.partial` tarball: the image it saved was there before (or is the build's product).
    const leftovers = parseLeftovers(ctx.getState(LEFTOVERS_STATE));
    await removeLeftovers(leftovers, { file: removeLeftoverFile }, (m) => ctx.log.info(m));
  },
});
