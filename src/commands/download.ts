import { resolve } from 'node:path';
import { required } from '../lib/command/inputs.js';
import { defineCommand } from '../lib/command/types.js';
import { openStore } from '../lib/store/open.js';
import { downloadObject } from '../lib/store/transfer.js';
import {
  keyInput,
  parseStoreConfig,
  parseTimeoutMs,
  STORE_INPUTS,
  sha256Input,
} from './shared/store-inputs.js';

export default defineCommand({
  name: 'download',
  description:
    'Downloads one object, streaming to <out>.partial and renaming it into place only when its size and sha256 match.',
  inputs: {
    key: { description: 'The object key.', required: true },
    out: { description: 'Where to write the file.', required: true },
    sha256: {
      description: "Expected sha256 (default: the object's sha256 metadata, when it has one).",
    },
    ...STORE_INPUTS,
  },
  outputs: {
    path: 'Path of the written file.',
    sha256: 'sha256 of the downloaded bytes.',
    'size-bytes': 'Size of the downloaded file.',
    etag: 'The object ETag as the store reports it after the download.',
  },
  parse(read) {
    return {
      key: keyInput(read, 'key'),
      out: required(read, 'out', 'the path to write the object to'),
      sha256: sha256Input(read, 'sha256'),
      store: parseStoreConfig(read),
      timeoutMs: parseTimeoutMs(read),
    };
  },
  async run(inputs, ctx) {
    const out = resolve(ctx.cwd, inputs.out);
    const store = await openStore(inputs.store);
    const digest = await downloadObject(store, {
      key: inputs.key,
      out,
      ...(inputs.sha256 ? { sha256: inputs.sha256 } : {}),
      retry: { deadlineMs: inputs.timeoutMs, log: (m) => ctx.log.info(m) },
    });
    ctx.log.info(
      `downloaded ${inputs.key} to ${out} (${digest.sizeBytes} bytes, sha256 ${digest.sha256})`,
    );
    // What a release report names as "the manifest now" (read once every publisher is done).
    const head = await store.head(inputs.key);
    return {
      outputs: {
        path: out,
        sha256: digest.sha256,
        'size-bytes': String(digest.sizeBytes),
        etag: head?.etag ?? '',
      },
    };
  },
});
