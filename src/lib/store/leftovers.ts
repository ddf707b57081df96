import { type LeftoverRemovers, removeLeftoverFile } from '../cleanup.js';
import type { StoreConfig } from './config.js';

/**
 * How a `post` step removes what a killed upload left: temp files of a file://
 * store, and multipart uploads of an s3:// one (through the same endpoint and
 * credentials as main; the AWS SDK loads only when there is one to abort).
 */
export function storeLeftoverRemovers(config: StoreConfig | undefined): LeftoverRemovers {
  return {
    file: removeLeftoverFile,
    multipart: async (leftover) => {
      // Killed while CreateMultipartUpload was in flight: no id, nothing we can name.
      if (!leftover.uploadId) return false;
      if (config?.kind !== 's3') throw new Error('the step has no s3:// store inputs any more');
      const [{ S3Store }, { abortMultipartUpload }] = await Promise.all([
        import('./s3.js'),
        import('./multipart-guard.js'),
      ]);
      const store = new S3Store({ ...config, maxAttempts: 3 });
      return abortMultipartUpload(store.client, { ...leftover, uploadId: leftover.uploadId });
    },
  };
}
