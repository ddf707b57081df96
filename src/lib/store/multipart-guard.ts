import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  type CreateMultipartUploadCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Upload } from '@aws-sdk/lib-storage';
import { type CleanupRegistry, processCleanups } from '../cleanup.js';

/** How long a cancel waits for an in-flight CreateMultipartUpload to answer with its id. */
const CREATE_SETTLE_MS = 5_000;

/**
 * Aborts a multipart upload; true when there was one to abort. RGW and S3 answer
 * NoSuchUpload (404) for an id already aborted or completed.
 */
export async function abortMultipartUpload(
  client: S3Client,
  target: { bucket: string; key: string; uploadId: string },
): Promise<boolean> {
  try {
    await client.send(
      new AbortMultipartUploadCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: target.uploadId,
      }),
    );
    return true;
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchUpload' || e.$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

/**
 * Keeps a cancelled `Upload` from leaving parts behind. lib-storage aborts the
 * multipart upload itself on an error, but only after its in-flight parts
 * settle, and `upload.abort()` only flips a signal: a process that exits on
 * SIGINT right after never sends the AbortMultipartUpload. So the upload id is
 * caught as CreateMultipartUpload answers (a middleware on the client: lib-storage
 * has no event for it), saved at once for the `post` step, and on a cancel
 * aborted here directly. Returns the function that ends the guard.
 */
export function guardMultipartUpload(
  client: S3Client,
  upload: Upload,
  target: { bucket: string; key: string },
  cleanups: CleanupRegistry = processCleanups,
): () => void {
  let uploadId: string | undefined;
  let creating: Promise<unknown> | undefined;
  const tracked = cleanups.track({ kind: 'multipart', ...target }, async () => {
    await upload.abort();
    if (!uploadId && creating) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        creating.catch(() => {}),
        new Promise((resolve) => {
          timer = setTimeout(resolve, CREATE_SETTLE_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    if (uploadId) await abortMultipartUpload(client, { ...target, uploadId });
  });
  const name = `vm-tools-multipart-guard-${randomBytes(6).toString('hex')}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Bucket?: string; Key?: string };
      if (
        context.commandName !== 'CreateMultipartUploadCommand' ||
        input.Bucket !== target.bucket ||
        input.Key !== target.key ||
        creating
      ) {
        return next(args);
      }
      const created = next(args);
      creating = created;
      const result = await created;
      uploadId = (result.output as CreateMultipartUploadCommandOutput).UploadId;
      if (uploadId) tracked.update({ kind: 'multipart', ...target, uploadId });
      return result;
    },
    { step: 'initialize', name },
  );
  return () => {
    client.middlewareStack.remove(name);
    tracked.release();
  };
}
