import { resolve } from 'node:path';
import { LEFTOVERS_STATE, parseLeftovers, removeLeftovers } from '../lib/cleanup.js';
import { boolean, list, optional, required } from '../lib/command/inputs.js';
import { defineCommand } from '../lib/command/types.js';
import { readBundle } from '../lib/manifest/bundle.js';
import { MANIFEST_KEY } from '../lib/manifest/keys.js';
import { formatSlice } from '../lib/manifest/slice.js';
import { publishSlice } from '../lib/publish/publish.js';
import { storeLeftoverRemovers } from '../lib/store/leftovers.js';
import { openStore } from '../lib/store/open.js';
import { parseArches, SLICE_SOURCE_INPUTS, sliceInput } from './shared/slice-inputs.js';
import { keyInput, parseStoreConfig, parseTimeoutMs, STORE_INPUTS } from './shared/store-inputs.js';

export default defineCommand({
  name: 'publish',
  description:
    "Uploads a slice's tarballs (verified), then merges the slice into the store's manifest with compare-and-swap, retrying while other publishers win.",
  inputs: {
    ...SLICE_SOURCE_INPUTS,
    slice: {
      description: 'full (every agent; may create the manifest) or agents:<name> (one agent).',
      required: true,
    },
    'manifest-key': { description: 'Key of the manifest in the store.', default: MANIFEST_KEY },
    'allow-empty-baseline': {
      description: 'Let an agents:<name> slice create the manifest when there is none yet.',
      boolean: true,
      default: 'false',
    },
    'require-conditional-writes': {
      description:
        'Fail when the store ignores If-Match / If-None-Match (false: warn and rely on the concurrency group).',
      boolean: true,
      default: 'true',
    },
    overwrite: {
      description: 'Replace different content under an already released key.',
      boolean: true,
      default: 'false',
    },
    'sidecar-sha': {
      description: 'Also write <key>.sha256 beside each tarball.',
      boolean: true,
      default: 'true',
    },
    ...STORE_INPUTS,
  },
  outputs: {
    'manifest-etag':
      'ETag of the manifest this publish wrote (or found already holding the slice).',
    attempts: 'Manifest compare-and-swap attempts.',
    uploaded: 'JSON list of {key, sha256, sizeBytes, skipped}.',
  },
  parse(read) {
    return {
      bundle: optional(read, 'bundle') ?? 'bundle.json',
      distDir: optional(read, 'dist-dir') ?? 'dist',
      slice: sliceInput(required(read, 'slice', 'full or agents:<name>')),
      arches: parseArches(list(read, 'arches')),
      manifestKey: keyInput(read, 'manifest-key', MANIFEST_KEY),
      allowEmptyBaseline: boolean(read, 'allow-empty-baseline'),
      requireConditionalWrites: boolean(read, 'require-conditional-writes', true),
      overwrite: boolean(read, 'overwrite'),
      sidecar: boolean(read, 'sidecar-sha', true),
      store: parseStoreConfig(read),
      timeoutMs: parseTimeoutMs(read),
    };
  },
  async run(inputs, ctx) {
    const { bundle, warnings } = await readBundle(resolve(ctx.cwd, inputs.bundle));
    for (const warning of warnings) ctx.log.warning(warning);
    const store = await openStore(inputs.store);
    const result = await publishSlice({
      store,
      bundle,
      distDir: resolve(ctx.cwd, inputs.distDir),
      slice: inputs.slice,
      arches: inputs.arches,
      manifestKey: inputs.manifestKey,
      allowEmptyBaseline: inputs.allowEmptyBaseline,
      requireConditionalWrites: inputs.requireConditionalWrites,
      overwrite: inputs.overwrite,
      sidecar: inputs.sidecar,
      deadlineMs: inputs.timeoutMs,
      log: (m) => ctx.log.info(m),
      warn: (m) => ctx.log.warning(m),
    });
    const rows = Object.entries(result.entries).flatMap(([name, entry]) =>
      Object.entries(entry.tarballs).map(([arch, t]) => {
        const up = result.uploaded.find((u) => u.key === t.key);
        return [
          name,
          entry.version,
          arch,
          t.key,
          String(t.sizeBytes),
          t.sha256,
          up?.skipped ? 'already there' : 'uploaded',
        ];
      }),
    );
    return {
      outputs: {
        'manifest-etag': result.manifestEtag,
        attempts: String(result.attempts),
        uploaded: JSON.stringify(result.uploaded),
      },
      summary: {
        heading: `Published slice ${formatSlice(inputs.slice)} to ${store.description}`,
        lines: [
          `${inputs.manifestKey} ${result.outcome} after ${result.attempts} attempt${result.attempts === 1 ? '' : 's'} (ETag ${result.manifestEtag}).`,
        ],
        table: {
          header: ['Agent', 'Version', 'Arch', 'Key', 'Size (bytes)', 'sha256', 'Upload'],
          rows,
        },
      },
    };
  },
  async post(ctx, inputs) {
    // A killed upload's temp file (file://) or unfinished multipart upload (s3://).
    const leftovers = parseLeftovers(ctx.getState(LEFTOVERS_STATE));
    if (!leftovers.length) return;
    await removeLeftovers(leftovers, storeLeftoverRemovers(inputs?.store), (m) => ctx.log.info(m));
  },
});
