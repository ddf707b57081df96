import { resolve } from 'node:path';
import { LEFTOVERS_STATE, parseLeftovers, removeLeftovers } from '../lib/cleanup.js';
import { InputError } from '../lib/command/errors.js';
import { boolean, integer, list, oneOf, optional, required } from '../lib/command/inputs.js';
import { defineCommand } from '../lib/command/types.js';
import { ARCHES } from '../lib/manifest/arch.js';
import { isPodmanError } from '../lib/podman/errors.js';
import { createPodman } from '../lib/podman/index.js';
import type { Podman } from '../lib/podman/transport.js';
import { resolveAgent } from '../lib/tarball/agent.js';
import { smokeTarball } from '../lib/tarball/smoke.js';
import { agentInput } from './shared/tarball-inputs.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** One argument per line; a single line is split on whitespace. */
export function parseCommand(lines: string[]): string[] {
  if (lines.length === 1) return (lines[0] as string).split(/\s+/).filter(Boolean);
  return lines;
}

function parseExpect(value: string | undefined): RegExp | undefined {
  if (value === undefined) return undefined;
  try {
    return new RegExp(value, 'm');
  } catch (error) {
    throw new InputError(
      `Input "expect" must be a regular expression; got "${value}" (${(error as Error).message}).`,
    );
  }
}

/** podman's not_found means someone (main's own cleanup) already removed it. */
async function removedUnlessMissing(remove: Promise<void>): Promise<boolean> {
  return remove.then(
    () => true,
    (error: unknown) => {
      if (isPodmanError(error, 'not_found')) return false;
      throw error;
    },
  );
}

/** What `post` does with the container and image a killed main left. */
export function podmanRemovers(podman: Podman) {
  return {
    container: async ({ name }: { name: string }) => {
      // `podman rm --force` succeeds for a missing container: ask first, to say what happened.
      const there = await podman.inspectContainer(name).then(
        () => true,
        (error: unknown) => {
          if (isPodmanError(error, 'not_found')) return false;
          throw error;
        },
      );
      return there && removedUnlessMissing(podman.removeContainer(name, { force: true }));
    },
    image: async ({ ref, id }: { ref: string; id?: string }) => {
      // The name may have been loaded again since by someone else: only our image goes.
      const current = await podman.inspectImage(ref).catch((error: unknown) => {
        if (isPodmanError(error, 'not_found')) return undefined;
        throw error;
      });
      if (!current || (id !== undefined && current.id !== id)) return false;
      return removedUnlessMissing(podman.removeImage(ref, { force: true }));
    },
  };
}

export default defineCommand({
  name: 'smoke-tarball',
  description:
    'Verifies an agent tarball, loads it into podman, checks its name and arch, and runs a command in it.',
  inputs: {
    tarball: {
      description: 'Path of the tarball (its .sha256 sidecar beside it).',
      required: true,
    },
    agent: { description: 'Agent name from the bundle.', required: true },
    arch: { description: 'Expected arch: arm64 or x64.', required: true },
    bundle: { description: 'Path to bundle.json.', default: 'bundle.json' },
    command: {
      description:
        'The command to run, one argument per line (a single line is split on whitespace); empty: only load and check.',
      multiline: true,
    },
    expect: { description: 'A regular expression the output must match.' },
    'timeout-seconds': { description: 'Limit for the command.', default: '120' },
    network: {
      description: 'Container network: none, host, bridge or a network name.',
      default: 'none',
    },
    vm: { description: 'Run podman inside this Lima VM (limactl shell).' },
    'podman-socket': { description: 'Use the libpod API on this unix socket instead of the CLI.' },
    'keep-image': {
      description: 'Keep the loaded image afterwards.',
      boolean: true,
      default: 'false',
    },
    podman: { description: 'The podman binary.', default: 'podman' },
  },
  outputs: {
    'image-id': 'Id of the loaded image.',
    'loaded-ref': 'The image:version the tarball loaded.',
    'duration-ms': 'How long verify, load and run took.',
  },
  parse(read) {
    const network = optional(read, 'network') ?? 'none';
    if (!NAME.test(network))
      throw new InputError(
        `Input "network" must be none, host, bridge or a network name; got "${network}".`,
      );
    const vm = optional(read, 'vm');
    if (vm !== undefined && !NAME.test(vm))
      throw new InputError(`Input "vm" must be a Lima instance name; got "${vm}".`);
    const socket = optional(read, 'podman-socket');
    if (vm !== undefined && socket !== undefined)
      throw new InputError('Inputs "vm" and "podman-socket" cannot be used together.');
    return {
      tarball: required(read, 'tarball', 'the path of a .tar.gz or .tar.zst'),
      agent: agentInput(read),
      arch: oneOf(read, 'arch', ARCHES),
      bundle: optional(read, 'bundle') ?? 'bundle.json',
      command: parseCommand(list(read, 'command')),
      expect: parseExpect(optional(read, 'expect')),
      timeoutSeconds: integer(read, 'timeout-seconds', { min: 1, max: 86_400, fallback: 120 }),
      network,
      vm,
      socket,
      keepImage: boolean(read, 'keep-image'),
      podman: optional(read, 'podman') ?? 'podman',
    };
  },
  async run(inputs, ctx) {
    const { image, version, warnings } = await resolveAgent(
      resolve(ctx.cwd, inputs.bundle),
      inputs.agent,
    );
    for (const warning of warnings) ctx.log.warning(warning);
    const podman = createPodman({ podman: inputs.podman, vm: inputs.vm, socket: inputs.socket });
    const result = await ctx.log.group(`smoke-tarball ${inputs.agent} ${inputs.arch}`, () =>
      smokeTarball({
        podman,
        tarball: resolve(ctx.cwd, inputs.tarball),
        image,
        version,
        arch: inputs.arch,
        command: inputs.command,
        expect: inputs.expect,
        timeoutSeconds: inputs.timeoutSeconds,
        network: inputs.network,
        keepImage: inputs.keepImage,
        log: (line) => ctx.log.info(line),
      }),
    );
    const durationMs = String(Math.round(result.durationMs));
    return {
      outputs: {
        'image-id': result.imageId,
        'loaded-ref': result.loadedRef,
        'duration-ms': durationMs,
      },
      summary: {
        heading: 'Agent tarball smoke test',
        table: {
          header: ['Agent', 'Arch', 'Loaded', 'Command', 'Result', 'Duration (ms)'],
          rows: [
            [
              inputs.agent,
              inputs.arch,
              result.loadedRef,
              result.ran ? inputs.command.join(' ') : '(load only)',
              'passed',
              durationMs,
            ],
          ],
        },
      },
    };
  },
  async post(ctx, inputs) {
    const leftovers = parseLeftovers(ctx.getState(LEFTOVERS_STATE));
    if (!leftovers.length) return;
    // The same transport main used; the CLI when the inputs are gone (main never ran).
    const podman = createPodman(
      inputs
        ? { podman: inputs.podman, vm: inputs.vm, socket: inputs.socket }
        : { podman: 'podman' },
    );
    await removeLeftovers(leftovers, podmanRemovers(podman), (m) => ctx.log.info(m));
  },
});
