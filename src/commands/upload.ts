import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LEFTOVERS_STATE, parseLeftovers, removeLeftovers } from '../lib/cleanup.js';
import { InputError } from '../lib/command/errors.js';
import { boolean, optional, required } from '../lib/command/inputs.js';
import { defineCommand } from '../lib/command/types.js';
import { sha256File } from '../lib/fs/hash.js';
import { storeLeftoverRemovers } from '../lib/store/leftovers.js';
import { openStore } from '../lib/store/open.js';
import { uploadArtifact, verifyUploaded } from '../lib/store/transfer.js';
import { keyInput, parseStoreConfig, parseTimeoutMs, STORE_INPUTS } from './shared/store-inputs.js';

/** Fails with "file not found: <path>" before any request is made. */
async function assertFile(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new InputError(`file not found: ${path}`);
}

export default defineCommand({
  name: 'upload',
  description:
    'Uploads one file to the object store with its sha256 as metadata (multipart when large); skips it when the key already holds the same content.',
  inputs: {
    file: { description: 'The file to upload.', required: true },
    key: {
      description: 'The object key, e.g. vm/images/<name>-<version>-<arch>.tar.gz.',
      required: true,
    },
    'content-type': { description: 'Content-Type (default: from the key extension).' },
    'sidecar-sha': {
      description: 'Also write <key>.sha256 holding "<sha256>  <basename>".',
      boolean: true,
      default: 'false',
    },
    overwrite: {
      description: 'Replace different content already under the key (released keys are immutable).',
      boolean: true,
      default: 'false',
    },
    ...STORE_INPUTS,
  },
  outputs: {
    key: 'The object key.',
    sha256: 'sha256 of the uploaded file.',
    'size-bytes': 'Size of the uploaded file.',
    skipped: 'true when the key already held this content.',
  },
  parse(read) {
    return {
      file: required(read, 'file', 'the path of the file to upload'),
      key: keyInput(read, 'key'),
      contentType: optional(read, 'content-type'),
      sidecar: boolean(read, 'sidecar-sha'),
      overwrite: boolean(read, 'overwrite'),
      store: parseStoreConfig(read),
      timeoutMs: parseTimeoutMs(read),
    };
  },
  async run(inputs, ctx) {
    const file = resolve(ctx.cwd, inputs.file);
    await assertFile(file);
    const digest = await sha256File(file);
    const store = await openStore(inputs.store);
    const policy = { deadlineMs: inputs.timeoutMs, log: (m: string) => ctx.log.info(m) };
    const result = await uploadArtifact(store, {
      file,
      key: inputs.key,
      digest,
      ...(inputs.contentType ? { contentType: inputs.contentType } : {}),
      sidecar: inputs.sidecar,
      overwrite: inputs.overwrite,
      retry: policy,
      log: (m) => ctx.log.info(m),
    });
    await verifyUploaded(store, result, policy);
    return {
      outputs: {
        key: result.key,
        sha256: result.sha256,
        'size-bytes': String(result.sizeBytes),
        skipped: String(result.skipped),
      },
      summary: {
        heading: `Upload to ${store.description}`,
        table: {
          header: ['Key', 'Size (bytes)', 'sha256', 'Skipped'],
          rows: [[result.key, String(result.sizeBytes), result.sha256, String(result.skipped)]],
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
