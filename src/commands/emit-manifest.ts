import { join, resolve } from 'node:path';
import { errorMessage, InputError } from '../lib/command/errors.js';
import { boolean, list, optional } from '../lib/command/inputs.js';
import { defineCommand, type InputReader } from '../lib/command/types.js';
import { writeFileAtomic } from '../lib/fs/atomic.js';
import { sha256Hex } from '../lib/fs/hash.js';
import {
  BASELINE_SOURCES_ACCEPTED,
  baselineSourceProblem,
  readBaseline,
} from '../lib/manifest/baseline.js';
import { readBundle } from '../lib/manifest/bundle.js';
import { emitManifest } from '../lib/manifest/emit.js';
import { listTarballs, serializeManifest } from '../lib/manifest/manifest.js';
import { checkSlice, formatSlice, type Slice } from '../lib/manifest/slice.js';
import { parseArches, SLICE_SOURCE_INPUTS, sliceInput } from './shared/slice-inputs.js';
import { parseS3Client, S3_CLIENT_INPUTS } from './shared/store-inputs.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;

export function parseNow(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  // Without the Z a date is read as local time, and Date rolls 02-30 over into
  // March: both would give bytes nobody asked for.
  const valid =
    ISO_UTC.test(value) &&
    !Number.isNaN(date.getTime()) &&
    date.toISOString().slice(0, 19) === value.slice(0, 19);
  if (!valid) {
    throw new InputError(
      `Input "now" must be an ISO-8601 UTC time like 2026-04-22T00:00:00.000Z; got "${value}".`,
    );
  }
  return date;
}

/** Checked before anything is read or written: a typo is bad input, not a missing baseline. */
export function mergeFromInput(read: InputReader): string | undefined {
  const value = optional(read, 'merge-from');
  const problem = value === undefined ? undefined : baselineSourceProblem(value);
  if (problem) {
    throw new InputError(
      `Input "merge-from" must be ${BASELINE_SOURCES_ACCEPTED}; got "${value}", which ${problem}.`,
    );
  }
  return value;
}

export function parseSliceInput(value: string, mergeFrom: string | undefined): Slice {
  const slice = sliceInput(value);
  if (slice.kind === 'agent' && mergeFrom === undefined) {
    throw new InputError(`--slice agents:${slice.name} requires --merge-from`);
  }
  return slice;
}

export default defineCommand({
  name: 'emit-manifest',
  description:
    'Writes vm/manifest.json for a slice of the bundle (every agent, or one agent merged into a baseline), hashing the tarballs in the dist directory.',
  inputs: {
    ...SLICE_SOURCE_INPUTS,
    slice: {
      description:
        'full (every agent x arch) or agents:<name> (replace one agent of the baseline).',
      default: 'full',
    },
    'merge-from': {
      description: 'Baseline manifest: a file path, an http(s):// URL or s3://bucket/key.',
    },
    'allow-empty-baseline': {
      description: 'Treat a missing baseline as empty (bootstrap of a first release).',
      boolean: true,
      default: 'false',
    },
    out: { description: 'Where to write the manifest (default: <dist-dir>/manifest.json).' },
    now: {
      description:
        'updatedAt as ISO-8601 UTC, for reproducible output (default: the current time).',
    },
    ...S3_CLIENT_INPUTS,
  },
  outputs: {
    manifest: 'Path of the written manifest.',
    sha256: 'sha256 of the manifest bytes.',
    agents: 'JSON list of the agent names in the manifest.',
  },
  parse(read) {
    const distDir = optional(read, 'dist-dir') ?? 'dist';
    const mergeFrom = mergeFromInput(read);
    return {
      bundle: optional(read, 'bundle') ?? 'bundle.json',
      distDir,
      slice: parseSliceInput(optional(read, 'slice') ?? 'full', mergeFrom),
      arches: parseArches(list(read, 'arches')),
      mergeFrom,
      allowEmptyBaseline: boolean(read, 'allow-empty-baseline'),
      out: optional(read, 'out') ?? join(distDir, 'manifest.json'),
      now: parseNow(optional(read, 'now')),
      s3: mergeFrom?.startsWith('s3://') ? parseS3Client(read) : undefined,
    };
  },
  async run(inputs, ctx) {
    const { bundle, warnings } = await readBundle(resolve(ctx.cwd, inputs.bundle));
    for (const warning of warnings) ctx.log.warning(warning);
    // Slice rules that need the bundle: still bad input, caught before any baseline is fetched.
    try {
      checkSlice(inputs.slice, bundle, inputs.mergeFrom !== undefined);
    } catch (error) {
      throw new InputError(errorMessage(error));
    }
    const baseline =
      inputs.mergeFrom === undefined
        ? undefined
        : await readBaseline(inputs.mergeFrom, {
            allowEmpty: inputs.allowEmptyBaseline,
            ...(inputs.s3
              ? { readObject: (await import('../lib/store/open.js')).s3ObjectReader(inputs.s3) }
              : {}),
          });
    const manifest = await emitManifest({
      bundle,
      distDir: resolve(ctx.cwd, inputs.distDir),
      slice: inputs.slice,
      baseline,
      hasBaseline: inputs.mergeFrom !== undefined,
      arches: inputs.arches,
      now: inputs.now ?? new Date(),
    });
    const text = serializeManifest(manifest);
    const out = resolve(ctx.cwd, inputs.out);
    await writeFileAtomic(out, text);
    ctx.log.info(
      `wrote ${out} (${Object.keys(manifest.agents).length} agents, slice ${formatSlice(inputs.slice)})`,
    );
    const sliceNames = new Set(
      inputs.slice.kind === 'full' ? Object.keys(manifest.agents) : [inputs.slice.name],
    );
    return {
      outputs: {
        manifest: out,
        sha256: sha256Hex(text),
        agents: JSON.stringify(Object.keys(manifest.agents).sort()),
      },
      summary: {
        heading: `Manifest slice ${formatSlice(inputs.slice)}`,
        table: {
          header: ['Agent', 'Version', 'Arch', 'Key', 'Size (bytes)', 'sha256'],
          rows: listTarballs(manifest)
            .filter((t) => sliceNames.has(t.agent))
            .map((t) => [
              t.agent,
              manifest.agents[t.agent]?.version ?? '',
              t.arch,
              t.key,
              String(t.sizeBytes),
              t.sha256,
            ]),
        },
      },
    };
  },
});
